"""An order is in QuickBooks once: per order or in a summary, never both (docs/payouts.md).

map-quickbooks' `posting_mode` can change between runs (per_order, payout_summary,
daily_summary), and the mapper is pure: it cannot know how an order was posted before. A
summary document (source block kind ``summary``) names the orders and refunds it covers; a
per-order document is ``<order id>#<role>``; a payout's Deposit is ``<payout id>#deposit`` per
order and ``<payout id>#summary_deposit`` in a summary mode. The ledger knows what was posted and
how, so this guard decides, before anything is resolved or written:

- ``WRITE``: nothing recorded contradicts the document.
- ``COVERED``: a per-order document of an order (or refund) that a summary in QuickBooks (or in
  this wave) covers, or the per-order Deposit of a payout whose summary Deposit is in QuickBooks:
  nothing is written, the document is recorded as done (an audit row, any open dead letter of it
  resolved). The order is in QuickBooks through its summary. A later change to such an order
  (an edit, a cancellation) does not reach QuickBooks: the audit row says so.
- ``SUPERSEDED``: a summary one of whose orders (or refunds) is already in QuickBooks per order,
  or already covered by another summary; or a summary Deposit whose summary was superseded, or
  whose payout's per-order Deposit is in QuickBooks. Nothing is written; the mapper's per-order
  documents of the same orders (emitted after their summary, linked to it) are then written one
  by one, those already in QuickBooks being unchanged. Writing a summary without the orders
  already posted would need the target to re-add the mapper's lines; leaving the whole summary
  out instead keeps every order counted once with figures the mapper computed, and keeps the
  Deposit clearing exactly what is in QuickBooks.
- ``REDIRECT``: a per-order RefundReceipt or CreditMemo of an order a summary covers (the refund
  itself is not in one): written as it is, made out to the summary's customer (the order has no
  customer of its own in QuickBooks): the order's customer alias ``<order id>#customer``, by
  which the refund names its customer, is recorded for the summary customer. And the delete
  of a payout's Deposit (the payout failed or was canceled) whose Deposit is in QuickBooks as
  its summary Deposit: that one is deleted.

Decisions read the ledger only (and the summaries the same wave writes), so arrival order inside a
wave changes nothing: summaries are decided first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from target_quickbooks.contract import Operation
from target_quickbooks.store.ledger import ALIAS_BODY_HASH, LedgerEntry, LedgerStatus
from target_quickbooks.store.schema import ledger

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.store import Store

SUMMARY_KIND = "summary"
SUMMARY_ROLES = ("summary_sales", "summary_refunds")
DEPOSIT_ROLE = "deposit"
SUMMARY_DEPOSIT_ROLE = "summary_deposit"
REFUND_ROLE = "refund:"
CUSTOMER_ALIAS_ROLE = "#customer"
_SALE_ROLES = ("sales_receipt", "invoice", "payment:")
_NAMED_MAX = 10  # documents named in an audit message
_POSTED = frozenset({LedgerStatus.ACTIVE, LedgerStatus.VOIDED})
# The `like` patterns of summary documents' external ids (the ledger has no column for them).
_SUMMARY_PATTERNS = tuple(f"%#{role}%" for role in SUMMARY_ROLES)


class Action(StrEnum):
    """What the target does with a document, given how its orders were posted."""

    WRITE = "write"
    COVERED = "covered_by_summary"
    SUPERSEDED = "superseded_summary"
    REDIRECT = "redirected_to_summary"


@dataclass(frozen=True, slots=True)
class Decision:
    """The guard's verdict on one document, with what decided it."""

    action: Action
    document: MappedDocument
    message: str = ""


@dataclass(frozen=True, slots=True)
class SummaryCover:
    """What one summary document covers (its `source` block)."""

    external_id: str
    customer: str
    orders: tuple[str, ...]
    refunds: tuple[str, ...]
    refund_orders: tuple[str, ...]


def summary_cover(external_id: str, facts: Mapping[str, Any] | None) -> SummaryCover | None:
    """The cover of a summary document (None: not a summary)."""
    if not facts or facts.get("kind") != SUMMARY_KIND:
        return None
    return SummaryCover(
        external_id=external_id,
        customer=str(facts.get("customer", "")),
        orders=tuple(str(o) for o in facts.get("covers_orders", [])),
        refunds=tuple(str(r) for r in facts.get("covers_refunds", [])),
        refund_orders=tuple(str(o) for o in facts.get("refund_orders", [])),
    )


