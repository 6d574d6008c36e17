"""The refund guard: an order's refunds never return more than was paid, nor exceed its total.

Pure. Before a wave writes RefundReceipts and CreditMemos, `set_aside` takes, per order:

- what was paid and the order's total: the newest order `source` block (the store's own
  figures, carried by the order's SalesReceipt/Invoice/Payments) in the ledger or among the
  wave's own documents (a refund waits for the SalesReceipt or Invoice only, so the Payment of
  an order paid on capture may share its wave), else, for rows written before that block
  existed, the ledger's totals of the SalesReceipt and Payments;
- what was refunded already: every refund document of the order in the ledger, each counted once
  by its identity (external_id `<order id>#refund:<refund id>`), by the money it returned (its
  `source.amount_refunded`; a RefundReceipt written without that block counts its total, a
  CreditMemo returns no money);
- the refunds about to be written, taken in their chronological order (their `source.timestamp`,
  then external_id), whatever order they arrived in.

Walking that order, the first refund that makes the money returned exceed what was paid (or the
refunds' value exceed the order's total) is set aside, its cumulative figures named, and the next
ones are checked against the refunds actually kept. A refund already in the ledger is never
counted against itself (an update of the same refund replaces its own amount).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from target_quickbooks.contract import Operation

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.store.ledger import LedgerEntry

REFUND_ENTITIES = frozenset({"RefundReceipt", "CreditMemo"})
_REFUND_ROLE = "#refund:"
_PAYMENT_ROLE = "#payment:"


@dataclass(frozen=True, slots=True)
class RefundClaim:
    """One refund of an order, as the guard counts it."""

    external_id: str
    order_id: str
    at: str  # canonical UTC timestamp: the chronological order
    returned: Decimal  # money given back
    value: Decimal  # what the refund is worth (its document's total)
    currency: str = ""


@dataclass(frozen=True, slots=True)
class OrderMoney:
    """What an order's customer paid and what the order is worth (None: not known)."""

    paid: Decimal | None
    total: Decimal | None


@dataclass(frozen=True, slots=True)
class SetAside:
    """A refund the guard keeps out of QuickBooks, with the figures that decided it."""

    field: str
    message: str
    guidance: str


def order_of(external_id: str) -> str | None:
    """The canonical order id of a refund document's external_id, else None."""
    order, role, _ = external_id.partition(_REFUND_ROLE)
    return order if role and order else None


