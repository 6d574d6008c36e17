"""Dead letters: records that could not be delivered, with their class, code and guidance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from target_quickbooks.store.schema import dead_letters

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterable

    from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class DeadLetter:
    """A record that was not delivered, and what the user does about it."""

    realm_id: str
    external_id: str
    stream: str
    error_class: str
    error_code: str
    message: str
    guidance: str
    field: str | None = None
    record: dict[str, Any] | None = None


class DeadLetters:
    """Records dead letters (one open row per realm, external_id and stream) and resolves them."""

    def __init__(self, engine: Engine, lock: threading.RLock) -> None:
        """Bind to the store's engine and write lock."""
        self._engine = engine
        self._lock = lock

    def record(self, letters: Iterable[DeadLetter]) -> None:
        """Add dead letters, or bump `attempts` and refresh an open one for the same record."""
        letters = list(letters)
        if not letters:
            return
        now = datetime.now(UTC)
        with self._lock, self._engine.begin() as connection:
            for letter in letters:
                values = {
                    "error_class": letter.error_class,
                    "error_code": letter.error_code,
                    "field": letter.field,
                    "message": letter.message,
                    "guidance": letter.guidance,
                    "record": letter.record,
                    "updated_at": now,
                }
                updated = connection.execute(
                    sa.update(dead_letters)
                    .where(
                        dead_letters.c.realm_id == letter.realm_id,
                        dead_letters.c.external_id == letter.external_id,
                        dead_letters.c.stream == letter.stream,
                        dead_letters.c.resolved_at.is_(None),
                    )
                    .values(attempts=dead_letters.c.attempts + 1, **values)
                )
                if updated.rowcount == 0:
                    connection.execute(
                        sa.insert(dead_letters).values(
                            realm_id=letter.realm_id,
                            external_id=letter.external_id,
                            stream=letter.stream,
                            attempts=1,
                            created_at=now,
                            **values,
                        )
                    )

    def resolve(self, realm_id: str, external_ids: Iterable[str]) -> int:
        """Mark open dead letters of delivered documents resolved; returns how many."""
        ids = sorted(set(external_ids))
        if not ids:
            return 0
        resolved = 0
        with self._lock, self._engine.begin() as connection:
            for start in range(0, len(ids), 500):
                result = connection.execute(
                    sa.update(dead_letters)
                    .where(
                        dead_letters.c.realm_id == realm_id,
                        dead_letters.c.external_id.in_(ids[start : start + 500]),
                        dead_letters.c.resolved_at.is_(None),
                    )
                    .values(resolved_at=datetime.now(UTC))
                )
                resolved += result.rowcount
        return resolved

    def open_ids(self, realm_id: str, external_ids: Iterable[str]) -> set[str]:
        """Which of these documents have an unresolved dead letter."""
        ids = sorted(set(external_ids))
        found: set[str] = set()
        with self._engine.connect() as connection:
            for start in range(0, len(ids), 500):
                rows = connection.execute(
                    sa.select(dead_letters.c.external_id).where(
                        dead_letters.c.realm_id == realm_id,
                        dead_letters.c.external_id.in_(ids[start : start + 500]),
                        dead_letters.c.resolved_at.is_(None),
                    )
                )
                found.update(str(row[0]) for row in rows)
        return found

    def open_letters(self, realm_id: str) -> list[dict[str, Any]]:
        """Unresolved dead letters of a company, oldest first."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(dead_letters)
                .where(dead_letters.c.realm_id == realm_id, dead_letters.c.resolved_at.is_(None))
                .order_by(dead_letters.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    def get(self, realm_id: str, letter_id: int) -> dict[str, Any] | None:
        """One dead letter by id (open or resolved)."""
        with self._engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(dead_letters).where(
                        dead_letters.c.realm_id == realm_id, dead_letters.c.id == letter_id
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def open_count(self, realm_id: str) -> int:
        """How many dead letters wait for a fix."""
        with self._engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(dead_letters)
                    .where(
                        dead_letters.c.realm_id == realm_id, dead_letters.c.resolved_at.is_(None)
                    )
                ).scalar_one()
            )