@dataclass
class Coverage:
    """Which orders and refunds the summaries in QuickBooks cover (order/refund -> summary)."""

    orders: dict[str, SummaryCover] = field(default_factory=dict)
    refunds: dict[str, SummaryCover] = field(default_factory=dict)

    def add(self, cover: SummaryCover) -> None:
        """Count a summary in QuickBooks."""
        for order in cover.orders:
            self.orders.setdefault(order, cover)
        for refund in cover.refunds:
            self.refunds.setdefault(refund, cover)


def _parts(external_id: str) -> tuple[str, str]:
    head, _, role = external_id.rpartition("#")
    return head, role


def _is_sale_role(role: str) -> bool:
    return role.startswith(_SALE_ROLES)


def posted_per_order(cover: SummaryCover, entries: Iterable[LedgerEntry]) -> list[str]:
    """External ids of the per-order documents of the cover's orders and refunds in the ledger.

    Args:
        cover: a summary's cover.
        entries: the ledger's entries of the cover's orders and refund orders
            (`Ledger.order_documents`).
    """
    orders = set(cover.orders)
    refunds = set(cover.refunds)
    found = []
    for entry in entries:
        if entry.status not in _POSTED:
            continue
        order, role = _parts(entry.external_id)
        facts = entry.source_facts or {}
        if (order in orders and _is_sale_role(role)) or (
            role.startswith(REFUND_ROLE) and facts.get("canonical_id") in refunds
        ):
            found.append(entry.external_id)
    return sorted(found)


def _superseded(document: MappedDocument, reason: str) -> Decision:
    return Decision(
        Action.SUPERSEDED,
        document,
        f"the summary {document.external_id} is not written: {reason}; its orders are written "
        "one by one instead (each once)",
    )


def decide_summary(
    document: MappedDocument,
    cover: SummaryCover,
    posted: list[str],
    coverage: Coverage,
) -> Decision:
    """A summary document: written unless one of its orders is already in QuickBooks."""
    if posted:
        named = ", ".join(posted[:_NAMED_MAX]) + (
            f" and {len(posted) - _NAMED_MAX} more" if len(posted) > _NAMED_MAX else ""
        )
        return _superseded(document, f"QuickBooks already holds per-order documents ({named})")
    others = sorted(
        {
            c.external_id
            for c in [
                *(coverage.orders.get(o) for o in cover.orders),
                *(coverage.refunds.get(r) for r in cover.refunds),
            ]
            if c is not None and c.external_id != document.external_id
        }
    )
    if others:
        return _superseded(document, f"its orders are already in the summary {others[0]}")
    return Decision(Action.WRITE, document)


def decide_document(
    document: MappedDocument, coverage: Coverage, deposits: Mapping[str, LedgerEntry]
) -> Decision:
    """A per-order document or a Deposit, given the summaries and Deposits in QuickBooks.

    Args:
        document: the incoming document (not a summary).
        coverage: the summaries in QuickBooks and those this wave writes.
        deposits: the ledger's entries of the payouts' Deposits (both roles) by external_id.
    """
    head, role = _parts(document.external_id)
    if document.entity == "Deposit":
        return _decide_deposit(document, head, role, deposits)
    if role.startswith(REFUND_ROLE):
        cover = coverage.refunds.get(document.source_id)
        if cover is not None:
            return _covered(document, cover)
        order_cover = coverage.orders.get(head)
        if order_cover is not None and document.operation is Operation.UPSERT:
            return _redirect(document, order_cover)
        return Decision(Action.WRITE, document)
    if _is_sale_role(role):
        cover = coverage.orders.get(head)
        if cover is not None:
            return _covered(document, cover)
    return Decision(Action.WRITE, document)


def _posted(entry: LedgerEntry | None) -> bool:
    return entry is not None and entry.status is LedgerStatus.ACTIVE


