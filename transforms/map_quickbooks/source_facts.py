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
    from collections.abc import Mapping, Sequence

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


# Balance transactions that move order money: charges in; refunds and chargebacks out. Every
# other type (adjustments, reserves, dispute reversals, payout failures) is an adjustment.
_CHARGE_TYPES = frozenset({"charge"})
_REFUND_TYPES = frozenset({"refund", "chargeback"})


@dataclass(frozen=True, slots=True)
class PayoutFacts:
    """The processor's figures of one canonical payout (the source of a Deposit).

    The target reconciles them three ways (docs/payouts.md): `net` is what the bank received,
    the Deposit's TotalAmt in QuickBooks must equal it, and so must
    `charges + refunds + adjustments - fees` (refunds negative).
    """

    canonical_id: str
    payout_source_id: str
    platform: str
    store: str
    gateway: str
    basis: str
    status: str
    timestamp: str
    store_timezone: str | None
    local_date: str
    currency: str
    gross: Decimal
    charges: Decimal
    refunds: Decimal
    adjustments: Decimal
    fees: Decimal
    net: Decimal

    def to_record(self) -> dict[str, Any]:
        """The `source` object of a deposit (amounts as decimal strings)."""
        amounts = {
            name: money_text(getattr(self, name), self.currency)
            for name in ("gross", "charges", "refunds", "adjustments", "fees", "net")
        }
        return {
            "kind": "payout",
            "canonical_id": self.canonical_id,
            "payout_source_id": self.payout_source_id,
            "platform": self.platform,
            "store": self.store,
            "gateway": self.gateway,
            "basis": self.basis,
            "status": self.status,
            "timestamp": self.timestamp,
            "store_timezone": self.store_timezone,
            "local_date": self.local_date,
            "currency": self.currency,
        } | amounts


def _amount_of(value: Mapping[str, Any]) -> Decimal:
    return Decimal(str(value["amount"]))


def _sum_of(transactions: Sequence[Mapping[str, Any]], types: frozenset[str] | None) -> Decimal:
    """Σ amount of the transactions of `types` (None: every type not a charge or refund)."""
    moving = _CHARGE_TYPES | _REFUND_TYPES
    return sum(
        (
            _amount_of(t["amount"])
            for t in transactions
            if (t["type"] in types if types is not None else t["type"] not in moving)
        ),
        Decimal(0),
    )


def payout_facts(record: Mapping[str, Any]) -> PayoutFacts:
    """A payout's figures; `record` is the validated canonical payout record."""
    transactions = record["transactions"]
    return PayoutFacts(
        canonical_id=str(record["id"]),
        payout_source_id=str(record["source_id"]),
        platform=str(record["platform"]),
        store=str(record["store"]),
        gateway=str(record["gateway"]),
        basis=str(record["basis"]),
        status=str(record["status"]),
        timestamp=str(record["issued_at"]),
        store_timezone=record.get("store_timezone"),
        local_date=store_local_date(str(record["issued_at"]), record.get("store_timezone")),
        currency=str(record["currency"]),
        gross=_amount_of(record["totals"]["gross"]),
        charges=_sum_of(transactions, _CHARGE_TYPES),
        refunds=_sum_of(transactions, _REFUND_TYPES),
        adjustments=_sum_of(transactions, None),
        fees=_amount_of(record["totals"]["fees"]),
        net=_amount_of(record["net"]),
    )
