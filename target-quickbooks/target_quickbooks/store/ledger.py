"""The ledger: external_id -> QuickBooks entity, Id, SyncToken, last pushed body hash, snapshot."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from target_quickbooks.store.schema import ledger

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterable, Mapping

    from sqlalchemy import RowMapping
    from sqlalchemy.engine import Engine


# The body_hash of an order's ``<order id>#customer`` alias row (delivery.py, `_customer_alias`).
ALIAS_BODY_HASH = "alias"


class LedgerStatus(StrEnum):
    """The state of a document in QuickBooks as last written."""

    ACTIVE = "active"
    VOIDED = "voided"
    DELETED = "deleted"


@dataclass(frozen=True)
class LedgerEntry:
    """One document K-Connector wrote (or adopted) in one company."""

    realm_id: str
    external_id: str
    entity: str
    qbo_id: str
    sync_token: str
    body_hash: str
    status: LedgerStatus
    request_id: str | None = None
    snapshot: dict[str, Any] | None = None
    source_updated_at: str | None = None
    # Since schema 0002 (None in rows an older version wrote): the resolved body last pushed
    # (the three-way merge's base) and the totals the store expects.
    pushed_body: dict[str, Any] | None = None
    expected_total: Decimal | None = None
    expected_tax: Decimal | None = None
    currency: str | None = None
    # Since schema 0004: the store's own figures of the document's order or refund (the mapped
    # record's `source` block, verbatim), for the source-side reconciliation.
    source_facts: dict[str, Any] | None = None


# The columns an upsert writes besides the key.
_VALUE_COLUMNS = (
    "entity",
    "qbo_id",
    "sync_token",
    "body_hash",
    "status",
    "request_id",
    "snapshot",
    "source_updated_at",
    "updated_at",
    "pushed_body",
    "expected_total",
    "expected_tax",
    "currency",
    "source_facts",
)
# One UPDATE for many entries (executemany); parameters named apart from the columns.
_UPDATE = (
    sa.update(ledger)
    .where(
        ledger.c.realm_id == sa.bindparam("key_realm"),
        ledger.c.external_id == sa.bindparam("key_external_id"),
    )
    .values(
        {
            column: sa.bindparam(f"new_{column}", type_=ledger.c[column].type)
            for column in _VALUE_COLUMNS
        }
    )
)


def _row_values(entry: LedgerEntry, now: datetime) -> dict[str, Any]:
    """The row's columns besides the key, as `put_many` writes them."""
    return {
        "entity": entry.entity,
        "qbo_id": entry.qbo_id,
        "sync_token": entry.sync_token,
        "body_hash": entry.body_hash,
        "status": entry.status.value,
        "request_id": entry.request_id,
        "snapshot": entry.snapshot,
        "source_updated_at": entry.source_updated_at,
        "updated_at": now,
        "pushed_body": entry.pushed_body,
        "expected_total": _text(entry.expected_total),
        "expected_tax": _text(entry.expected_tax),
        "currency": entry.currency,
        "source_facts": entry.source_facts,
    }


