"""The append-only audit log: one row per operation, with before/after snapshots.

Append-only twice over: this API has no way to change or remove a row (`update` and `delete`
exist only to refuse, so a caller gets a clear error instead of an AttributeError), and since
schema 0002 database triggers refuse UPDATE and DELETE on the table (SQLite and PostgreSQL).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from target_quickbooks.store.schema import audit_log

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterable

    from sqlalchemy.engine import Engine


_WRITE_OPERATIONS = ("create", "update", "void", "delete")
# The JSON columns of a row (left out of the insert when both are empty).
_SNAPSHOTS = frozenset({"before", "after"})


@dataclass(frozen=True)
class AuditEntry:
    """One operation and its outcome (no secrets; snapshots are QuickBooks documents)."""

    realm_id: str
    operation: str
    outcome: str
    external_id: str | None = None
    entity: str | None = None
    qbo_id: str | None = None
    request_id: str | None = None
    intuit_tid: str | None = None
    error_class: str | None = None
    error_code: str | None = None
    message: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))


class AppendOnlyError(RuntimeError):
    """An attempt to change or remove an audit row."""


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to read (every field optional; combined with AND)."""

    external_id: str | None = None
    outcome: str | None = None
    operation: str | None = None
    entity: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None


class AuditLog:
    """Appends audit rows; never updates or deletes them."""

    def __init__(self, engine: Engine, lock: threading.RLock) -> None:
        """Bind to the store's engine and write lock."""
        self._engine = engine
        self._lock = lock

    def append(self, entries: Iterable[AuditEntry]) -> None:
        """Append entries in one transaction.

        Rows without snapshots leave the JSON columns out of the insert (NULL by default):
        most rows of a rerun have none, and encoding two JSON nulls per row was most of the
        cost of writing them.
        """
        rows = [
            {
                "ts": e.ts,
                "realm_id": e.realm_id,
                "external_id": e.external_id,
                "entity": e.entity,
                "qbo_id": e.qbo_id,
                "operation": e.operation,
                "request_id": e.request_id,
                "intuit_tid": e.intuit_tid,
                "outcome": e.outcome,
                "error_class": e.error_class,
                "error_code": e.error_code,
                "message": e.message,
                "before": e.before,
                "after": e.after,
            }
            for e in entries
        ]
        if not rows:
            return
        with self._lock, self._engine.begin() as connection:
            # Consecutive rows of one kind together: the rows keep their order (their ids).
            for brief, group in itertools.groupby(
                rows, key=lambda row: row["before"] is None and row["after"] is None
            ):
                batch = list(group)
                if brief:
                    batch = [{k: v for k, v in r.items() if k not in _SNAPSHOTS} for r in batch]
                connection.execute(sa.insert(audit_log), batch)

    def refusals(self, realm_id: str, external_ids: Iterable[str]) -> dict[str, int]:
        """How many writes of each document QuickBooks definitively refused (nothing written).

        Counted from rows of write operations whose outcome is a data dead letter or a
        conflict; a transient failure may have been committed and is never counted.
        """
        ids = sorted(set(external_ids))
        counts: dict[str, int] = {}
        if not ids:
            return counts
        with self._engine.connect() as connection:
            for start in range(0, len(ids), 500):
                rows = connection.execute(
                    sa.select(audit_log.c.external_id, sa.func.count())
                    .where(
                        audit_log.c.realm_id == realm_id,
                        audit_log.c.external_id.in_(ids[start : start + 500]),
                        audit_log.c.operation.in_(_WRITE_OPERATIONS),
                        audit_log.c.outcome.in_(("dead_letter", "conflict")),
                        audit_log.c.error_class.in_(("data", "conflict")),
                    )
                    .group_by(audit_log.c.external_id)
                )
                counts.update({str(row[0]): int(row[1]) for row in rows})
        return counts

    def entries(self, realm_id: str, external_id: str | None = None) -> list[dict[str, Any]]:
        """Rows of a company (optionally of one document), oldest first."""
        return self.query(realm_id, AuditFilter(external_id=external_id))

    def query(self, realm_id: str, where: AuditFilter) -> list[dict[str, Any]]:
        """Rows of a company matching `where`, oldest first (the newest `limit` when set)."""
        query = sa.select(audit_log).where(audit_log.c.realm_id == realm_id)
        for column, value in (
            (audit_log.c.external_id, where.external_id),
            (audit_log.c.outcome, where.outcome),
            (audit_log.c.operation, where.operation),
            (audit_log.c.entity, where.entity),
        ):
            if value is not None:
                query = query.where(column == value)
        if where.since is not None:
            query = query.where(audit_log.c.ts >= where.since.astimezone(UTC))
        if where.until is not None:
            query = query.where(audit_log.c.ts < where.until.astimezone(UTC))
        query = query.order_by(audit_log.c.id.desc())
        if where.limit is not None:
            query = query.limit(where.limit)
        with self._engine.connect() as connection:
            rows = [_aware_row(dict(row)) for row in connection.execute(query).mappings()]
        return rows[::-1]

    def outcome_counts(
        self, realm_id: str, since: datetime | None = None
    ) -> dict[tuple[str, str], int]:
        """How many rows per (entity, outcome), optionally since a moment."""
        query = sa.select(audit_log.c.entity, audit_log.c.outcome, sa.func.count()).where(
            audit_log.c.realm_id == realm_id
        )
        if since is not None:
            query = query.where(audit_log.c.ts >= since.astimezone(UTC))
        query = query.group_by(audit_log.c.entity, audit_log.c.outcome)
        with self._engine.connect() as connection:
            return {(str(r[0] or "-"), str(r[1])): int(r[2]) for r in connection.execute(query)}

    def last_at(self, realm_id: str) -> datetime | None:
        """When the newest row of a company was written."""
        with self._engine.connect() as connection:
            value = connection.execute(
                sa.select(sa.func.max(audit_log.c.ts)).where(audit_log.c.realm_id == realm_id)
            ).scalar_one()
        return _aware(value)

    def update(self, *_args: object, **_kwargs: object) -> None:
        """Refuse: the audit log is append-only.

        Raises:
            AppendOnlyError: always.
        """
        msg = "the audit log is append-only: rows are never updated"
        raise AppendOnlyError(msg)

    def delete(self, *_args: object, **_kwargs: object) -> None:
        """Refuse: the audit log is append-only.

        Raises:
            AppendOnlyError: always.
        """
        msg = "the audit log is append-only: rows are never deleted"
        raise AppendOnlyError(msg)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _aware_row(row: dict[str, Any]) -> dict[str, Any]:
    row["ts"] = _aware(row["ts"])
    return row