def _amount(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def claim_of_document(document: MappedDocument) -> RefundClaim | None:
    """The claim of a refund document about to be written (None when it is no refund)."""
    order = document.links.get("order") or order_of(document.external_id)
    if document.entity not in REFUND_ENTITIES or order is None:
        return None
    facts: Mapping[str, Any] = document.source_facts or {}
    returned = _amount(facts.get("amount_refunded"))
    if returned is None:
        returned = document.expected.total if document.entity == "RefundReceipt" else Decimal(0)
    return RefundClaim(
        external_id=document.external_id,
        order_id=order,
        at=str(facts.get("timestamp") or document.source_updated_at),
        returned=returned,
        value=document.expected.total,
        currency=document.expected.currency,
    )


def _facts_of(entry: LedgerEntry) -> Mapping[str, Any]:
    # The ledger keeps the `source` block since schema 0004 (the source-side reconciliation);
    # read defensively so the guard works on entries from stores and code without it.
    facts = getattr(entry, "source_facts", None)
    return facts if isinstance(facts, dict) else {}


def claim_of_entry(entry: LedgerEntry) -> RefundClaim | None:
    """The claim of a refund the ledger says is in QuickBooks (None: no active refund)."""
    order = order_of(entry.external_id)
    if entry.entity not in REFUND_ENTITIES or order is None or entry.status != "active":
        return None
    facts = _facts_of(entry)
    value = entry.expected_total if entry.expected_total is not None else Decimal(0)
    returned = _amount(facts.get("amount_refunded"))
    if returned is None:
        returned = value if entry.entity == "RefundReceipt" else Decimal(0)
    return RefundClaim(
        external_id=entry.external_id,
        order_id=order,
        at=str(facts.get("timestamp") or entry.source_updated_at or ""),
        returned=returned,
        value=value,
        currency=entry.currency or "",
    )


def order_money(
    entries: Iterable[LedgerEntry], pending: Iterable[MappedDocument] = ()
) -> OrderMoney:
    """Paid and total of one order from its documents in the ledger and in the wave.

    The newest order `source` block wins (the store's figures as last read), whether its
    document is in the ledger or about to be written beside the refund (`pending`); rows
    without it fall back to the SalesReceipt's total, or the Invoices' totals and the Payments'
    amounts in the ledger.
    """
    rows = [e for e in entries if e.status == "active" and e.entity not in REFUND_ENTITIES]
    blocks = [(e.source_updated_at or "", _facts_of(e)) for e in rows]
    blocks += [
        (d.source_updated_at, d.source_facts or {})
        for d in pending
        if d.entity not in REFUND_ENTITIES and d.operation is Operation.UPSERT
    ]
    blocks = [(at, facts) for at, facts in blocks if facts.get("kind") == "order"]
    if blocks:
        facts = max(blocks, key=lambda item: item[0])[1]
        return OrderMoney(_amount(facts.get("amount_paid")), _amount(facts.get("total")))
    receipts = [e.expected_total for e in rows if e.entity == "SalesReceipt"]
    if receipts and receipts[0] is not None:
        return OrderMoney(receipts[0], receipts[0])
    invoices = [e.expected_total or Decimal(0) for e in rows if e.entity == "Invoice"]
    payments = [
        e.expected_total or Decimal(0)
        for e in rows
        if e.entity == "Payment" and _PAYMENT_ROLE in e.external_id
    ]
    if not invoices and not payments:
        return OrderMoney(None, None)
    return OrderMoney(sum(payments, Decimal(0)), sum(invoices, Decimal(0)) if invoices else None)


def _exceeds(claim: RefundClaim, kept: Decimal, paid: Decimal, currency: str) -> SetAside:
    return SetAside(
        field="source.amount_refunded",
        message=(
            f"refund {claim.external_id} returns {claim.returned} {currency}; with the order's "
            f"{kept} {currency} already refunded that is {kept + claim.returned}, more than the "
            f"{paid} {currency} paid"
        ),
        guidance=(
            "Check the order's payments and refunds in the store (a refund recorded twice, or a "
            "payment missing from the order). Once the store is right, retry with "
            "`target-quickbooks-ops errors retry`; if the refund is wrong, void it in the store."
        ),
    )


def _over_total(claim: RefundClaim, kept: Decimal, total: Decimal, currency: str) -> SetAside:
    return SetAside(
        field="expected.total",
        message=(
            f"refund {claim.external_id} is worth {claim.value} {currency}; with the order's "
            f"{kept} {currency} already refunded that is {kept + claim.value}, more than the "
            f"order's total {total} {currency}"
        ),
        guidance=(
            "Check the order's refunds in the store (a refund recorded twice, or lines refunded "
            "more often than sold); then retry with `target-quickbooks-ops errors retry`."
        ),
    )


def set_aside(
    candidates: Sequence[RefundClaim], delivered: Iterable[RefundClaim], money: OrderMoney
) -> dict[str, SetAside]:
    """The refunds of one order to keep out of QuickBooks, by external_id.

    Args:
        candidates: the order's refunds about to be written.
        delivered: the order's refunds already in QuickBooks (the ledger); a candidate's own
            earlier version is ignored.
        money: what the order's customer paid and the order's total.
    """
    currency = candidates[0].currency if candidates else ""
    pending = {claim.external_id for claim in candidates}
    earlier = [claim for claim in delivered if claim.external_id not in pending]
    returned = sum((claim.returned for claim in earlier), Decimal(0))
    value = sum((claim.value for claim in earlier), Decimal(0))
    refused: dict[str, SetAside] = {}
    for claim in sorted(candidates, key=lambda c: (c.at, c.external_id)):
        if money.paid is not None and returned + claim.returned > money.paid:
            refused[claim.external_id] = _exceeds(claim, returned, money.paid, currency)
            continue
        if money.total is not None and value + claim.value > money.total:
            refused[claim.external_id] = _over_total(claim, value, money.total, currency)
            continue
        returned += claim.returned
        value += claim.value
    return refused


def wave_set_aside(
    documents: Iterable[MappedDocument], order_entries: Iterable[LedgerEntry]
) -> dict[str, SetAside]:
    """The refunds of a wave to keep out of QuickBooks, by external_id.

    Args:
        documents: the wave's documents about to be upserted (others are ignored).
        order_entries: the ledger's entries of the refunds' orders (`Ledger.order_documents`).
    """
    by_order: dict[str, list[RefundClaim]] = {}
    order_documents: dict[str, list[MappedDocument]] = {}
    for document in documents:
        claim = claim_of_document(document)
        if claim is not None:
            by_order.setdefault(claim.order_id, []).append(claim)
        elif (order := document.links.get("order")) is not None:
            order_documents.setdefault(order, []).append(document)
    entries: dict[str, list[LedgerEntry]] = {}
    for entry in order_entries:
        entries.setdefault(entry.external_id.split("#", 1)[0], []).append(entry)
    refused: dict[str, SetAside] = {}
    for order_id, candidates in by_order.items():
        rows = entries.get(order_id, [])
        delivered = [c for c in map(claim_of_entry, rows) if c is not None]
        money = order_money(rows, order_documents.get(order_id, []))
        refused.update(set_aside(candidates, delivered, money))
    return refused


def refund_orders(documents: Iterable[MappedDocument]) -> set[str]:
    """The orders of the refund documents among `documents`."""
    return {c.order_id for c in map(claim_of_document, documents) if c is not None}
