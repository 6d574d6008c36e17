"""Input lines the target settled, by a digest of the raw line (the fast path of a rerun).

A row says: this exact RECORD line (under these settings: the digest covers both, see
`input_screen`) was a valid document `external_id` of `entity`, with this operation, source time
and body hash, and the full path settled it (delivered, or needing no write). It caches what
parsing and validating the line found; whether the line still needs no write is decided each
time against the ledger (`SettledLines.matches` returns both sides).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from target_quickbooks.store.review_queue import ReviewStatus
from target_quickbooks.store.schema import dead_letters, ledger, review_queue, settled_lines

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterable

    from sqlalchemy.engine import Engine

# Digests per query: one bound parameter each, within SQLite's oldest default of 999 per
# statement (https://www.sqlite.org/limits.html, SQLITE_MAX_VARIABLE_NUMBER).
_DIGESTS_PER_QUERY = 500


@dataclass(frozen=True)
class SettledLine:
    """What the full path found in one input line (keyed by the line's digest)."""

    line_digest: str
    external_id: str
    stream: str
    entity: str
    operation: str
    source_updated_at: str | None
    body_hash: str
    # The run's settings fingerprint (`input_screen.fingerprint_id`; None from schema 0005).
    fingerprint: str | None = None


@dataclass(frozen=True)
class LineMatch:
    """A settled line and its document's ledger entry as they are now."""

    line: SettledLine
    ledger_body_hash: str
    ledger_source_updated_at: str | None
    qbo_id: str
    status: str


class SettledLines:
    """Reads and records settled lines of a company."""

    def __init__(self, engine: Engine, lock: threading.RLock) -> None:
        """Bind to the store's engine and write lock."""
        self._engine = engine
        self._lock = lock

    def record(self, realm_id: str, lines: Iterable[SettledLine]) -> None:
        """Remember settled lines (a digest already known is left as it is: same line)."""
        wanted = {line.line_digest: line for line in lines}
        if not wanted:
            return
        now = datetime.now(UTC)
        with self._lock, self._engine.begin() as connection:
            digests = sorted(wanted)
            known: set[str] = set()
            for start in range(0, len(digests), _DIGESTS_PER_QUERY):
                known.update(
                    str(row[0])
                    for row in connection.execute(
                        sa.select(settled_lines.c.line_digest).where(
                            settled_lines.c.realm_id == realm_id,
                            settled_lines.c.line_digest.in_(
                                digests[start : start + _DIGESTS_PER_QUERY]
                            ),
                        )
                    )
                )
            rows = [
                {
                    "realm_id": realm_id,
                    "line_digest": line.line_digest,
                    "external_id": line.external_id,
                    "stream": line.stream,
                    "entity": line.entity,
                    "operation": line.operation,
                    "source_updated_at": line.source_updated_at,
                    "body_hash": line.body_hash,
                    "fingerprint": line.fingerprint,
                    "created_at": now,
                }
                for digest, line in sorted(wanted.items())
                if digest not in known
            ]
            if rows:
                connection.execute(sa.insert(settled_lines), rows)

    def matches(self, realm_id: str, digests: Iterable[str]) -> dict[str, LineMatch]:
        """The settled lines among these digests whose document the ledger holds.

        Lines of a document with an open dead letter or an open review are left out: those take
        the full path (a retry, or the review's rules), whatever the ledger says.
        """
        wanted = sorted(set(digests))
        found: dict[str, LineMatch] = {}
        columns = [
            c for c in settled_lines.c if c.name not in {"realm_id", "created_at", "fingerprint"}
        ]
        query = sa.select(
            *columns,
            ledger.c.body_hash.label("ledger_body_hash"),
            ledger.c.source_updated_at.label("ledger_source_updated_at"),
            ledger.c.qbo_id,
            ledger.c.status,
        ).join(
            ledger,
            sa.and_(
                ledger.c.realm_id == settled_lines.c.realm_id,
                ledger.c.external_id == settled_lines.c.external_id,
            ),
        )
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), _DIGESTS_PER_QUERY):
                rows = connection.execute(
                    query.where(
                        settled_lines.c.realm_id == realm_id,
                        settled_lines.c.line_digest.in_(wanted[start : start + _DIGESTS_PER_QUERY]),
                    )
                ).mappings()
                for row in rows:
                    line = SettledLine(**{c.name: row[c.name] for c in columns})
                    found[line.line_digest] = LineMatch(
                        line,
                        ledger_body_hash=row["ledger_body_hash"],
                        ledger_source_updated_at=row["ledger_source_updated_at"],
                        qbo_id=row["qbo_id"],
                        status=row["status"],
                    )
            held = _held(connection, realm_id, {m.line.external_id for m in found.values()})
        return {d: m for d, m in found.items() if m.line.external_id not in held}

    def prune(self, realm_id: str, fingerprint: str) -> int:
        """Forget the lines a company settled under other settings (they never match again).

        Returns:
            How many rows were removed.
        """
        with self._lock, self._engine.begin() as connection:
            removed = connection.execute(
                sa.delete(settled_lines).where(
                    settled_lines.c.realm_id == realm_id,
                    sa.or_(
                        settled_lines.c.fingerprint.is_(None),
                        settled_lines.c.fingerprint != fingerprint,
                    ),
                )
            )
            return int(removed.rowcount or 0)

    def count(self, realm_id: str) -> int:
        """How many settled lines the store holds for a company."""
        with self._engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(settled_lines)
                    .where(settled_lines.c.realm_id == realm_id)
                ).scalar_one()
            )

    def forget(self, realm_id: str) -> int:
        """Forget every settled line of a company (the next run checks every record in full).

        Returns:
            How many rows were removed.
        """
        with self._lock, self._engine.begin() as connection:
            removed = connection.execute(
                sa.delete(settled_lines).where(settled_lines.c.realm_id == realm_id)
            )
            return int(removed.rowcount or 0)


def _held(connection: sa.Connection, realm_id: str, external_ids: set[str]) -> set[str]:
    """Which of these documents have an open dead letter or an open review."""
    ids = sorted(external_ids)
    held: set[str] = set()
    for start in range(0, len(ids), _DIGESTS_PER_QUERY):
        chunk = ids[start : start + _DIGESTS_PER_QUERY]
        held.update(
            str(row[0])
            for row in connection.execute(
                sa.select(dead_letters.c.external_id).where(
                    dead_letters.c.realm_id == realm_id,
                    dead_letters.c.external_id.in_(chunk),
                    dead_letters.c.resolved_at.is_(None),
                )
            )
        )
        held.update(
            str(row[0])
            for row in connection.execute(
                sa.select(review_queue.c.external_id).where(
                    review_queue.c.realm_id == realm_id,
                    review_queue.c.external_id.in_(chunk),
                    review_queue.c.status == ReviewStatus.OPEN.value,
                )
            )
        )
    return held
