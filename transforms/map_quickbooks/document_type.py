"""Which QuickBooks document an order becomes, decided from the order record alone.

- Paid at checkout by exactly one payment (a successful sale/capture processed within
  `paid_at_checkout_window_minutes` of `created_at` covers the order total), or a zero total
  -> SalesReceipt.
- Paid at checkout by two or more payments (split tender: a gift card and a card; several
  captures) -> Invoice, plus one Payment per transaction: a SalesReceipt holds the whole total
  in one deposit account, so a payout that settles one tender could never clear it (QuickBooks
  deposits a SalesReceipt whole; docs/payouts.md).
- Otherwise -> Invoice, plus one Payment per successful sale/capture (order_documents.py).
- A `document_type_rules` rule (first match) overrides either.
- Cancelled or deleted with nothing paid -> the document is voided.

Transactions are only ever added to an order, and those inside the window never change later, so
the decision of a given order does not flip across updates without any state. (The one case that
can flip is an order read while still unpaid inside its window and paid later inside it; the
target keeps the type its ledger recorded first, see docs/mapping.md.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kconnector_canonical.model import Order, Transaction
    from map_quickbooks.rules import DocumentKind, Settings

_PAYMENT_KINDS = frozenset({"sale", "capture"})


def payments(order: Order) -> list[Transaction]:
    """Successful sale and capture transactions: money the customer paid."""
    return [t for t in order.transactions if t.kind in _PAYMENT_KINDS and t.status == "success"]


def change_given(order: Order, transaction_id: str | None = None) -> Decimal:
    """Cash change handed back (successful `change` transactions), for one payment or all."""
    return sum(
        (
            t.amount.amount
            for t in order.transactions
            if t.kind == "change"
            and t.status == "success"
            and (transaction_id is None or t.parent_id == transaction_id)
        ),
        Decimal(0),
    )


def paid_amount(order: Order) -> Decimal:
    """What the customer paid in total (payments less change)."""
    return sum((t.amount.amount for t in payments(order)), Decimal(0)) - change_given(order)


def refunded_amount(order: Order, exclude: frozenset[str] = frozenset()) -> Decimal:
    """Money returned by successful refund transactions, except those in `exclude`."""
    return sum(
        (
            t.amount.amount
            for t in order.transactions
            if t.kind == "refund" and t.status == "success" and t.transaction_id not in exclude
        ),
        Decimal(0),
    )


def checkout_payments(order: Order, window_minutes: int) -> list[Transaction]:
    """The payments processed within the window after `created_at` that kept money.

    A payment whose change handed back equals its amount kept nothing and does not count.
    """
    deadline = order.created_at + timedelta(minutes=window_minutes)
    return [
        t
        for t in payments(order)
        if (t.processed_at or order.processed_at or order.created_at) <= deadline
        and t.amount.amount - change_given(order, t.transaction_id) > 0
    ]


def paid_at_checkout(order: Order, window_minutes: int) -> bool:
    """True when payments inside the window cover the order total (or it is zero)."""
    total = order.totals.total.amount
    if total <= 0:
        return True
    inside = checkout_payments(order, window_minutes)
    paid = sum((t.amount.amount for t in inside), Decimal(0))
    paid -= sum((change_given(order, t.transaction_id) for t in inside), Decimal(0))
    return paid >= total


def primary_gateway(order: Order) -> str:
    """The gateway that took the most money (first on ties), else the first transaction's."""
    best: Transaction | None = None
    for transaction in payments(order):
        if best is None or transaction.amount.amount > best.amount.amount:
            best = transaction
    if best is not None:
        return best.gateway
    return order.transactions[0].gateway if order.transactions else ""


def rule_facts(order: Order, *, at_checkout: bool, checkout_count: int) -> dict[str, Any]:
    """The names a `document_type_rules` condition can use (see rules.CONDITION_SAMPLE)."""
    return {
        "platform": order.platform,
        "store": order.store,
        "channel": order.source_name or "",
        "tags": list(order.tags),
        "gateway": primary_gateway(order),
        "gateways": sorted({t.gateway for t in order.transactions}),
        "currency": order.currency,
        "total": order.totals.total.amount,
        "financial_status": order.financial_status,
        "status": order.status,
        "paid_at_checkout": at_checkout,
        "checkout_payments": checkout_count,
        "customer_is_guest": order.customer.is_guest,
    }


@dataclass(frozen=True, slots=True)
class DocumentDecision:
    """The order's document type, whether it is voided, and why (for logs and docs)."""

    kind: DocumentKind
    void: bool
    reason: str


def decide(order: Order, settings: Settings) -> DocumentDecision:
    """The document type of an order (pure: the order record and the rules only)."""
    window = settings.paid_at_checkout_window_minutes
    at_checkout = paid_at_checkout(order, window)
    count = len(checkout_payments(order, window))
    kind: DocumentKind
    if not at_checkout:
        kind, reason = "invoice", "not paid at checkout"
    elif order.totals.total.amount <= 0 or count <= 1:
        kind, reason = "sales_receipt", "paid at checkout"
    else:
        # One SalesReceipt would hold every tender in one deposit account; a payout settling
        # one of them could not clear it (a linked deposit line takes a document whole).
        kind, reason = "invoice", f"paid at checkout by {count} payments"
    if settings.document_type_rules:
        facts = rule_facts(order, at_checkout=at_checkout, checkout_count=count)
        for rule in settings.document_type_rules:
            if rule.when.matches(facts):
                kind, reason = rule.kind, f"rule {rule.when.setting}"
                break
    nothing_paid = paid_amount(order) <= 0
    void = order.status in {"cancelled", "deleted"} and nothing_paid
    return DocumentDecision(kind, void, reason)