def _decide_deposit(
    document: MappedDocument, payout: str, role: str, deposits: Mapping[str, LedgerEntry]
) -> Decision:
    if role == DEPOSIT_ROLE:
        return _decide_per_order_deposit(document, payout, deposits)
    if role != SUMMARY_DEPOSIT_ROLE or document.operation is not Operation.UPSERT:
        return Decision(Action.WRITE, document)
    other = f"{payout}#{DEPOSIT_ROLE}"
    if _posted(deposits.get(other)):
        return _superseded(document, f"the payout's per-order Deposit {other} is in QuickBooks")
    missing = sorted(
        value
        for key, value in document.links.items()
        if key.startswith("clears:")
        and any(f"#{r}" in value for r in SUMMARY_ROLES)
        and not _posted(deposits.get(value))
    )
    if missing:
        return _superseded(document, f"its summary {missing[0]} was not written")
    return Decision(Action.WRITE, document)


def _decide_per_order_deposit(
    document: MappedDocument, payout: str, deposits: Mapping[str, LedgerEntry]
) -> Decision:
    other = f"{payout}#{SUMMARY_DEPOSIT_ROLE}"
    if not _posted(deposits.get(other)):
        return Decision(Action.WRITE, document)
    if document.operation is Operation.DELETE:
        # A payout that failed after its summary Deposit was booked: that one goes.
        return Decision(
            Action.REDIRECT,
            dataclasses.replace(document, external_id=other),
            f"the payout's Deposit is in QuickBooks as its summary Deposit {other}: the "
            "payout failed or was canceled, so that Deposit is deleted",
        )
    return Decision(
        Action.COVERED,
        document,
        f"the payout's Deposit is in QuickBooks as its summary Deposit {other}; the "
        f"per-order Deposit {document.external_id} is not written",
    )


def _covered(document: MappedDocument, cover: SummaryCover) -> Decision:
    return Decision(
        Action.COVERED,
        document,
        f"{document.external_id} is in QuickBooks through the summary {cover.external_id}; "
        "it is not written (a change to it since the summary does not reach QuickBooks: "
        "correct the summary by hand if it matters)",
    )


def _redirect(document: MappedDocument, cover: SummaryCover) -> Decision:
    """The refund is written as it is; its order's customer alias names the summary customer.

    A refund refers to its order's customer by the alias ``<order id>#customer``, which the
    target records when it writes the order's document; an order in a summary has none, so the
    alias is recorded to name the summary's customer (`summary_customer_aliases`).
    """
    return Decision(
        Action.REDIRECT,
        document,
        f"the refund's order is in QuickBooks through the summary {cover.external_id}: the "
        f"refund is made out to its customer {cover.customer}",
    )


def summary_customer_aliases(
    decisions: Iterable[Decision],
    coverage: Coverage,
    known: Mapping[str, LedgerEntry],
    realm_id: str,
) -> list[LedgerEntry]:
    """The ``<order id>#customer`` aliases the redirected refunds need (to summary customers).

    Args:
        decisions: the wave's decisions.
        coverage: the summaries in QuickBooks.
        known: the ledger's entries of the aliases and of the summary customers.
        realm_id: the company.
    """
    aliases: dict[str, LedgerEntry] = {}
    for decision in decisions:
        document = decision.document
        if decision.action is not Action.REDIRECT or document.entity == "Deposit":
            continue
        order = _parts(document.external_id)[0]
        alias = f"{order}{CUSTOMER_ALIAS_ROLE}"
        cover = coverage.orders.get(order)
        customer = known.get(cover.customer) if cover is not None else None
        if alias in known or customer is None or customer.status is not LedgerStatus.ACTIVE:
            continue
        aliases[alias] = LedgerEntry(
            realm_id=realm_id,
            external_id=alias,
            entity="Customer",
            qbo_id=customer.qbo_id,
            sync_token="",
            body_hash=ALIAS_BODY_HASH,
            status=LedgerStatus.ACTIVE,
            source_updated_at=document.source_updated_at,
        )
    return list(aliases.values())


def summary_ids(external_ids: Iterable[str]) -> list[str]:
    """The summary documents among some external ids."""
    return [e for e in external_ids if _parts(e)[1].split(":", 1)[0] in SUMMARY_ROLES]


