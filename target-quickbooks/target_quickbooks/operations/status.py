"""`status`: the health of one company's sync, and the exit code a scheduler acts on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from target_quickbooks.store import Store


class Health(IntEnum):
    """Exit codes of `status` (and of the other commands when they fail)."""

    HEALTHY = 0  # nothing to do
    ATTENTION = 1  # open reviews or dead letters wait for a person
    SYSTEM = 2  # the sync cannot run (connection revoked, API unreachable...)


@dataclass(frozen=True)
class TokenState:
    """What is known of the QuickBooks connection (never a token value)."""

    stored: bool
    rotated_at: datetime | None
    access_expires_at: datetime | None
    check: str = "not checked"  # ok | revoked | unreachable | <error code> | not checked
    detail: str | None = None

    @property
    def healthy(self) -> bool:
        """Whether the connection works (or was not checked)."""
        return self.check in {"ok", "not checked"}


@dataclass(frozen=True)
class DocumentCount:
    """One type and status: store records in the ledger, and the QuickBooks documents they are."""

    records: int
    documents: int


@dataclass(frozen=True)
class Status:
    """A company's sync at a glance."""

    realm_id: str
    schema_revision: str | None
    last_activity: datetime | None
    documents: dict[tuple[str, str], DocumentCount]
    recent_outcomes: dict[tuple[str, str], int]
    recent_since: datetime
    open_reviews: int
    open_dead_letters: int
    token: TokenState
    problems: list[str] = field(default_factory=list)

    @property
    def health(self) -> Health:
        """The exit code: system problems first, then work waiting for a person."""
        if not self.token.healthy:
            return Health.SYSTEM
        if self.open_reviews or self.open_dead_letters:
            return Health.ATTENTION
        return Health.HEALTHY

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form for ``--json``."""
        return {
            "realm_id": self.realm_id,
            "health": self.health.name.lower(),
            "exit_code": int(self.health),
            "schema_revision": self.schema_revision,
            "last_activity": _iso(self.last_activity),
            # count: distinct QuickBooks Ids (what QuickBooks holds); records: ledger rows.
            "documents": [
                {
                    "entity": entity,
                    "status": status,
                    "count": count.documents,
                    "records": count.records,
                }
                for (entity, status), count in sorted(self.documents.items())
            ],
            "recent_outcomes": {
                "since": _iso(self.recent_since),
                "rows": [
                    {"entity": entity, "outcome": outcome, "count": count}
                    for (entity, outcome), count in sorted(self.recent_outcomes.items())
                ],
            },
            "open_reviews": self.open_reviews,
            "open_dead_letters": self.open_dead_letters,
            "token": {
                "stored": self.token.stored,
                "rotated_at": _iso(self.token.rotated_at),
                "access_expires_at": _iso(self.token.access_expires_at),
                "check": self.token.check,
                "detail": self.token.detail,
            },
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def read_status(
    store: Store,
    realm_id: str,
    *,
    now: datetime,
    schema_revision: str | None,
    token_check: tuple[str, str | None] | None = None,
) -> Status:
    """Collect the status of a company from its store (no network).

    Args:
        store: the target's store.
        realm_id: the company.
        now: the current time (recent outcomes cover the 24 hours before it).
        schema_revision: the store's alembic revision.
        token_check: the live connection check's (state, detail), if one was made.
    """
    since = now - timedelta(days=1)
    tokens = store.tokens.load(realm_id)
    check, detail = token_check or ("not checked", None)
    return Status(
        realm_id=realm_id,
        schema_revision=schema_revision,
        last_activity=store.audit.last_at(realm_id),
        documents={
            key: DocumentCount(records, documents)
            for key, (records, documents) in store.ledger.document_counts(realm_id).items()
        },
        recent_outcomes=store.audit.outcome_counts(realm_id, since),
        recent_since=since,
        open_reviews=store.reviews.open_count(realm_id),
        open_dead_letters=store.dead_letters.open_count(realm_id),
        token=TokenState(
            stored=tokens is not None,
            rotated_at=tokens.rotated_at if tokens else None,
            access_expires_at=tokens.expires_at if tokens else None,
            check=check,
            detail=detail,
        ),
    )
