"""`reconcile`: the store's totals against QuickBooks', per day and document type.

Store totals are the mapper's expected totals the ledger keeps for each document it wrote
(schema 0002 onwards); QuickBooks' totals are read back from QuickBooks for the same documents
(``TotalAmt`` and ``TxnTaxDetail.TotalTax``), with bulk ``Id IN (...)`` queries. Documents that
differ are listed one by one. The comparison itself is pure (`compare`, `by_day`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from target_quickbooks.contract import Expected
from target_quickbooks.query_language import select_in
from target_quickbooks.reconciliation import UNTOTALLED_ENTITIES, reconcile
from target_quickbooks.store.ledger import LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.store.ledger import LedgerEntry

ZERO = Decimal(0)
UNKNOWN_DAY = "unknown"
# Ids per lookup query: well inside QuickBooks' MAXRESULTS of 1000 and a short statement.
_IDS_PER_QUERY = 100


@dataclass(frozen=True)
class DocumentTotals:
    """One document: the store's expected totals and QuickBooks' (None when not found)."""

    day: str
    entity: str
    external_id: str
    qbo_id: str
    currency: str
    store_total: Decimal
    store_tax: Decimal
    qbo_total: Decimal | None
    qbo_tax: Decimal | None

    @property
    def matches(self) -> bool:
        """Both figures agree to the cent."""
        return self.qbo_total == self.store_total and self.qbo_tax == self.store_tax


@dataclass(frozen=True)
class DayTotals:
    """One day and document type (and currency)."""

    day: str
    entity: str
    currency: str
    documents: int
    store_total: Decimal
    qbo_total: Decimal
    differing: int


def reconcilable(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Active transactions whose expected totals the ledger knows."""
    return [
        entry
        for entry in entries
        if entry.status is LedgerStatus.ACTIVE
        and entry.entity not in UNTOTALLED_ENTITIES
        and entry.expected_total is not None
        and "#customer" not in entry.external_id
    ]


def day_of(entry: LedgerEntry) -> str:
    """The document's TxnDate (as written, else as QuickBooks holds it)."""
    for source in (entry.pushed_body, entry.snapshot):
        value = (source or {}).get("TxnDate")
        if isinstance(value, str) and value:
            return value
    return UNKNOWN_DAY


def read_quickbooks(
    client: QuickBooksClient, entries: Iterable[LedgerEntry]
) -> dict[tuple[str, str], dict[str, Any]]:
    """QuickBooks' current copy of each document, by (entity, Id)."""
    ids: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        ids[entry.entity].append(entry.qbo_id)
    return read_ids(client, ids)


def read_ids(
    client: QuickBooksClient, ids: Mapping[str, Iterable[str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """QuickBooks' current copy of the documents with these Ids per entity, by (entity, Id)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entity, wanted in sorted(ids.items()):
        unique = sorted(set(wanted))
        for start in range(0, len(unique), _IDS_PER_QUERY):
            chunk = unique[start : start + _IDS_PER_QUERY]
            for document in client.query(select_in(entity, "Id", chunk)):
                found[entity, str(document.get("Id"))] = document
    return found


def compare(
    entries: Iterable[LedgerEntry], quickbooks: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[DocumentTotals]:
    """One row per document, sorted by day, type and external_id."""
    rows: list[DocumentTotals] = []
    for entry in entries:
        currency = entry.currency or ""
        expected = Expected(currency, entry.expected_total or ZERO, entry.expected_tax or ZERO)
        document = quickbooks.get((entry.entity, entry.qbo_id))
        check = reconcile(entry.entity, expected, document) if document is not None else None
        rows.append(
            DocumentTotals(
                day=day_of(entry),
                entity=entry.entity,
                external_id=entry.external_id,
                qbo_id=entry.qbo_id,
                currency=currency,
                store_total=expected.total,
                store_tax=expected.tax,
                qbo_total=check.actual_total if check is not None else None,
                qbo_tax=check.actual_tax if check is not None else None,
            )
        )
    return sorted(rows, key=lambda r: (r.day, r.entity, r.external_id))


def by_day(rows: Iterable[DocumentTotals]) -> list[DayTotals]:
    """Totals per day, document type and currency."""
    groups: dict[tuple[str, str, str], list[DocumentTotals]] = defaultdict(list)
    for row in rows:
        groups[row.day, row.entity, row.currency].append(row)
    return [
        DayTotals(
            day=day,
            entity=entity,
            currency=currency,
            documents=len(members),
            store_total=sum((m.store_total for m in members), ZERO),
            qbo_total=sum((m.qbo_total or ZERO for m in members), ZERO),
            differing=sum(1 for m in members if not m.matches),
        )
        for (day, entity, currency), members in sorted(groups.items())
    ]