class SummaryIndex:
    """The covers of the summaries in the ledger: read once per run, then kept up to date.

    The first read scans the ledger for summary documents (few: one or two per payout or day,
    each naming many orders). After it, only summaries this guard let through are read again
    (by external id), once their wave is written: a summary that failed is not in the ledger,
    so it covers nothing and its orders' per-order documents are written instead.
    """

    def __init__(self, store: Store, realm_id: str) -> None:
        """Bind to the store and the company."""
        self._store = store
        self.realm_id = realm_id
        self._coverage: Coverage | None = None
        self._watched: set[str] = set()

    def watch(self, external_ids: Iterable[str]) -> None:
        """Summaries about to be written: read them again on the next `coverage`."""
        self._watched.update(external_ids)

    def coverage(self) -> Coverage:
        """The covers of every active summary in the ledger."""
        if self._coverage is None:
            self._coverage = Coverage()
            query = sa.select(ledger.c.external_id, ledger.c.source_facts).where(
                ledger.c.realm_id == self.realm_id,
                ledger.c.status == LedgerStatus.ACTIVE.value,
                sa.or_(*(ledger.c.external_id.like(p) for p in _SUMMARY_PATTERNS)),
            )
            with self._store.engine.connect() as connection:
                for row in connection.execute(query).mappings():
                    cover = summary_cover(str(row["external_id"]), row["source_facts"])
                    if cover is not None:
                        self._coverage.add(cover)
        if self._watched:
            found = self._store.ledger.get_many(self.realm_id, self._watched)
            self._watched.clear()
            for entry in found.values():
                cover = summary_cover(entry.external_id, entry.source_facts)
                if cover is not None and entry.status is LedgerStatus.ACTIVE:
                    self._coverage.add(cover)
        return Coverage(dict(self._coverage.orders), dict(self._coverage.refunds))


def _deposit_ids(documents: Iterable[MappedDocument]) -> set[str]:
    """The Deposits (both roles) and summaries the wave's Deposits are decided by."""
    wanted: set[str] = set()
    for document in documents:
        if document.entity != "Deposit":
            continue
        payout, _ = _parts(document.external_id)
        wanted |= {f"{payout}#{DEPOSIT_ROLE}", f"{payout}#{SUMMARY_DEPOSIT_ROLE}"}
        wanted |= {v for k, v in document.links.items() if k.startswith("clears:")}
    return wanted


def wave_decisions(
    documents: list[MappedDocument], store: Store, index: SummaryIndex
) -> list[Decision]:
    """A decision per document of a wave, in the wave's order (summaries decided first)."""
    realm = index.realm_id
    coverage = index.coverage()
    summaries = {
        d.external_id: cover
        for d in documents
        if d.operation is Operation.UPSERT
        and (cover := summary_cover(d.external_id, d.source_facts)) is not None
    }
    decided: dict[str, Decision] = {}
    if summaries:
        orders = {o for c in summaries.values() for o in (*c.orders, *c.refund_orders)}
        entries = store.ledger.order_documents(realm, orders)
        by_id = {d.external_id: d for d in documents}
        for external_id, cover in sorted(summaries.items()):
            decision = decide_summary(
                by_id[external_id], cover, posted_per_order(cover, entries), coverage
            )
            decided[external_id] = decision
            if decision.action is Action.WRITE:
                coverage.add(cover)
                index.watch([external_id])
    wanted = _deposit_ids(documents)
    deposits = store.ledger.get_many(realm, wanted) if wanted else {}
    decisions = [
        decided.get(d.external_id) or decide_document(d, coverage, deposits) for d in documents
    ]
    orders = {
        _parts(d.document.external_id)[0]
        for d in decisions
        if d.action is Action.REDIRECT and d.document.entity != "Deposit"
    }
    if orders:
        ids = {f"{o}{CUSTOMER_ALIAS_ROLE}" for o in orders}
        ids |= {c.customer for o in orders if (c := coverage.orders.get(o)) is not None}
        known = store.ledger.get_many(realm, ids)
        # Recorded now, before the wave resolves the refunds' CustomerRef (the alias).
        store.ledger.put_many(summary_customer_aliases(decisions, coverage, known, realm))
        # A refund whose alias was recorded before is an ordinary write (no audit row again).
        decisions = [
            Decision(Action.WRITE, d.document)
            if d.action is Action.REDIRECT
            and f"{_parts(d.document.external_id)[0]}{CUSTOMER_ALIAS_ROLE}" in known
            else d
            for d in decisions
        ]
    return decisions
