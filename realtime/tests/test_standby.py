"""The dispatcher's standbys: each store's next run started ahead, released when events are due."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

import pytest

from kconnector_canonical.standby import READY_FILE, RELEASE_FILE, STANDBY_DIR_ENV
from kconnector_realtime.dispatcher import Dispatcher, RunPlan
from kconnector_realtime.queue import EventQueue
from kconnector_realtime.settings import DispatchSettings, RealtimeSettings, StoreRoute

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SHOP = "shopify:kconnector-us.myshopify.com"
WOO = "woocommerce:shop.example.com"
REALM = "9130357600000001"


@dataclass
class FakeRun:
    plan: RunPlan
    code: int | None = None
    killed: bool = False

    def poll(self) -> int | None:
        return self.code

    def kill(self) -> None:
        self.killed = True
        self.code = -9

    @property
    def folder(self) -> Path:
        from pathlib import Path  # noqa: PLC0415

        return Path(self.plan.env[STANDBY_DIR_ENV])

    def wait_for_release(self) -> None:
        """What the tap does once imported: say it waits."""
        (self.folder / READY_FILE).touch()

    def release(self) -> dict[str, object]:
        released: dict[str, object] = json.loads((self.folder / RELEASE_FILE).read_text())
        return released


@dataclass
class FakeLauncher:
    runs: list[FakeRun] = field(default_factory=list)

    def __call__(self, plan: RunPlan) -> FakeRun:
        self.runs.append(FakeRun(plan))
        return self.runs[-1]

    def of_kind(self, kind: str) -> list[FakeRun]:
        return [run for run in self.runs if run.plan.kind == kind]


@pytest.fixture
def queue(database_url, clock) -> Iterator[EventQueue]:
    opened = EventQueue(database_url, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def launcher() -> FakeLauncher:
    return FakeLauncher()


def _dispatcher(  # noqa: PLR0913 - the fixtures it is made of
    queue, clock, launcher, database_url, tmp_path, *, standby_runs: int
) -> Dispatcher:
    settings = RealtimeSettings(
        database_url=database_url,
        routes=(
            StoreRoute(SHOP, "shopify-to-quickbooks", REALM),
            StoreRoute(WOO, "woocommerce-to-quickbooks", REALM),
        ),
        dispatch=DispatchSettings(
            debounce=timedelta(seconds=1),
            max_delay=timedelta(seconds=60),
            window_margin=timedelta(minutes=10),
            retry_after=timedelta(seconds=30),
            meltano="/opt/meltano",
            standby_max_age=timedelta(minutes=10),
            standby_runs=standby_runs,
        ),
    )
    return Dispatcher(
        queue,
        settings,
        clock=clock,
        launcher=launcher,
        environ={"MELTANO_PROJECT_ROOT": str(tmp_path / "project")},
        standby_root=tmp_path / "standby",
    )


@pytest.fixture
def dispatcher(queue, clock, launcher, database_url, tmp_path) -> Iterator[Dispatcher]:
    """One standby per store (the pool of two: its own tests below)."""
    running = _dispatcher(queue, clock, launcher, database_url, tmp_path, standby_runs=1)
    yield running
    running.stop()


@pytest.fixture
def two_ahead(queue, clock, launcher, database_url, tmp_path) -> Iterator[Dispatcher]:
    """The default: two standbys per store."""
    running = _dispatcher(queue, clock, launcher, database_url, tmp_path, standby_runs=2)
    yield running
    running.stop()


def _event(queue: EventQueue, key: str, store: str = SHOP, **kwargs) -> None:
    queue.append(store_key=store, dedupe_key=key, topic="orders/create", **kwargs)


def _standby_of(launcher: FakeLauncher, store: str) -> list[FakeRun]:
    return [run for run in launcher.of_kind("standby") if run.plan.slot == (store, REALM)]


def test_each_routed_store_keeps_one_run_started_ahead(dispatcher, launcher, clock) -> None:
    assert dispatcher.tick() == []  # no run: nothing is due
    clock.advance(5)
    dispatcher.tick()

    standbys = launcher.of_kind("standby")
    assert sorted(run.plan.slot for run in standbys) == [(SHOP, REALM), (WOO, REALM)]
    (shop,) = _standby_of(launcher, SHOP)
    assert shop.plan.argv == (
        "/opt/meltano",
        "run",
        "--full-refresh",
        "--no-state-update",
        "shopify-to-quickbooks",
    )
    assert shop.plan.env["KCONNECTOR_STANDBY_OWNER_PID"] == str(os.getpid())
    assert shop.plan.env["TAP_SHOPIFY_ORDERS_BULK_THRESHOLD_DAYS"] == "18250"  # pages only
    assert shop.folder.is_dir()
    assert not (shop.folder / RELEASE_FILE).exists()  # it reads nothing until released


def test_due_events_release_the_standby_with_their_window(
    dispatcher, queue, clock, launcher
) -> None:
    dispatcher.tick()
    (standby,) = _standby_of(launcher, SHOP)
    standby.wait_for_release()
    occurred = clock.now - timedelta(minutes=1)
    _event(queue, "a", occurred_at=occurred)
    clock.advance(1)

    (plan,) = dispatcher.tick()

    expected = (occurred - timedelta(minutes=10)).astimezone(UTC)
    assert standby.release() == {
        "config": {"start_date": expected.replace(microsecond=0).isoformat()[:-6] + "Z"}
    }
    assert plan.kind == "store"
    assert launcher.of_kind("store") == []  # no run started cold
    assert dispatcher.running[(SHOP, REALM)].process is standby
    assert queue.stats()["claimed"] == 1
    assert len(_standby_of(launcher, SHOP)) == 2  # the next one warms up


def test_events_during_a_released_run_make_one_follow_up_from_the_next_standby(
    dispatcher, queue, clock, launcher
) -> None:
    dispatcher.tick()
    _event(queue, "a")
    clock.advance(1)
    dispatcher.tick()
    first, following = _standby_of(launcher, SHOP)
    for index in range(5):
        _event(queue, f"during-{index}")
    clock.advance(2)
    assert dispatcher.tick() == []  # at most one run per (store, company)
    assert not (following.folder / RELEASE_FILE).exists()

    first.code = 0
    (follow_up,) = dispatcher.tick()

    assert following.release()["config"]
    assert dispatcher.running[(SHOP, REALM)].process is following
    assert queue.stats()["claimed"] == 5
    assert queue.stats()["done"] == 1
    assert not first.folder.exists()  # cleaned once its run ended
    assert follow_up.kind == "store"
    assert launcher.of_kind("store") == []


def test_a_standby_past_its_age_is_cancelled_and_replaced(dispatcher, clock, launcher) -> None:
    dispatcher.tick()
    (old,) = _standby_of(launcher, SHOP)
    clock.advance(10 * 60)

    dispatcher.tick()

    assert old.release() == {"cancel": True}
    new = _standby_of(launcher, SHOP)[-1]
    assert new is not old
    assert [s.process for s in dispatcher.standbys[(SHOP, REALM)]] == [new]
    old.code = 0  # its tap saw the cancel and ended, reading nothing
    clock.advance(1)
    dispatcher.tick()
    assert not old.folder.exists()


def test_a_standby_is_not_replaced_while_its_store_has_events_waiting(
    dispatcher, queue, clock, launcher
) -> None:
    dispatcher.tick()
    (standby,) = _standby_of(launcher, SHOP)
    clock.advance(10 * 60 - 0.5)
    _event(queue, "a")
    clock.advance(0.5)  # past its age, the event not yet quiet for the debounce

    assert dispatcher.tick() == []
    assert not (standby.folder / RELEASE_FILE).exists()

    clock.advance(1)
    dispatcher.tick()
    assert standby.release()["config"]  # released, not cancelled


def test_a_cancelled_standby_that_lingers_is_killed(dispatcher, clock, launcher) -> None:
    dispatcher.tick()
    (old,) = _standby_of(launcher, SHOP)
    clock.advance(10 * 60)
    dispatcher.tick()

    clock.advance(61)
    dispatcher.tick()

    assert old.killed


def test_a_standby_that_never_waited_makes_the_store_run_cold(
    dispatcher, queue, clock, launcher, caplog
) -> None:
    dispatcher.tick()
    (standby,) = _standby_of(launcher, SHOP)
    standby.code = 0  # ended without waiting: a tap that does not know the standby
    _event(queue, "a")
    clock.advance(1)

    (plan,) = dispatcher.tick()

    (cold,) = launcher.of_kind("store")
    assert cold.plan is plan
    assert STANDBY_DIR_ENV not in plan.env
    assert "event=standby_refused" in caplog.text
    clock.advance(60)
    dispatcher.tick()
    assert len(_standby_of(launcher, SHOP)) == 1  # none started again for that store


def test_a_standby_that_failed_after_waiting_is_restarted_later(
    dispatcher, clock, launcher
) -> None:
    dispatcher.tick()
    (standby,) = _standby_of(launcher, SHOP)
    standby.wait_for_release()
    standby.code = 2

    dispatcher.tick()
    assert len(_standby_of(launcher, SHOP)) == 1
    clock.advance(31)
    dispatcher.tick()

    assert len(_standby_of(launcher, SHOP)) == 2


def test_stop_kills_the_standbys_and_removes_their_folders(dispatcher, launcher) -> None:
    dispatcher.tick()
    standbys = launcher.of_kind("standby")

    dispatcher.stop()

    assert all(run.killed for run in standbys)
    assert not any(run.folder.exists() for run in standbys)
    assert dispatcher.standbys == {}


def test_by_default_two_runs_per_store_wait_ahead(two_ahead, launcher) -> None:
    two_ahead.tick()

    assert len(_standby_of(launcher, SHOP)) == 2
    assert len(_standby_of(launcher, WOO)) == 2
    two_ahead.tick()
    assert len(launcher.of_kind("standby")) == 4  # kept, not more


def test_the_ready_standby_is_released_first_and_the_pool_refilled(
    two_ahead, queue, clock, launcher
) -> None:
    two_ahead.tick()
    first, second = _standby_of(launcher, SHOP)
    second.wait_for_release()  # the second one finished its start-up first
    _event(queue, "a")
    clock.advance(1)

    two_ahead.tick()

    assert second.release()["config"]
    assert not (first.folder / RELEASE_FILE).exists()
    assert two_ahead.running[(SHOP, REALM)].process is second
    assert len(_standby_of(launcher, SHOP)) == 3  # one more warms up: two wait again
    assert [s.process for s in two_ahead.standbys[(SHOP, REALM)]] == [
        first,
        _standby_of(launcher, SHOP)[-1],
    ]


def test_quickbooks_events_never_use_a_standby(dispatcher, queue, clock, launcher) -> None:
    dispatcher.tick()
    queue.append(
        store_key=f"quickbooks:{REALM}", dedupe_key="ce", topic="invoice.updated", resource_id="1"
    )
    clock.advance(1)

    dispatcher.tick()

    assert not any((run.folder / RELEASE_FILE).exists() for run in launcher.of_kind("standby"))
