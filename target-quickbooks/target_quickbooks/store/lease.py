"""One writer per QuickBooks company: an exclusive lease in the store, held for a whole run.

Two runs writing to one company at once both look for their documents before either created
them, and both create: QuickBooks ends with duplicates. The `requestid` does not prevent it
(a batch's requestid covers the whole batch, so two runs that group documents differently send
different ones). So a run takes the company's lease before its first lookup or write and holds it
to the end; a second run waits a bounded time (`writer_lease_wait_seconds`), then stops without
writing anything.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a 64-bit key derived from
  the realm id, held by a dedicated connection; the server releases it when the holder's session
  ends, crash included (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS).
  The `writer_leases` row beside it only names the holder for the waiting run's message.
- SQLite: the `writer_leases` row itself, taken by one atomic upsert that only replaces an
  expired row (https://www.sqlite.org/lang_upsert.html), renewed by a heartbeat thread and
  deleted at the end. A holder that died without deleting it is taken over when its row expires,
  or at once when it ran on this host and its process is gone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from target_quickbooks import error_catalog
from target_quickbooks.errors import SystemFaultError
from target_quickbooks.store.schema import writer_leases

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine

# A holder renews its row every HEARTBEAT; a row not renewed for TTL belongs to a dead holder.
DEFAULT_TTL = timedelta(seconds=60)
DEFAULT_HEARTBEAT = timedelta(seconds=10)
# How often a waiting run looks again.
POLL_SECONDS = 0.25
_ADVISORY_NAMESPACE = b"k-connector/target-quickbooks/writer-lease/"


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def advisory_key(realm_id: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock`, from the realm id."""
    digest = hashlib.sha256(_ADVISORY_NAMESPACE + realm_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LeaseHolder:
    """The run holding a company's lease, as its row names it."""

    holder_id: str
    host: str
    pid: int
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        """`host h, pid 123, since 2026-12-02 10:00:00 UTC`."""
        since = self.acquired_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"host {self.host}, pid {self.pid}, since {since}"


class WriterLeaseBusyError(SystemFaultError):
    """Another run holds the company's writer lease and did not release it in time."""

    def __init__(self, realm_id: str, holder: LeaseHolder | None, waited: float) -> None:
        """Name the company, the holder and what to do."""
        who = f"({holder.describe()})" if holder else "(holder not recorded)"
        message = (
            f"another target-quickbooks run is writing to QuickBooks company {realm_id} "
            f"{who}; waited {waited:g} s for it to finish"
        )
        guidance = (
            "Only one run may write to a company at a time, so this one stopped before writing "
            "anything. Let the other run finish, then run this one again (or raise "
            "writer_lease_wait_seconds so that overlapping runs queue up). If that process is "
            f"gone, its lease expires {int(DEFAULT_TTL.total_seconds())} s after its last "
            "heartbeat and the next run takes it over."
        )
        super().__init__(message, code=error_catalog.WRITER_LEASE, guidance=guidance)
        self.realm_id = realm_id
        self.holder = holder


class WriterLease(ABC):
    """The exclusive right to write to one company, taken with `acquire`, ended by `release`."""

    def __init__(  # noqa: PLR0913 - the company, the store and the injectable clocks
        self,
        engine: Engine,
        realm_id: str,
        *,
        logger: logging.Logger | None = None,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        ttl: timedelta = DEFAULT_TTL,
        heartbeat: timedelta | None = DEFAULT_HEARTBEAT,
        host: str | None = None,
        pid: int | None = None,
        is_alive: Callable[[int], bool] = process_alive,
    ) -> None:
        """Bind the lease to a company; `heartbeat=None` renews only when `renew` is called."""
        self.engine = engine
        self.realm_id = realm_id
        self.holder_id = uuid.uuid4().hex
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self._logger = logger or logging.getLogger(__name__)
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._ttl = ttl
        self._heartbeat_every = heartbeat
        self._is_alive = is_alive
        self._held = False
        self._lost = False
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    @property
    def held(self) -> bool:
        """Whether this run holds the lease (and has not lost it)."""
        return self._held and not self._lost

    def acquire(self, wait_seconds: float) -> None:
        """Take the lease, waiting at most `wait_seconds` for the holder to release it.

        Raises:
            WriterLeaseBusyError: still held by another run after the wait.
        """
        if self._held:
            return
        started = self._monotonic()
        announced: str | None = None
        while True:
            if self._try_take():
                self._held = True
                self._start_heartbeat()
                self._logger.info(
                    "event=writer_lease_taken realm=%s host=%s pid=%s",
                    self.realm_id,
                    self.host,
                    self.pid,
                )
                return
            holder = self.holder()
            waited = self._monotonic() - started
            if waited >= wait_seconds:
                self._abandon()
                raise WriterLeaseBusyError(self.realm_id, holder, round(waited, 1))
            if holder is not None and announced != holder.holder_id:
                announced = holder.holder_id
                self._logger.info(
                    "event=writer_lease_wait realm=%s holder_host=%s holder_pid=%s "
                    "holder_since=%s max_wait_seconds=%g",
                    self.realm_id,
                    holder.host,
                    holder.pid,
                    holder.acquired_at.isoformat(),
                    wait_seconds,
                )
            self._sleep(min(POLL_SECONDS, max(wait_seconds - waited, 0.0)))

    def holder(self) -> LeaseHolder | None:
        """The run the company's lease row names, if any."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(writer_leases).where(writer_leases.c.realm_id == self.realm_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return LeaseHolder(
            holder_id=row["holder_id"],
            host=row["host"],
            pid=int(row["pid"]),
            acquired_at=_aware(row["acquired_at"]),
            expires_at=_aware(row["expires_at"]),
        )

    def renew(self) -> bool:
        """Push the expiry one TTL ahead; False (and logged) when the lease was lost."""
        if not self._held:
            return False
        try:
            renewed = self._renew(self._clock() + self._ttl)
        except sa.exc.SQLAlchemyError as exc:
            # A busy or briefly unreachable database: the next beat tries again.
            self._logger.warning(
                "event=writer_lease_renew_failed realm=%s error=%s",
                self.realm_id,
                type(exc).__name__,
            )
            return not self._lost
        if not renewed and not self._lost:
            self._lost = True
            self._logger.error(
                "event=writer_lease_lost realm=%s: another run took over this company's "
                "writer lease (this run stalled longer than %s s); stop this run",
                self.realm_id,
                int(self._ttl.total_seconds()),
            )
        return renewed

    def release(self) -> None:
        """Stop the heartbeat and give the lease up (idempotent)."""
        self._stop.set()
        if self._beater is not None:
            self._beater.join()
            self._beater = None
        if not self._held:
            return
        self._held = False
        try:
            self._give_up()
        except sa.exc.SQLAlchemyError as exc:
            self._logger.warning(
                "event=writer_lease_release_failed realm=%s error=%s",
                self.realm_id,
                type(exc).__name__,
            )
        else:
            self._logger.info("event=writer_lease_released realm=%s", self.realm_id)

    def _start_heartbeat(self) -> None:
        if self._heartbeat_every is None:
            return
        interval = self._heartbeat_every.total_seconds()
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(interval):
                self.renew()

        self._beater = threading.Thread(
            target=beat, name=f"writer-lease-{self.realm_id}", daemon=True
        )
        self._beater.start()

    def _row(self, now: datetime) -> dict[str, Any]:
        return {
            "realm_id": self.realm_id,
            "holder_id": self.holder_id,
            "host": self.host,
            "pid": self.pid,
            "acquired_at": now,
            "expires_at": now + self._ttl,
        }

    def _renew_on(self, connection: Connection, expires_at: datetime) -> bool:
        updated = connection.execute(
            sa.update(writer_leases)
            .where(
                writer_leases.c.realm_id == self.realm_id,
                writer_leases.c.holder_id == self.holder_id,
            )
            .values(expires_at=expires_at)
        )
        return updated.rowcount == 1

    def _delete_on(self, connection: Connection) -> None:
        connection.execute(
            sa.delete(writer_leases).where(
                writer_leases.c.realm_id == self.realm_id,
                writer_leases.c.holder_id == self.holder_id,
            )
        )

    @abstractmethod
    def _abandon(self) -> None:
        """Drop what an unsuccessful `acquire` kept open."""

    @abstractmethod
    def _try_take(self) -> bool:
        """One attempt to take the lease, never blocking on its holder."""

    @abstractmethod
    def _renew(self, expires_at: datetime) -> bool:
        """Renew; False when the lease is no longer this run's."""

    @abstractmethod
    def _give_up(self) -> None:
        """Release what `_try_take` took."""


class RowWriterLease(WriterLease):
    """The lease as a row with an expiry (SQLite, and any database without advisory locks)."""

    def _try_take(self) -> bool:
        now = self._clock()
        current = self.holder()
        # A holder on this host whose process is gone released nothing: take over now.
        dead = (
            current is not None
            and current.holder_id != self.holder_id
            and current.host == self.host
            and not self._is_alive(current.pid)
        )
        table = writer_leases
        takeable = (table.c.expires_at < now) | (table.c.holder_id == self.holder_id)
        if dead and current is not None:
            takeable |= table.c.holder_id == current.holder_id
        values = self._row(now)
        dialect = self.engine.dialect.name
        insert: Any
        if dialect == "sqlite":
            insert = sqlite.insert(table)
        elif dialect == "postgresql":
            insert = postgresql.insert(table)
        else:  # pragma: no cover - the store supports SQLite and PostgreSQL
            msg = f"writer lease: unsupported database {dialect}"
            raise NotImplementedError(msg)
        statement = insert.values(**values).on_conflict_do_update(
            index_elements=[table.c.realm_id],
            set_={k: v for k, v in values.items() if k != "realm_id"},
            where=takeable,
        )
        with self.engine.begin() as connection:
            connection.execute(statement)
            owner = connection.execute(
                sa.select(table.c.holder_id).where(table.c.realm_id == self.realm_id)
            ).scalar_one_or_none()
        if owner == self.holder_id and dead and current is not None:
            self._logger.warning(
                "event=writer_lease_taken_over realm=%s dead_holder_host=%s dead_holder_pid=%s",
                self.realm_id,
                current.host,
                current.pid,
            )
        return owner == self.holder_id

    def _abandon(self) -> None:
        """Nothing stays open between attempts."""

    def _renew(self, expires_at: datetime) -> bool:
        with self.engine.begin() as connection:
            return self._renew_on(connection, expires_at)

    def _give_up(self) -> None:
        with self.engine.begin() as connection:
            self._delete_on(connection)


class AdvisoryWriterLease(WriterLease):
    """The lease as a PostgreSQL session-level advisory lock on a dedicated connection."""

    def __init__(self, engine: Engine, realm_id: str, **kwargs: Any) -> None:  # noqa: ANN401 - WriterLease's keywords
        """As `WriterLease`; the lock key comes from the realm id."""
        super().__init__(engine, realm_id, **kwargs)
        self.key = advisory_key(realm_id)
        self._connection: Connection | None = None
        self._connection_lock = threading.Lock()

    def _try_take(self) -> bool:
        with self._connection_lock:
            if self._connection is None:
                # Autocommit: the session holds the lock; no transaction stays open for hours.
                self._connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            connection = self._connection
            taken = bool(
                connection.execute(
                    sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                ).scalar_one()
            )
            if not taken:
                return False
            values = self._row(self._clock())
            # The row only names the holder; any row left there belongs to a session that ended.
            connection.execute(
                postgresql.insert(writer_leases)
                .values(**values)
                .on_conflict_do_update(
                    index_elements=[writer_leases.c.realm_id],
                    set_={k: v for k, v in values.items() if k != "realm_id"},
                )
            )
            return True

    def _renew(self, expires_at: datetime) -> bool:
        with self._connection_lock:
            if self._connection is None:
                return False
            try:
                self._renew_on(self._connection, expires_at)
            except sa.exc.DBAPIError as exc:
                if exc.connection_invalidated:
                    # The session ended, and the server released the lock with it.
                    return False
                raise
            return True

    def _abandon(self) -> None:
        with self._connection_lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _give_up(self) -> None:
        with self._connection_lock:
            connection, self._connection = self._connection, None
            if connection is None:
                return
            try:
                self._delete_on(connection)
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            finally:
                connection.close()


def writer_lease(engine: Engine, realm_id: str, **kwargs: Any) -> WriterLease:  # noqa: ANN401 - WriterLease's keywords
    """The lease kind that fits the store's database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryWriterLease(engine, realm_id, **kwargs)
    return RowWriterLease(engine, realm_id, **kwargs)
