"""Typed, read-only view of a canonical payout (schema_version 2), like `model` for orders.

`Payout.from_record(record)` expects a record that passed `validate(record, "payouts")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self

from kconnector_canonical.model import Platform, parse_timestamp
from kconnector_canonical.money import Money

if TYPE_CHECKING:
    from datetime import datetime

PayoutBasis = Literal["processor", "estimate"]
PayoutStatus = Literal["scheduled", "in_transit", "paid", "failed", "canceled"]
BalanceTransactionType = Literal[
    "charge",
    "refund",
    "adjustment",
    "reserve",
    "chargeback",
    "dispute_reversal",
    "payout_failure",
    "payout_cancellation",
    "other",
]
# Shopify deprecates IN_TRANSIT and treats it as paid: both mean the money left for the bank.
SETTLED_STATUSES: frozenset[PayoutStatus] = frozenset({"paid", "in_transit"})


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    """One movement of the processor balance that a payout settles."""

    transaction_id: str
    type: BalanceTransactionType
    amount: Money
    fee: Money
    net: Money
    order_id: str | None
    order_source_id: str | None
    order_transaction_id: str | None
    refund_id: str | None
    processed_at: datetime
    description: str | None

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical payout transaction."""
        return cls(
            transaction_id=value["transaction_id"],
            type=value["type"],
            amount=Money.from_record(value["amount"]),
            fee=Money.from_record(value["fee"]),
            net=Money.from_record(value["net"]),
            order_id=value.get("order_id"),
            order_source_id=value.get("order_source_id"),
            order_transaction_id=value.get("order_transaction_id"),
            refund_id=value.get("refund_id"),
            processed_at=parse_timestamp(value["processed_at"]),
            description=value.get("description"),
        )


@dataclass(frozen=True, slots=True)
class PayoutTotals:
    """gross (sum of amounts) - fees (sum of fees) = net."""

    gross: Money
    fees: Money
    net: Money

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From canonical payout totals."""
        return cls(*(Money.from_record(value[k]) for k in ("gross", "fees", "net")))


@dataclass(frozen=True, slots=True)
class Payout:
    """A canonical payout: a processor balance transfer to the bank (or its estimate)."""

    id: str
    platform: Platform
    store: str
    source_id: str
    basis: PayoutBasis
    gateway: str
    status: PayoutStatus
    issued_at: datetime
    updated_at: datetime
    store_timezone: str | None
    currency: str
    net: Money
    totals: PayoutTotals
    transactions: tuple[BalanceTransaction, ...]

    @property
    def settled(self) -> bool:
        """The money left for the bank (paid, or Shopify's deprecated in_transit)."""
        return self.status in SETTLED_STATUSES

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        """From a validated canonical payout record."""
        return cls(
            id=record["id"],
            platform=record["platform"],
            store=record["store"],
            source_id=record["source_id"],
            basis=record["basis"],
            gateway=record["gateway"],
            status=record["status"],
            issued_at=parse_timestamp(record["issued_at"]),
            updated_at=parse_timestamp(record["updated_at"]),
            store_timezone=record.get("store_timezone"),
            currency=record["currency"],
            net=Money.from_record(record["net"]),
            totals=PayoutTotals.from_record(record["totals"]),
            transactions=tuple(BalanceTransaction.from_record(v) for v in record["transactions"]),
        )
