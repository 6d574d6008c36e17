"""Compare QuickBooks' totals with the totals the mapper expects (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from target_quickbooks.contract import Expected

UNTOTALLED_ENTITIES = frozenset({"Customer"})
ZERO = Decimal(0)


@dataclass(frozen=True)
class Reconciliation:
    """Expected and actual TotalAmt and TxnTaxDetail.TotalTax of one document."""

    expected_total: Decimal
    actual_total: Decimal | None
    expected_tax: Decimal
    actual_tax: Decimal | None

    @property
    def matches(self) -> bool:
        """True when both figures agree to the cent."""
        return self.actual_total == self.expected_total and self.actual_tax == self.expected_tax

    def describe(self) -> str:
        """Both figures, for an audit row or a dead letter."""
        return (
            f"TotalAmt expected {self.expected_total} got {self.actual_total}; "
            f"TotalTax expected {self.expected_tax} got {self.actual_tax}"
        )


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def reconcile(
    entity: str, expected: Expected, document: Mapping[str, Any]
) -> Reconciliation | None:
    """The comparison for a written document, or None for entities without totals."""
    if entity in UNTOTALLED_ENTITIES:
        return None
    detail = document.get("TxnTaxDetail")
    tax_value = detail.get("TotalTax") if isinstance(detail, dict) else None
    actual_tax = _decimal(tax_value)
    if actual_tax is None and (entity == "Payment" or not isinstance(detail, dict)):
        actual_tax = ZERO  # no tax detail means no tax (payments never carry tax)
    return Reconciliation(
        expected_total=expected.total,
        actual_total=_decimal(document.get("TotalAmt")),
        expected_tax=expected.tax,
        actual_tax=actual_tax,
    )
