"""WooCommerce order statuses onto the canonical status, financial and fulfillment vocabulary.

WooCommerce has one status per order (https://woocommerce.com/document/managing-orders/order-statuses/,
REST enum https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties); K-Connector
splits it into three canonical fields. The table is data (README "Status mapping"); the few
rules that need more than the status are in `map_status`:

- refunds turn a paid order's financial status into `partially_refunded` or `refunded`;
- an order that was ever completed (`date_completed_gmt` set) counts as fulfilled, since
  WooCommerce core does not track shipments;
- `trash` keeps the money facts of the order (paid or not) and is emitted as `deleted`;
- `checkout-draft` (the block checkout's cart before an order is placed) is not an order yet:
  it is skipped;
- a status added by a plugin (e.g. "shipped") is read as open, paid when `date_paid_gmt` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from decimal import Decimal

CanonicalStatus = Literal["open", "closed", "cancelled", "deleted"]
FinancialStatus = Literal[
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
    "failed",
    "expired",
]
FulfillmentStatus = Literal["unfulfilled", "partial", "fulfilled", "restocked"]

SKIPPED_STATUSES: dict[str, str] = {
    "checkout-draft": "a block-checkout draft is not an order until the customer places it",
}


@dataclass(frozen=True)
class StatusRow:
    """One WooCommerce status and its canonical reading."""

    status: CanonicalStatus
    financial_status: FinancialStatus
    fulfillment_status: FulfillmentStatus
    meaning: str


# WooCommerce status -> canonical reading (before the refund and completion rules).
STATUS_TABLE: dict[str, StatusRow] = {
    "pending": StatusRow("open", "pending", "unfulfilled", "order received, awaiting payment"),
    "processing": StatusRow("open", "paid", "unfulfilled", "payment received, not yet shipped"),
    "on-hold": StatusRow("open", "pending", "unfulfilled", "awaiting payment confirmation"),
    "completed": StatusRow("closed", "paid", "fulfilled", "fulfilled and complete"),
    "cancelled": StatusRow("cancelled", "voided", "unfulfilled", "cancelled, nothing taken"),
    "refunded": StatusRow("closed", "refunded", "unfulfilled", "fully refunded"),
    "failed": StatusRow("open", "failed", "unfulfilled", "payment failed or was declined"),
    "trash": StatusRow("deleted", "pending", "unfulfilled", "moved to the trash"),
}
_CUSTOM_STATUS = StatusRow("open", "pending", "unfulfilled", "a status added by a plugin")


@dataclass(frozen=True)
class OrderFacts:
    """What the status rules read besides the status itself."""

    status: str
    paid: bool
    ever_completed: bool
    total: Decimal
    refunded: Decimal


@dataclass(frozen=True)
class CanonicalStatuses:
    """The three canonical status fields of an order."""

    status: CanonicalStatus
    financial_status: FinancialStatus
    fulfillment_status: FulfillmentStatus


def is_known_status(status: str) -> bool:
    """Whether the status is one of WooCommerce core's (or a skipped one)."""
    return status in STATUS_TABLE or status in SKIPPED_STATUSES


def map_status(facts: OrderFacts) -> CanonicalStatuses:
    """The canonical statuses of an order (call only for statuses not in `SKIPPED_STATUSES`)."""
    row = STATUS_TABLE.get(facts.status, _CUSTOM_STATUS)
    financial: FinancialStatus = row.financial_status
    # Trashed, cancelled and plugin statuses keep what the payment date says.
    keeps_payment = facts.status in {"trash", "cancelled"} or facts.status not in STATUS_TABLE
    if keeps_payment and facts.paid:
        financial = "paid"
    if financial == "paid" and facts.refunded > 0:
        financial = "refunded" if facts.refunded >= facts.total else "partially_refunded"
    fulfillment: FulfillmentStatus = "fulfilled" if facts.ever_completed else row.fulfillment_status
    return CanonicalStatuses(row.status, financial, fulfillment)


def status_table_markdown() -> str:
    """The table above as the README shows it (a test keeps the README in step)."""
    rows = [
        "| WooCommerce status | status | financial_status | fulfillment_status | Meaning |",
        "|:--|:--|:--|:--|:--|",
    ]
    rows.extend(
        f"| `{name}` | `{row.status}` | `{row.financial_status}` | `{row.fulfillment_status}` "
        f"| {row.meaning} |"
        for name, row in STATUS_TABLE.items()
    )
    rows.extend(f"| `{name}` | skipped | | | {why} |" for name, why in SKIPPED_STATUSES.items())
    return "\n".join(rows)
