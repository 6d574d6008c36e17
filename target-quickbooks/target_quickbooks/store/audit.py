"""The append-only audit log: one row per operation, with before/after snapshots."""

from __future__ import annotations

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


class AuditLog:
    """Appends audit rows; never updates or deletes them."""

    def __init__(self, engine: Engine, lock: threading.RLock) -> None:
        """Bind to the store's engine and write lock."""
        self._engine = engine
        self._lock = lock

    def append(self, entries: Iterable[AuditEntry]) -> None:
        """Append entries in one transaction."""
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
            connection.execute(sa.insert(audit_log), rows)

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
        query = sa.select(audit_log).where(audit_log.c.realm_id == realm_id)
        if external_id is not None:
            query = query.where(audit_log.c.external_id == external_id)
        with self._engine.connect() as connection:
            return [
                dict(row) for row in connection.execute(query.order_by(audit_log.c.id)).mappings()
            ]
