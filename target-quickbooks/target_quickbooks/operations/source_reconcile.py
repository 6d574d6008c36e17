"""The source-side reconciliation: the store's own figures against QuickBooks (pure).

`reconcile`'s per-document check compares QuickBooks with what the mapper expected, so a wrong
mapping (a TxnDate a day off, a refund larger than the payments) agrees with itself. This check
starts from the store instead: each document's ledger row keeps the `source` block of the
canonical order or refund it came from (store-local day from the record's own time zone, total,
paid, refunded; docs/mapping.md, "Output contract"), and

* per store-local day, document kind and currency, the store's order (refund) totals are set
  against the ``TotalAmt`` of the SalesReceipts and Invoices (RefundReceipts and CreditMemos) as
  QuickBooks holds them now, grouped by their ``TxnDate`` as QuickBooks holds it: a document
  dated on the wrong day shows as two days off by the same amount;
* per order, the money refunded is set against the money paid, in the store's figures and in
  QuickBooks' documents (RefundReceipts against the SalesReceipt and Payments): refunded > paid
  is flagged with the order and both amounts.

A summary document (map-quickbooks `posting_mode` payout_summary / daily_summary; source block
kind ``summary``) stands for the orders (refunds) it covers: its store total (the mapper's sum of
their store figures) is set against its ``TotalAmt`` on its own day, and an order it covers is left
out of the QuickBooks-side refund check (its sale is a share of the summary, not a document of its
own; the store-side check still holds it).

Only active documents count (a voided or deleted one is in neither column). Rows written before
the ledger kept the figures (schema 0004) or by an older mapper are left out of both columns and
counted in `without_store_figures`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from target_quickbooks.store.ledger import LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_quickbooks.store.ledger import LedgerEntry

ZERO = Decimal(0)
UNKNOWN_DAY = "unknown"
Kind = Literal["sales", "refunds"]
# The documents whose TotalAmt is the order's (the refund's) value in QuickBooks.
KIND_OF_ENTITY: dict[str, Kind] = {
    "SalesReceipt": "sales",
    "Invoice": "sales",
    "RefundReceipt": "refunds",
    "CreditMemo": "refunds",
}
KIND_OF_RECORD: dict[str, Kind] = {"order": "sales", "refund": "refunds"}
# Money in: what the customer paid, as QuickBooks holds it. Money out: what was given back.
_PAID_ENTITIES = frozenset({"SalesReceipt", "Payment"})
_REFUNDED_ENTITIES = frozenset({"RefundReceipt"})


@dataclass(frozen=True)
class StoreFigures:
    """One canonical record's `source` block, typed."""

    kind: str
    canonical_id: str
    order_id: str
    local_date: str
    currency: str
    total: Decimal
    amount_paid: Decimal | None
    amount_refunded: Decimal


@dataclass(frozen=True)
class SourceDay:
    """One store-local day, kind (sales or refunds) and currency: store against QuickBooks."""

    day: str
    kind: Kind
    currency: str
    records: int
    store_total: Decimal
    documents: int
    qbo_total: Decimal

    @property
    def difference(self) -> Decimal:
        """QuickBooks' total less the store's."""
        return self.qbo_total - self.store_total

    @property
    def matches(self) -> bool:
        """Both totals agree to the cent."""
        return self.difference == ZERO


@dataclass(frozen=True)
class OverRefund:
    """An order whose refunds exceed its payments (in the store's figures or in QuickBooks)."""

    order_id: str
    currency: str
    where: Literal["store", "quickbooks"]
    paid: Decimal
    refunded: Decimal

    @property
    def excess(self) -> Decimal:
        """How much more was refunded than paid."""
        return self.refunded - self.paid


@dataclass(frozen=True)
class SourceReconciliation:
    """The whole source-side check."""

    days: list[SourceDay]
    over_refunds: list[OverRefund]
    without_store_figures: int

    @property
    def differing_days(self) -> list[SourceDay]:
        """The days whose totals differ."""
        return [day for day in self.days if not day.matches]

    @property
    def clean(self) -> bool:
        """Every day matches and no order is over-refunded."""
        return not self.differing_days and not self.over_refunds


