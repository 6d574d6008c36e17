"""The durable webhook event queue, in the target's store (same `database_url`).

The receiver appends one row per verified delivery before it answers 200; a dispatcher (the
`serve` command's own loop, or the Dagster sensor in kconnector_orchestrate) reads `pending()`,
claims a due store's queued events for one run (`claim`), and marks them done or back to queued
when the run ends (`finish`). Events that arrive while a run holds its claim stay queued and make
exactly one follow-up run.

A row holds no payload, only what the run needs (the store, the topic, the resource id, the
event's time): the run re-reads the order from the store's API, so the queue never holds the
customer's data.

The store key names the source: `"<platform>:<host>"` (`"shopify:demo.myshopify.com"`,
`"woocommerce:shop.example.com"`), or `"quickbooks:<realm id>"` for QuickBooks events.

The queue has its own tables and its own alembic version table
(`kconnector_realtime_alembic_version`), applied when it is opened, so the target's migrations
and these never step on each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from target_quickbooks.store.database import create_engine

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine

MIGRATIONS: Final = Path(__file__).parent / "migrations"
VERSION_TABLE: Final = "kconnector_realtime_alembic_version"
PLATFORMS: Final = frozenset({"shopify", "woocommerce", "quickbooks"})

QUEUED: Final = "queued"
CLAIMED: Final = "claimed"
DONE: Final = "done"
# Kept for the record only, never dispatched (Shopify's compliance requests).
RECORDED: Final = "recorded"

# The longest a vendor keeps retrying a delivery (Shopify: 48 hours); an event time further in the
# past than this is taken for a clock that disagrees with ours.
_MAX_SKEW: Final = timedelta(hours=48)
# How many recent deliveries the lag figures in `stats()` look at.
_LAG_SAMPLE: Final = 500
# Serialises this package's migrations on one PostgreSQL database (not the target's key).
_MIGRATION_KEY: Final = int.from_bytes(
    hashlib.sha256(b"k-connector/realtime/migrations").digest()[:8], "big", signed=True
)

_metadata = sa.MetaData()
events = sa.Table(
    "realtime_events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("store_key", sa.String(300), nullable=False),
    sa.Column("dedupe_key", sa.String(200), nullable=False),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("resource_id", sa.String(100), nullable=True),
    sa.Column("webhook_id", sa.String(200), nullable=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("run_key", sa.String(200), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("store_key", "dedupe_key", name="uq_realtime_events_delivery"),
)


class StoreKeyError(ValueError):
    """A store key that is not `<platform>:<host or realm id>`."""


def store_key(platform: str, host: str) -> str:
    """The queue's key for one store (or one QuickBooks company).

    Args:
        platform: "shopify", "woocommerce" or "quickbooks".
        host: the store's host (`demo.myshopify.com`), or the QuickBooks realm id.

    Raises:
        StoreKeyError: an unknown platform or an empty host.
    """
    host = host.strip().lower()
    if platform not in PLATFORMS:
        msg = f"store key: platform {platform!r} is not one of {sorted(PLATFORMS)}"
        raise StoreKeyError(msg)
    if not host or ":" in host or "/" in host:
        msg = f"store key: host {host!r} must be a bare host name (no scheme, port or path)"
        raise StoreKeyError(msg)
    return f"{platform}:{host}"


def split_store_key(key: str) -> tuple[str, str]:
    """`(platform, host)` of a store key.

    Raises:
        StoreKeyError: the key is not `<platform>:<host>`.
    """
    platform, _, host = key.partition(":")
    store_key(platform, host)  # validates
    return platform, host


def utc_now() -> datetime:
    """The wall clock, UTC: the default clock, injected everywhere else."""
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        msg = "the queue takes timezone-aware datetimes only (UTC inside)"
        raise ValueError(msg)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class PendingStore:
    """A store with queued, unclaimed events: what a dispatcher decides on."""

    store_key: str
    events: int
    first_received_at: datetime
    last_received_at: datetime

    def due(self, now: datetime, debounce: timedelta, max_delay: timedelta) -> bool:
        """Whether the store's run should start now.

        Quiet for `debounce` since its last event, or its oldest event waited `max_delay`
        (a steady stream of events never postpones the run for ever).
        """
        return now - self.last_received_at >= debounce or now - self.first_received_at >= max_delay


@dataclass(frozen=True)
class QueuedEvent:
    """One stored delivery (no payload)."""

    store_key: str
    dedupe_key: str
    topic: str
    resource_id: str | None
    webhook_id: str | None
    occurred_at: datetime | None
    received_at: datetime
    attempts: int


@contextlib.contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database>.realtime.lock` while migrating (processes start at once)."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    path = Path(f"{Path(database).expanduser()}.realtime.lock")
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the queue's tables to `revision` (idempotent; runs whenever the queue is opened)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    is_sqlite = engine.dialect.name == "sqlite"
    with (
        _sqlite_migration_lock(engine) if is_sqlite else contextlib.nullcontext(),
        engine.begin() as connection,
    ):
        if engine.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


class EventQueue:
    """Verified webhook deliveries waiting for (or claimed by) a run of their store's job."""

    def __init__(self, database_url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        """Open the queue in the target's database and migrate its tables.

        Args:
            database_url: the target-quickbooks `database_url` (SQLite file or PostgreSQL).
            clock: the current time, UTC (injected in tests).
        """
        self._clock = clock
        self.engine = create_engine(database_url)
        upgrade(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def _now(self) -> datetime:
        return _utc(self._clock())

    def append(  # noqa: PLR0913 - one delivery's fields, keyword-only
        self,
        *,
        store_key: str,
        dedupe_key: str,
        topic: str,
        resource_id: str | None = None,
        webhook_id: str | None = None,
        occurred_at: datetime | None = None,
        dispatch: bool = True,
    ) -> bool:
        """Store one verified delivery durably (committed when this returns).

        Args:
            store_key: the store (`shopify:demo.myshopify.com`) or company (`quickbooks:<realm>`).
            dedupe_key: what makes two deliveries the same one (Shopify's event id, WooCommerce's
                delivery id with a digest of the body, the CloudEvent's id).
            topic: the vendor's topic or event type (`orders/create`).
            resource_id: the order, refund or entity the event is about, when it says so.
            webhook_id: the vendor's subscription or delivery id, kept for the operator.
            occurred_at: when the vendor says the change happened (the lag's start).
            dispatch: False to keep the delivery on record without ever running a job for it
                (a compliance request).

        Returns:
            True when stored, False when that delivery was stored already (a duplicate: counted,
            nothing else).
        """
        split_store_key(store_key)
        now = self._now()
        row = {
            "store_key": store_key,
            "dedupe_key": dedupe_key[:200],
            "topic": topic[:100],
            "resource_id": resource_id[:100] if resource_id else None,
            "webhook_id": webhook_id[:200] if webhook_id else None,
            "occurred_at": _utc(occurred_at) if occurred_at else None,
            "received_at": now,
            "status": QUEUED if dispatch else RECORDED,
            "attempts": 0,
            "duplicates": 0,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(events.insert().values(**row))
        except sa.exc.IntegrityError:
            with self.engine.begin() as connection:
                counted = connection.execute(
                    events.update()
                    .where(
                        events.c.store_key == store_key,
                        events.c.dedupe_key == row["dedupe_key"],
                    )
                    .values(duplicates=events.c.duplicates + 1)
                ).rowcount
            if not counted:  # the unique key did not clash: a real failure
                raise
            return False
        return True

    def pending(self) -> list[PendingStore]:
        """The stores with queued, unclaimed events, oldest first."""
        query = (
            sa.select(
                events.c.store_key,
                sa.func.count().label("events"),
                sa.func.min(events.c.received_at).label("first"),
                sa.func.max(events.c.received_at).label("last"),
            )
            .where(events.c.status == QUEUED)
            .group_by(events.c.store_key)
            .order_by(sa.func.min(events.c.received_at), events.c.store_key)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            PendingStore(
                store_key=row.store_key,
                events=int(row.events),
                first_received_at=_aware(row.first),
                last_received_at=_aware(row.last),
            )
            for row in rows
        ]

    def claim(self, store_key: str, run_key: str) -> int:
        """Claim the store's queued events for the run `run_key` (one atomic statement).

        Events appended afterwards stay queued: they make the follow-up run.

        Returns:
            How many events the run claimed (0: nothing to run).
        """
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    events.update()
                    .where(events.c.store_key == store_key, events.c.status == QUEUED)
                    .values(status=CLAIMED, run_key=run_key[:200], claimed_at=self._now())
                ).rowcount
            )

    def claimed(self, run_key: str) -> list[QueuedEvent]:
        """The events a run claimed, oldest first (its window and the entities it checks)."""
        query = (
            sa.select(events)
            .where(events.c.run_key == run_key[:200], events.c.status == CLAIMED)
            .order_by(events.c.id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            QueuedEvent(
                store_key=row.store_key,
                dedupe_key=row.dedupe_key,
                topic=row.topic,
                resource_id=row.resource_id,
                webhook_id=row.webhook_id,
                occurred_at=_aware(row.occurred_at) if row.occurred_at else None,
                received_at=_aware(row.received_at),
                attempts=int(row.attempts),
            )
            for row in rows
        ]

    def finish(self, run_key: str, *, succeeded: bool) -> None:
        """End the run `run_key`: its events are done, or back to queued when it failed."""
        claimed_by_run = (events.c.run_key == run_key[:200]) & (events.c.status == CLAIMED)
        if succeeded:
            values: dict[str, object] = {"status": DONE, "finished_at": self._now()}
        else:
            values = {
                "status": QUEUED,
                "run_key": None,
                "claimed_at": None,
                "attempts": events.c.attempts + 1,
            }
        with self.engine.begin() as connection:
            connection.execute(events.update().where(claimed_by_run).values(**values))

    def requeue_claimed(self, *, claimed_before: datetime) -> int:
        """Put back to queued the events of runs that claimed them before `claimed_before`.

        For a dispatcher that died mid-run (SIGKILL): its claims would never finish. Call it
        with a cutoff older than the longest run.

        Returns:
            How many events went back to the queue.
        """
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    events.update()
                    .where(
                        events.c.status == CLAIMED,
                        events.c.claimed_at < _utc(claimed_before),
                    )
                    .values(status=QUEUED, run_key=None, claimed_at=None)
                ).rowcount
            )

    def prune(self, *, finished_before: datetime) -> int:
        """Delete done events finished before the cutoff.

        Keep them longer than the vendors retry a delivery (Shopify: up to 48 hours in the
        past, WooCommerce: 5 attempts), or a late retry would run again (harmless, not free).

        Returns:
            How many rows were deleted.
        """
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    events.delete().where(
                        events.c.status == DONE, events.c.finished_at < _utc(finished_before)
                    )
                ).rowcount
            )

    def stats(self) -> dict[str, int]:
        """Counters for /healthz and metrics.

        Keys: `events` (stored deliveries), `queued`, `claimed`, `done`, `recorded` (kept for the
        record, never run), `duplicate` (deliveries
        refused as already stored), `failed_attempts` (runs that failed and put events back),
        `lag_last_ms` and `lag_p95_ms` (event time, or receipt, to delivery, over the recent
        done events; 0 when none).
        """
        by_status = sa.select(events.c.status, sa.func.count()).group_by(events.c.status)
        totals = sa.select(
            sa.func.coalesce(sa.func.sum(events.c.duplicates), 0),
            sa.func.coalesce(sa.func.sum(events.c.attempts), 0),
        )
        recent = (
            sa.select(events.c.occurred_at, events.c.received_at, events.c.finished_at)
            .where(events.c.status == DONE)
            .order_by(events.c.finished_at.desc(), events.c.id.desc())
            .limit(_LAG_SAMPLE)
        )
        with self.engine.connect() as connection:
            counts = {str(status): int(count) for status, count in connection.execute(by_status)}
            duplicates, attempts = connection.execute(totals).one()
            lags = [
                _lag_ms(row.occurred_at, row.received_at, row.finished_at)
                for row in connection.execute(recent)
            ]
        return {
            "events": sum(counts.values()),
            "queued": counts.get(QUEUED, 0),
            "claimed": counts.get(CLAIMED, 0),
            "done": counts.get(DONE, 0),
            "recorded": counts.get(RECORDED, 0),
            "duplicate": int(duplicates),
            "failed_attempts": int(attempts),
            "lag_last_ms": lags[0] if lags else 0,
            "lag_p95_ms": _percentile(lags, 95),
        }


def _lag_ms(occurred_at: datetime | None, received_at: datetime, finished_at: datetime) -> int:
    """Event (or receipt) to delivery, in milliseconds.

    The vendor's event time counts only when it is plausible on this clock: before the receipt,
    by no more than the vendors retry a delivery. A store whose clock disagrees with ours (a
    sandbox shop living in another month, a misconfigured server) is measured from the receipt.
    """
    received = _aware(received_at)
    start = received
    if occurred_at is not None and timedelta(0) <= received - _aware(occurred_at) <= _MAX_SKEW:
        start = _aware(occurred_at)
    return max(0, int((_aware(finished_at) - start).total_seconds() * 1000))


def _percentile(values: list[int], percent: int) -> int:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))  # ceil without floats
    return ordered[rank - 1]