class Ledger:
    """Reads and upserts ledger rows."""

    def __init__(self, engine: Engine, lock: threading.RLock) -> None:
        """Bind to the store's engine and write lock."""
        self._engine = engine
        self._lock = lock

    def get(self, realm_id: str, external_id: str) -> LedgerEntry | None:
        """The entry for one document, if any."""
        return self.get_many(realm_id, [external_id]).get(external_id)

    def get_many(self, realm_id: str, external_ids: Iterable[str]) -> dict[str, LedgerEntry]:
        """Entries for several documents, by external_id."""
        wanted = sorted(set(external_ids))
        found: dict[str, LedgerEntry] = {}
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = connection.execute(
                    sa.select(ledger).where(
                        ledger.c.realm_id == realm_id, ledger.c.external_id.in_(chunk)
                    )
                ).mappings()
                for row in rows:
                    found[row["external_id"]] = _entry(row)
        return found

    def live_ids(self, realm_id: str, external_ids: Iterable[str]) -> set[str]:
        """Which of these documents the ledger knows as live in QuickBooks (not deleted).

        Reads two short columns only: the engine asks it of every queued document per wave.
        """
        wanted = sorted(set(external_ids))
        live: set[str] = set()
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = connection.execute(
                    sa.select(ledger.c.external_id, ledger.c.status).where(
                        ledger.c.realm_id == realm_id, ledger.c.external_id.in_(chunk)
                    )
                )
                live.update(
                    str(external_id)
                    for external_id, status in rows
                    if status != LedgerStatus.DELETED.value
                )
        return live

    def order_documents(
        self, realm_id: str, order_ids: Iterable[str], *, brief: bool = False
    ) -> list[LedgerEntry]:
        """Every entry of some orders (external_id `<order id>#<role>`), for the guards.

        Args:
            realm_id: the company.
            order_ids: the orders.
            brief: leave out the snapshot and the pushed body (None in the entries): the
                guards read neither, and decoding them was most of a rerun's ledger time. The
                source facts stay: the refund guard takes what an order's customer paid from
                them (without them it fell back to the Payments written so far, none yet for
                an Invoice whose Payment shares the refund's wave).
        """
        columns = [c for c in ledger.c if not (brief and c.name in _DOCUMENT_COLUMNS)]
        orders = sorted(set(order_ids))
        found: list[LedgerEntry] = []
        with self._engine.connect() as connection:
            # A wave's orders in a few queries (each prefix a range on the key), not one each:
            # a query per order was most of a rerun's ledger time.
            for start in range(0, len(orders), _ORDERS_PER_QUERY):
                prefixes = [
                    self._starts_with(f"{order_id}#")
                    for order_id in orders[start : start + _ORDERS_PER_QUERY]
                ]
                rows = connection.execute(
                    sa.select(*columns).where(ledger.c.realm_id == realm_id, sa.or_(*prefixes))
                ).mappings()
                found.extend(_entry(row) for row in rows)
        return sorted(found, key=lambda entry: entry.external_id)

    def _starts_with(self, prefix: str) -> sa.ColumnElement[bool]:
        """external_id starts with `prefix`, on the primary key's index where the database can.

        SQLite compares text byte by byte (its BINARY collation), so a range on the key is the
        same set as the prefix and uses the index; a ``LIKE ... ESCAPE`` scans the whole table
        (a query per order became slow as the ledger grew). Elsewhere (PostgreSQL with a
        language collation orders text otherwise) the ``LIKE`` stays.
        """
        if self._engine.dialect.name == "sqlite":
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            return sa.and_(ledger.c.external_id >= prefix, ledger.c.external_id < upper)
        return ledger.c.external_id.startswith(prefix, autoescape=True)

    def documents(self, realm_id: str, entities: Iterable[str] | None = None) -> list[LedgerEntry]:
        """Every entry of a company (optionally of some entities), by external_id."""
        query = sa.select(ledger).where(ledger.c.realm_id == realm_id)
        if entities is not None:
            query = query.where(ledger.c.entity.in_(sorted(set(entities))))
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(ledger.c.external_id)).mappings()
            return [_entry(row) for row in rows]

    def counts(self, realm_id: str) -> dict[tuple[str, str], int]:
        """How many documents per (entity, status)."""
        query = (
            sa.select(ledger.c.entity, ledger.c.status, sa.func.count())
            .where(ledger.c.realm_id == realm_id)
            .group_by(ledger.c.entity, ledger.c.status)
        )
        with self._engine.connect() as connection:
            return {(str(r[0]), str(r[1])): int(r[2]) for r in connection.execute(query)}

    def document_counts(self, realm_id: str) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (entity, status): (records, documents).

        Records are the mapped external ids the ledger holds (an order's ``#customer`` alias
        left out: it names a customer another record already wrote); documents are the
        distinct QuickBooks Ids they point to, i.e. what QuickBooks holds. Many store customers
        (one per order for guests, or the same person under several records) share one
        QuickBooks customer, so the two differ.
        """
        query = (
            sa.select(
                ledger.c.entity,
                ledger.c.status,
                sa.func.count(),
                sa.func.count(sa.distinct(ledger.c.qbo_id)),
            )
            .where(ledger.c.realm_id == realm_id, ledger.c.body_hash != ALIAS_BODY_HASH)
            .group_by(ledger.c.entity, ledger.c.status)
        )
        with self._engine.connect() as connection:
            return {
                (str(r[0]), str(r[1])): (int(r[2]), int(r[3])) for r in connection.execute(query)
            }

    def put_many(self, entries: Iterable[LedgerEntry]) -> None:
        """Insert or replace entries, in one transaction (the last entry of a document wins).

        One statement per kind (update, insert) with many parameter sets: the engine records
        a batch request's 30 outcomes at once, and a statement built per entry cost more CPU
        than the database's own work.
        """
        latest = {(entry.realm_id, entry.external_id): entry for entry in entries}
        if not latest:
            return
        now = datetime.now(UTC)
        with self._lock, self._engine.begin() as connection:
            known = self._known_keys(connection, latest)
            updates: list[dict[str, Any]] = []
            inserts: list[dict[str, Any]] = []
            for key, entry in latest.items():
                values = _row_values(entry, now)
                if key in known:
                    updates.append(
                        {"key_realm": entry.realm_id, "key_external_id": entry.external_id}
                        | {f"new_{column}": value for column, value in values.items()}
                    )
                else:
                    inserts.append(
                        {"realm_id": entry.realm_id, "external_id": entry.external_id} | values
                    )
            if updates:
                connection.execute(_UPDATE, updates)
            if inserts:
                connection.execute(sa.insert(ledger), inserts)

    @staticmethod
    def _known_keys(
        connection: sa.Connection, wanted: Mapping[tuple[str, str], LedgerEntry]
    ) -> set[tuple[str, str]]:
        """Which (realm_id, external_id) pairs already have a row."""
        by_realm: dict[str, list[str]] = {}
        for realm_id, external_id in wanted:
            by_realm.setdefault(realm_id, []).append(external_id)
        known: set[tuple[str, str]] = set()
        for realm_id, external_ids in by_realm.items():
            for start in range(0, len(external_ids), 500):
                chunk = external_ids[start : start + 500]
                rows = connection.execute(
                    sa.select(ledger.c.external_id).where(
                        ledger.c.realm_id == realm_id, ledger.c.external_id.in_(chunk)
                    )
                )
                known.update((realm_id, str(row[0])) for row in rows)
        return known

    def bump_sync_tokens(self, realm_id: str, documents: Iterable[tuple[str, str]]) -> None:
        """Advance the SyncToken of documents QuickBooks changed as a side effect of our writes.

        Args:
            realm_id: the company.
            documents: (entity, QuickBooks Id) once per change, e.g. an Invoice once per
                Payment line applied to it.
        """
        changes = Counter(documents)
        if not changes:
            return
        with self._lock, self._engine.begin() as connection:
            for (entity, qbo_id), times in sorted(changes.items()):
                rows = connection.execute(
                    sa.select(ledger.c.external_id, ledger.c.sync_token, ledger.c.snapshot).where(
                        ledger.c.realm_id == realm_id,
                        ledger.c.entity == entity,
                        ledger.c.qbo_id == qbo_id,
                        ledger.c.body_hash != ALIAS_BODY_HASH,
                    )
                ).all()
                for external_id, sync_token, snapshot in rows:
                    if not str(sync_token).isdigit():
                        continue
                    token = str(int(sync_token) + times)
                    values: dict[str, Any] = {"sync_token": token}
                    if isinstance(snapshot, dict):
                        values["snapshot"] = {**snapshot, "SyncToken": token}
                    connection.execute(
                        sa.update(ledger)
                        .where(ledger.c.realm_id == realm_id, ledger.c.external_id == external_id)
                        .values(**values)
                    )

    def count(self, realm_id: str) -> int:
        """How many documents the ledger holds for a company."""
        with self._engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(ledger)
                    .where(ledger.c.realm_id == realm_id)
                ).scalar_one()
            )


# Orders per guard query: two bound parameters each, well within SQLite's oldest default of
# 999 per statement (https://www.sqlite.org/limits.html, SQLITE_MAX_VARIABLE_NUMBER).
_ORDERS_PER_QUERY = 200
# The JSON columns a brief read leaves out (`Ledger.order_documents`); never `source_facts`,
# which the refund guard reads (refund_guard.order_money).
_DOCUMENT_COLUMNS = frozenset({"snapshot", "pushed_body"})


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _amount(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _entry(row: RowMapping) -> LedgerEntry:
    return LedgerEntry(
        realm_id=row["realm_id"],
        external_id=row["external_id"],
        entity=row["entity"],
        qbo_id=row["qbo_id"],
        sync_token=row["sync_token"],
        body_hash=row["body_hash"],
        status=LedgerStatus(row["status"]),
        request_id=row["request_id"],
        snapshot=row.get("snapshot"),
        source_updated_at=row["source_updated_at"],
        pushed_body=row.get("pushed_body"),
        expected_total=_amount(row["expected_total"]),
        expected_tax=_amount(row["expected_tax"]),
        currency=row["currency"],
        source_facts=row.get("source_facts"),
    )