def _amount(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def figures_of(facts: Mapping[str, Any] | None) -> StoreFigures | None:
    """The typed figures of a ledger row's `source_facts`, or None when absent or unreadable."""
    if not facts:
        return None
    total = _amount(facts.get("total"))
    refunded = _amount(facts.get("amount_refunded"))
    fields = (facts.get(k) for k in ("kind", "canonical_id", "order_id", "local_date", "currency"))
    kind, canonical_id, order_id, local_date, currency = fields
    if (
        total is None
        or refunded is None
        or kind not in KIND_OF_RECORD
        or not all(isinstance(v, str) and v for v in (canonical_id, order_id, currency))
    ):
        return None
    return StoreFigures(
        kind=str(kind),
        canonical_id=str(canonical_id),
        order_id=str(order_id),
        local_date=local_date if isinstance(local_date, str) and local_date else UNKNOWN_DAY,
        currency=str(currency),
        total=total,
        amount_paid=_amount(facts.get("amount_paid")),
        amount_refunded=refunded,
    )


SUMMARY_KIND = "summary"


def summary_figures(entry: LedgerEntry) -> StoreFigures | None:
    """A summary document's own store figures (None: not a summary, or unreadable)."""
    facts = entry.source_facts
    kind = KIND_OF_ENTITY.get(entry.entity)
    if not facts or facts.get("kind") != SUMMARY_KIND or kind is None:
        return None
    total = _amount(facts.get("total"))
    currency = facts.get("currency")
    if total is None or not isinstance(currency, str) or not currency:
        return None
    local_date = facts.get("local_date")
    return StoreFigures(
        kind="order" if kind == "sales" else "refund",
        canonical_id=entry.external_id,
        order_id=entry.external_id,
        local_date=local_date if isinstance(local_date, str) and local_date else UNKNOWN_DAY,
        currency=currency,
        total=total,
        amount_paid=None,
        amount_refunded=ZERO,
    )


def summarised_orders(entries: Iterable[LedgerEntry]) -> set[str]:
    """The orders whose sale or refund is in a summary document."""
    orders: set[str] = set()
    for entry in entries:
        facts = entry.source_facts
        if facts and facts.get("kind") == SUMMARY_KIND:
            for key in ("covers_orders", "refund_orders"):
                orders.update(str(o) for o in facts.get(key) or ())
    return orders


def _order_of(entry: LedgerEntry) -> str:
    return entry.external_id.split("#", 1)[0]


def _qbo_day(entry: LedgerEntry, document: Mapping[str, Any]) -> str:
    for source in (document, entry.snapshot or {}, entry.pushed_body or {}):
        value = source.get("TxnDate")
        if isinstance(value, str) and value:
            return value
    return UNKNOWN_DAY


def _days(
    entries: list[LedgerEntry],
    figures: dict[str, StoreFigures],
    quickbooks: Mapping[tuple[str, str], Mapping[str, Any]],
) -> list[SourceDay]:
    store: dict[tuple[str, Kind, str], list[Decimal]] = defaultdict(list)
    for fig in figures.values():
        store[fig.local_date, KIND_OF_RECORD[fig.kind], fig.currency].append(fig.total)
    qbo: dict[tuple[str, Kind, str], list[Decimal]] = defaultdict(list)
    for entry in entries:
        kind = KIND_OF_ENTITY.get(entry.entity)
        document = quickbooks.get((entry.entity, entry.qbo_id))
        if kind is None or document is None:
            continue  # not found in QuickBooks: the store's day shows the gap
        total = _amount(document.get("TotalAmt")) or ZERO
        currency = entry.currency or figures_currency(entry)
        qbo[_qbo_day(entry, document), kind, currency].append(total)
    return [
        SourceDay(
            day=day,
            kind=kind,
            currency=currency,
            records=len(store.get((day, kind, currency), [])),
            store_total=sum(store.get((day, kind, currency), []), ZERO),
            documents=len(qbo.get((day, kind, currency), [])),
            qbo_total=sum(qbo.get((day, kind, currency), []), ZERO),
        )
        for day, kind, currency in sorted(set(store) | set(qbo))
    ]


def figures_currency(entry: LedgerEntry) -> str:
    """The currency of a row's store figures ("" when it has none)."""
    facts = figures_of(entry.source_facts)
    return facts.currency if facts is not None else ""


def _store_over_refunds(figures: dict[str, StoreFigures]) -> list[OverRefund]:
    found: list[OverRefund] = []
    orders = {f.canonical_id: f for f in figures.values() if f.kind == "order"}
    refunded_by_records: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for fig in figures.values():
        if fig.kind == "refund":
            refunded_by_records[fig.order_id] += fig.amount_refunded
    for order_id, order in sorted(orders.items()):
        refunded = max(order.amount_refunded, refunded_by_records.get(order_id, ZERO))
        if order.amount_paid is not None and refunded > order.amount_paid:
            found.append(OverRefund(order_id, order.currency, "store", order.amount_paid, refunded))
    return found


def _quickbooks_over_refunds(
    entries: list[LedgerEntry], quickbooks: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[OverRefund]:
    found: list[OverRefund] = []
    paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    given_back: dict[str, Decimal] = defaultdict(lambda: ZERO)
    currencies: dict[str, str] = {}
    for entry in entries:
        document = quickbooks.get((entry.entity, entry.qbo_id))
        total = _amount((document or {}).get("TotalAmt"))
        if total is None:
            continue
        order_id = _order_of(entry)
        currencies.setdefault(order_id, entry.currency or "")
        if entry.entity in _PAID_ENTITIES:
            paid[order_id] += total
        elif entry.entity in _REFUNDED_ENTITIES:
            given_back[order_id] += total
    summarised = summarised_orders(entries)
    for order_id, refunded in sorted(given_back.items()):
        if order_id in summarised:
            continue  # paid through a summary: no per-order figure in QuickBooks to set it against
        if refunded > paid[order_id]:
            found.append(
                OverRefund(order_id, currencies[order_id], "quickbooks", paid[order_id], refunded)
            )
    return found


def reconcile_source(
    entries: Iterable[LedgerEntry], quickbooks: Mapping[tuple[str, str], Mapping[str, Any]]
) -> SourceReconciliation:
    """Store figures against QuickBooks, per store-local day and per order.

    Args:
        entries: the company's ledger rows (any status; only active transactions count).
        quickbooks: QuickBooks' current copy of the documents, by (entity, Id).
    """
    active = [
        e
        for e in entries
        if e.status is LedgerStatus.ACTIVE and e.entity != "Customer" and "#" in e.external_id
    ]
    figures: dict[str, StoreFigures] = {}
    with_figures: list[LedgerEntry] = []
    for entry in active:
        fig = figures_of(entry.source_facts) or summary_figures(entry)
        if fig is None:
            continue
        with_figures.append(entry)
        # One record's documents carry the same block; the sale or refund document's wins.
        if fig.canonical_id not in figures or entry.entity in KIND_OF_ENTITY:
            figures[fig.canonical_id] = fig
    return SourceReconciliation(
        days=_days(with_figures, figures, quickbooks),
        over_refunds=[
            *_store_over_refunds(figures),
            *_quickbooks_over_refunds(active, quickbooks),
        ],
        without_store_figures=sum(
            1 for e in active if e.entity in KIND_OF_ENTITY and e.source_facts is None
        ),
    )


def within(days: Iterable[SourceDay], since: str | None, until: str | None) -> list[SourceDay]:
    """The days between `since` and `until` (YYYY-MM-DD, both included)."""
    return [
        day
        for day in days
        if (since is None or day.day >= since) and (until is None or day.day <= until)
    ]


def store_day(entry: LedgerEntry) -> str:
    """The store-local day of a row's order or refund (`unknown` without store figures)."""
    facts = figures_of(entry.source_facts)
    return facts.local_date if facts is not None else UNKNOWN_DAY
