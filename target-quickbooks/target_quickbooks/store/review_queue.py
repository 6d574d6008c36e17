"""The review queue: conflicts K-Connector did not write, waiting for a person's decision.

One row per distinct case, keyed by the merge's fingerprint (`merge.fingerprint`): the same
conflict arriving again (a re-run, the same record replayed) bumps `sightings` instead of adding
a second item. A newer case for the same document supersedes the older open one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from target_quickbooks.store.schema import review_queue

if TYPE_CHECKING:
    import threading

    from sqlalchemy.engine import Engine


class ReviewStatus(StrEnum):
    """Where a review item stands."""

    OPEN = "open"
    RESOLVED = "resolved"
    SUPERSEDED = "superseded"  # a newer conflict of the same document replaced it


class Resolution(StrEnum):
    """How a person resolved a review item."""

    ACCEPT_STORE = "accept_store"  # write the store's version over QuickBooks'
    ACCEPT_QUICKBOOKS = "accept_quickbooks"  # keep QuickBooks' version; merge from it later
    EDITED = "edited"  # write a version the person edited


@dataclass(frozen=True)
class ReviewItem:
    """One conflict: the three versions, the diff and the record that produced it."""

    realm_id: str
    fingerprint: str
    external_id: str
    stream: str
    entity: str
    qbo_id: str
    conflict_fields: tuple[str, ...]
    diff: str
    base: dict[str, Any] | None
    theirs: dict[str, Any] | None
    ours: dict[str, Any] | None
    record: dict[str, Any] | None
    id: int | None = None
    status: ReviewStatus = ReviewStatus.OPEN
    sightings: int = 1
    resolution: str | None = None
    created_at: datetime | None = None
    resolved_at: datetime | None = None


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _item(row: Any) -> ReviewItem:  # noqa: ANN401 - a SQLAlchemy row mapping
    return ReviewItem(
        realm_id=row["realm_id"],
        fingerprint=row["fingerprint"],
        external_id=row["external_id"],
        stream=row["stream"],
        entity=row["entity"],
        qbo_id=row["qbo_id"],
        conflict_fields=tuple(f for f in str(row["conflict_fields"]).split(",") if f),
        diff=row["diff"],
        base=row["base"],
        theirs=row["theirs"],
        ours=row["ours"],
        record=row["record"],
        id=int(row["id"]),
        status=ReviewStatus(row["status"]),
        sightings=int(row["sightings"]),
        resolution=row["resolution"],
        created_at=_aware(row["created_at"]),
        resolved_at=_aware(row["resolved_at"]),
    )


class ReviewQueue:
    """Adds, lists and resolves review items."""

    def __init__(self, engine: Engine, lock: threading.RLock) -> None:
        """Bind to the store's engine and write lock."""
        self._engine = engine
        self._lock = lock

    def add(self, item: ReviewItem) -> tuple[int, bool]:
        """Queue a conflict once per fingerprint; returns (item id, whether it is new).

        An open item of the same document with another fingerprint is superseded. A case that
        was resolved and comes back with the same fingerprint is reopened.
        """
        now = datetime.now(UTC)
        table = review_queue
        with self._lock, self._engine.begin() as connection:
            existing = connection.execute(
                sa.select(table.c.id, table.c.status).where(
                    table.c.realm_id == item.realm_id, table.c.fingerprint == item.fingerprint
                )
            ).first()
            connection.execute(
                sa.update(table)
                .where(
                    table.c.realm_id == item.realm_id,
                    table.c.external_id == item.external_id,
                    table.c.fingerprint != item.fingerprint,
                    table.c.status == ReviewStatus.OPEN.value,
                )
                .values(status=ReviewStatus.SUPERSEDED.value, updated_at=now)
            )
            if existing is not None:
                connection.execute(
                    sa.update(table)
                    .where(table.c.id == existing[0])
                    .values(
                        sightings=table.c.sightings + 1,
                        status=ReviewStatus.OPEN.value,
                        resolution=None,
                        resolved_at=None,
                        updated_at=now,
                    )
                )
                return int(existing[0]), False
            result = connection.execute(
                sa.insert(table).values(
                    realm_id=item.realm_id,
                    fingerprint=item.fingerprint,
                    external_id=item.external_id,
                    stream=item.stream,
                    entity=item.entity,
                    qbo_id=item.qbo_id,
                    status=ReviewStatus.OPEN.value,
                    conflict_fields=",".join(item.conflict_fields),
                    diff=item.diff,
                    base=item.base,
                    theirs=item.theirs,
                    ours=item.ours,
                    record=item.record,
                    sightings=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            key = result.inserted_primary_key
            return int(key[0]) if key else 0, True

    def get(self, realm_id: str, item_id: int) -> ReviewItem | None:
        """One item by id."""
        with self._engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(review_queue).where(
                        review_queue.c.realm_id == realm_id, review_queue.c.id == item_id
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _item(row)

    def items(
        self, realm_id: str, status: ReviewStatus | None = ReviewStatus.OPEN
    ) -> list[ReviewItem]:
        """Items of a company (open ones by default), oldest first."""
        query = sa.select(review_queue).where(review_queue.c.realm_id == realm_id)
        if status is not None:
            query = query.where(review_queue.c.status == status.value)
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(review_queue.c.id)).mappings()
            return [_item(row) for row in rows]

    def open_count(self, realm_id: str) -> int:
        """How many items wait for a decision."""
        with self._engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(review_queue)
                    .where(
                        review_queue.c.realm_id == realm_id,
                        review_queue.c.status == ReviewStatus.OPEN.value,
                    )
                ).scalar_one()
            )

    def resolve(self, realm_id: str, item_id: int, resolution: Resolution) -> None:
        """Mark an item resolved with the decision taken."""
        now = datetime.now(UTC)
        with self._lock, self._engine.begin() as connection:
            connection.execute(
                sa.update(review_queue)
                .where(review_queue.c.realm_id == realm_id, review_queue.c.id == item_id)
                .values(
                    status=ReviewStatus.RESOLVED.value,
                    resolution=resolution.value,
                    resolved_at=now,
                    updated_at=now,
                )
            )
