"""The ledger: external_id -> QuickBooks entity, Id, SyncToken, last pushed body hash, snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from target_quickbooks.store.schema import ledger

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterable

    from sqlalchemy.engine import Engine


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
                    found[row["external_id"]] = LedgerEntry(
                        realm_id=row["realm_id"],
                        external_id=row["external_id"],
                        entity=row["entity"],
                        qbo_id=row["qbo_id"],
                        sync_token=row["sync_token"],
                        body_hash=row["body_hash"],
                        status=LedgerStatus(row["status"]),
                        request_id=row["request_id"],
                        snapshot=row["snapshot"],
                        source_updated_at=row["source_updated_at"],
                    )
        return found

    def put_many(self, entries: Iterable[LedgerEntry]) -> None:
        """Insert or replace entries, in one transaction."""
        entries = list(entries)
        if not entries:
            return
        now = datetime.now(UTC)
        with self._lock, self._engine.begin() as connection:
            for entry in entries:
                values = {
                    "entity": entry.entity,
                    "qbo_id": entry.qbo_id,
                    "sync_token": entry.sync_token,
                    "body_hash": entry.body_hash,
                    "status": entry.status.value,
                    "request_id": entry.request_id,
                    "snapshot": entry.snapshot,
                    "source_updated_at": entry.source_updated_at,
                    "updated_at": now,
                }
                updated = connection.execute(
                    sa.update(ledger)
                    .where(
                        ledger.c.realm_id == entry.realm_id,
                        ledger.c.external_id == entry.external_id,
                    )
                    .values(**values)
                )
                if updated.rowcount == 0:
                    connection.execute(
                        sa.insert(ledger).values(
                            realm_id=entry.realm_id, external_id=entry.external_id, **values
                        )
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
