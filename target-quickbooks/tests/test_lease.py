"""The writer lease: one writer per QuickBooks company, on SQLite and PostgreSQL.

Unit tests drive the expiry with an injected clock (never today's date); the PostgreSQL variants
run when KCONNECTOR_TEST_DATABASE_URL is set, each in a schema of its own.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from target_quickbooks.errors import SystemFaultError
from target_quickbooks.store import open_store
from target_quickbooks.store.lease import (
    AdvisoryWriterLease,
    RowWriterLease,
    WriterLeaseBusyError,
    advisory_key,
)
from target_quickbooks.store.schema import writer_leases

REALM = "9130357600000001"
OTHER_REALM = "9130357600000002"
START = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
TTL = timedelta(seconds=60)


class FakeTime:
    """A wall clock and a monotonic clock that move only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = START
        self.elapsed = 0.0

    def clock(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.elapsed += seconds
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def store(database_url):
    opened = open_store(database_url, token_keys=())
    yield opened
    opened.close()


@pytest.fixture
def time_():
    return FakeTime()


def lease_in(store, time_, realm=REALM, **overrides):
    options = {
        "clock": time_.clock,
        "monotonic": time_.monotonic,
        "sleep": time_.sleep,
        "ttl": TTL,
        "heartbeat": None,
        **overrides,
    }
    return store.writer_lease(realm, **options)


def test_the_store_picks_the_lease_its_database_supports(store, time_):
    lease = lease_in(store, time_)
    expected = AdvisoryWriterLease if store.engine.dialect.name == "postgresql" else RowWriterLease
    assert isinstance(lease, expected)


def test_a_second_writer_waits_then_stops_naming_the_company_and_the_holder(store, time_):
    first = lease_in(store, time_, host="sync-host-a", pid=4242)
    first.acquire(0)
    second = lease_in(store, time_, host="sync-host-b", pid=777)

    with pytest.raises(WriterLeaseBusyError) as caught:
        second.acquire(5)

    error = caught.value
    assert isinstance(error, SystemFaultError)
    assert error.code == "TQB-WRITER-LEASE"
    assert REALM in error.message
    assert "host sync-host-a, pid 4242, since 2031-03-04 05:06:07 UTC" in error.message
    assert "waited 5 s" in error.message
    assert "run this one again" in error.guidance
    assert "writer_lease_wait_seconds" in error.guidance
    assert time_.elapsed == pytest.approx(5)  # it waited the whole bound, no more
    assert first.held
    assert not second.held


def test_a_waiting_writer_takes_the_lease_as_soon_as_it_is_released(store, time_):
    first = lease_in(store, time_, host="a", pid=1)
    first.acquire(0)
    second = lease_in(store, time_, host="b", pid=2)
    sleeps = []

    def sleep_then_release(seconds):
        sleeps.append(seconds)
        time_.sleep(seconds)
        if len(sleeps) == 3:
            first.release()

    second._sleep = sleep_then_release
    second.acquire(60)

    assert second.held
    assert len(sleeps) == 3
    holder = second.holder()
    assert holder is not None
    assert (holder.host, holder.pid) == ("b", 2)


def test_release_deletes_the_row_and_the_company_is_free_again(store, time_):
    lease = lease_in(store, time_)
    lease.acquire(0)
    assert lease.holder() is not None
    lease.release()
    lease.release()  # idempotent
    assert lease.holder() is None
    again = lease_in(store, time_)
    again.acquire(0)
    assert again.held


def test_leases_of_different_companies_do_not_exclude_each_other(store, time_):
    one = lease_in(store, time_, realm=REALM)
    other = lease_in(store, time_, realm=OTHER_REALM)
    one.acquire(0)
    other.acquire(0)
    assert one.held
    assert other.held


@pytest.fixture
def sqlite_store(tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'store.db'}", token_keys=())
    yield opened
    opened.close()


def test_an_expired_lease_of_a_dead_holder_on_another_host_is_taken_over(sqlite_store, time_):
    dead = lease_in(sqlite_store, time_, host="crashed-host", pid=99)
    dead.acquire(0)  # ... and its process dies without releasing or renewing
    successor = lease_in(sqlite_store, time_, host="this-host", pid=100)

    with pytest.raises(WriterLeaseBusyError):
        successor.acquire(TTL.total_seconds() - 1)  # not expired yet: still excluded
    successor.acquire(2)  # the row expires during this wait

    assert successor.held
    holder = successor.holder()
    assert holder is not None
    assert holder.host == "this-host"
    assert not dead.renew()  # the old holder learns it lost the lease
    assert not dead.held


def test_a_dead_holder_on_this_host_is_taken_over_at_once(sqlite_store, time_):
    dead = lease_in(sqlite_store, time_, host="this-host", pid=31337)
    dead.acquire(0)
    successor = lease_in(
        sqlite_store, time_, host="this-host", pid=100, is_alive=lambda pid: pid != 31337
    )

    successor.acquire(0)

    assert successor.held
    assert time_.elapsed == 0


def test_a_live_holder_on_this_host_is_never_taken_over(sqlite_store, time_):
    holder = lease_in(sqlite_store, time_, host="this-host", pid=31337)
    holder.acquire(0)
    other = lease_in(sqlite_store, time_, host="this-host", pid=100, is_alive=lambda _pid: True)

    with pytest.raises(WriterLeaseBusyError):
        other.acquire(10)


def test_the_heartbeat_keeps_a_long_run_s_lease_from_expiring(sqlite_store, time_):
    holder = lease_in(sqlite_store, time_, host="a", pid=1)
    holder.acquire(0)
    for _ in range(5):  # five minutes of work, renewed every 30 s
        for _ in range(2):
            time_.sleep(30)
            assert holder.renew()
    renewed_until = time_.now + TTL
    other = lease_in(sqlite_store, time_, host="b", pid=2)

    with pytest.raises(WriterLeaseBusyError):
        other.acquire(1)
    row = holder.holder()
    assert row is not None
    assert row.expires_at == renewed_until


def test_the_heartbeat_thread_renews_on_its_own(sqlite_store, time_):
    lease = lease_in(sqlite_store, time_, heartbeat=timedelta(milliseconds=20))
    lease.acquire(0)
    time_.now += timedelta(seconds=45)
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while datetime.now(UTC) < deadline:
        row = lease.holder()
        assert row is not None
        if row.expires_at == time_.now + TTL:
            break
    lease.release()
    assert row.expires_at == time_.now + TTL


def test_taking_the_lease_is_one_atomic_statement(sqlite_store, time_):
    """Two takers that both saw a free company: the upsert lets exactly one of them in."""
    first = lease_in(sqlite_store, time_, host="a", pid=1)
    second = lease_in(sqlite_store, time_, host="b", pid=2)
    taken = [first._try_take(), second._try_take()]
    assert taken == [True, False]
    with sqlite_store.engine.connect() as connection:
        rows = connection.execute(sa.select(writer_leases)).all()
    assert len(rows) == 1


def test_the_advisory_key_is_stable_and_64_bit():
    key = advisory_key(REALM)
    assert key == advisory_key(REALM)
    assert key != advisory_key(OTHER_REALM)
    assert -(2**63) <= key < 2**63


def test_waiting_is_logged_once_per_holder(sqlite_store, time_, caplog):
    caplog.set_level(logging.INFO)
    lease_in(sqlite_store, time_, host="a", pid=1).acquire(0)
    with pytest.raises(WriterLeaseBusyError):
        lease_in(sqlite_store, time_, host="b", pid=2).acquire(3)
    waits = [r for r in caplog.records if "event=writer_lease_wait" in r.getMessage()]
    assert len(waits) == 1
    assert "holder_host=a holder_pid=1" in waits[0].getMessage()
