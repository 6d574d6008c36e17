"""The `source` block: the store's own figures of an order or refund, as read (pure).

Every document of an order or refund carries them verbatim, so the target can reconcile the
store against QuickBooks per store-local day and check refunds against payments without trusting
the mapping it is checking (docs/mapping.md, "Output contract"). The store-local date comes from
the record's own time zone (`store_timezone`, else the offset the timestamp was written with),
never from the mapping settings: a wrong setting must show up, not cancel itself out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from map_quickbooks.amounts import money_text
from map_quickbooks.document_type import paid_amount, refunded_amount

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kconnector_canonical.model import Order, Refund

SourceKind = Literal["order", "refund"]


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """The store's figures of one canonical order or refund."""

    kind: SourceKind
    canonical_id: str
    order_id: str
    timestamp: str
    store_timezone: str | None
    local_date: str
    currency: str
    total: Decimal
    tax: Decimal
    amount_paid: Decimal | None
    amount_refunded: Decimal

    def to_record(self) -> dict[str, Any]:
        """The `source` object (amounts as decimal strings at the currency's precision)."""
        return {
            "kind": self.kind,
            "canonical_id": self.canonical_id,
            "order_id": self.order_id,
            "timestamp": self.timestamp,
            "store_timezone": self.store_timezone,
            "local_date": self.local_date,
            "currency": self.currency,
            "total": money_text(self.total, self.currency),
            "tax": money_text(self.tax, self.currency),
            "amount_paid": (
                None if self.amount_paid is None else money_text(self.amount_paid, self.currency)
            ),
            "amount_refunded": money_text(self.amount_refunded, self.currency),
        }


def store_local_date(timestamp: str, zone: str | None) -> str:
    """`YYYY-MM-DD` of a canonical timestamp in the record's own zone (else its own offset)."""
    instant = datetime.fromisoformat(timestamp)
    if zone:
        try:
            return instant.astimezone(ZoneInfo(zone)).date().isoformat()
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown zone name: the offset the store wrote is the next best witness
    return instant.date().isoformat()


def order_facts(order: Order, record: Mapping[str, Any]) -> SourceFacts:
    """An order's figures; `record` is the validated canonical record (verbatim timestamp)."""
    timestamp = str(record["created_at"])
    return SourceFacts(
        kind="order",
        canonical_id=order.id,
        order_id=order.id,
        timestamp=timestamp,
        store_timezone=order.store_timezone,
        local_date=store_local_date(timestamp, order.store_timezone),
        currency=order.currency,
        total=order.totals.total.amount,
        tax=order.totals.tax.amount,
        amount_paid=paid_amount(order),
        amount_refunded=refunded_amount(order),
    )


def refund_facts(refund: Refund, record: Mapping[str, Any]) -> SourceFacts:
    """A refund's figures (what its order was paid is the order's own block)."""
    timestamp = str(record.get("processed_at") or record["created_at"])
    returned = sum(
        (
            t.amount.amount
            for t in refund.transactions
            if t.kind == "refund" and t.status == "success"
        ),
        Decimal(0),
    )
    return SourceFacts(
        kind="refund",
        canonical_id=refund.id,
        order_id=refund.order_id,
        timestamp=timestamp,
        store_timezone=refund.store_timezone,
        local_date=store_local_date(timestamp, refund.store_timezone),
        currency=refund.currency,
        total=refund.totals.total.amount,
        tax=refund.totals.tax.amount,
        amount_paid=None,
        amount_refunded=returned,
    )
