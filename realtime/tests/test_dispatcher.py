"""The dispatcher: debounce, max delay, one run per (store, company), follow-up runs, retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from kconnector_realtime.dispatcher import Dispatcher, RunPlan
from kconnector_realtime.queue import EventQueue
from kconnector_realtime.settings import DispatchSettings, RealtimeSettings, StoreRoute
from target_quickbooks.store.database import open_store
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

SHOP = "shopify:kconnector-us.myshopify.com"
WOO = "woocommerce:shop.example.com"
REALM = "9130357600000001"


@dataclass
class FakeRun:
    code: int | None = None
    killed: bool = False

    def poll(self) -> int | None:
        return self.code

    def kill(self) -> None:
        self.killed = True
        self.code = -9


@dataclass
class FakeLauncher:
    plans: list[RunPlan] = field(default_factory=list)
    runs: list[FakeRun] = field(default_factory=list)

    def __call__(self, plan: RunPlan) -> FakeRun:
        self.plans.append(plan)
        self.runs.append(FakeRun())
        return self.runs[-1]


@pytest.fixture
def queue(database_url, clock) -> Iterator[EventQueue]:
    opened = EventQueue(database_url, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def launcher() -> FakeLauncher:
    return FakeLauncher()


@pytest.fixture
def dispatcher(queue, clock, launcher, database_url, tmp_path) -> Dispatcher:
    settings = RealtimeSettings(
        database_url=database_url,
        routes=(
            StoreRoute(SHOP, "shopify-to-quickbooks", REALM),
            StoreRoute(WOO, "woocommerce-to-quickbooks", REALM),
        ),
        dispatch=DispatchSettings(
            debounce=timedelta(seconds=2),
            max_delay=timedelta(seconds=10),
            window_margin=timedelta(minutes=10),
            retry_after=timedelta(seconds=30),
            meltano="/opt/meltano",
            standby_runs=0,  # runs started cold; runs started ahead: test_standby.py
        ),
    )
    return Dispatcher(
        queue,
        settings,
        clock=clock,
        launcher=launcher,
        environ={"MELTANO_PROJECT_ROOT": str(tmp_path / "project")},
        standby_root=tmp_path / "runs",
    )


def _event(queue: EventQueue, key: str, store: str = SHOP, **kwargs) -> None:
    queue.append(store_key=store, dedupe_key=key, topic="orders/create", **kwargs)


def test_a_burst_waits_for_the_debounce_then_makes_one_run(dispatcher, queue, clock) -> None:
    for index in range(20):
        _event(queue, f"e{index}")
        clock.advance(0.1)
    assert dispatcher.tick() == []  # still arriving

    clock.advance(2)
    (plan,) = dispatcher.tick()

    assert plan.argv == (
        "/opt/meltano",
        "run",
        "--full-refresh",
        "--no-state-update",
        "shopify-to-quickbooks",
    )
    assert queue.stats()["claimed"] == 20


def test_a_steady_stream_still_runs_after_the_max_delay(dispatcher, queue, clock) -> None:
    for index in range(10):
        _event(queue, f"e{index}")
        assert dispatcher.tick() == []
        clock.advance(1)  # never quiet for 2 s

    assert len(dispatcher.tick()) == 1  # the oldest waited 10 s


def test_the_window_starts_before_the_oldest_event(dispatcher, queue, clock) -> None:
    occurred = clock.now - timedelta(minutes=1)
    _event(queue, "a", occurred_at=occurred)
    clock.advance(3)

    (plan,) = dispatcher.tick()

    expected = (occurred - timedelta(minutes=10)).astimezone(UTC)
    assert plan.env == {
        "TAP_SHOPIFY_ORDERS_START_DATE": expected.replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z"),
        # The run's own Meltano system folder (test_meltano_system_folder.py).
        "MELTANO_SYS_DIR_ROOT": plan.env["MELTANO_SYS_DIR_ROOT"],
        "TAP_SHOPIFY_ORDERS_BULK_THRESHOLD_DAYS": "18250",
    }


def test_a_real_time_run_reads_shopify_with_pages_never_a_bulk_operation(
    dispatcher, queue, clock
) -> None:
    # A bulk query is polled every 5 s and, before API 2026-01, one runs per shop at a time.
    _event(queue, "a")
    _event(queue, "b", store=WOO)
    clock.advance(3)

    plans = {plan.argv[-1]: plan for plan in dispatcher.tick()}

    assert plans["shopify-to-quickbooks"].env["TAP_SHOPIFY_ORDERS_BULK_THRESHOLD_DAYS"] == "18250"
    assert not any("BULK" in key for key in plans["woocommerce-to-quickbooks"].env)


def test_events_during_a_run_make_one_follow_up_run(dispatcher, queue, clock, launcher) -> None:
    _event(queue, "a")
    clock.advance(3)
    assert len(dispatcher.tick()) == 1
    for index in range(5):  # arrive while the run is in progress
        _event(queue, f"during-{index}")
    clock.advance(3)
    assert dispatcher.tick() == []  # at most one run per (store, company)

    launcher.runs[0].code = 0
    follow_up = dispatcher.tick()

    assert len(follow_up) == 1
    assert queue.stats()["claimed"] == 5
    assert queue.stats()["done"] == 1
    launcher.runs[1].code = 0
    dispatcher.tick()
    assert queue.stats()["done"] == 6
    assert len(launcher.plans) == 2


def test_two_stores_run_side_by_side(dispatcher, queue, clock) -> None:
    _event(queue, "a")
    _event(queue, "b", store=WOO)
    clock.advance(3)

    plans = dispatcher.tick()

    assert sorted(p.argv[-1] for p in plans) == [
        "shopify-to-quickbooks",
        "woocommerce-to-quickbooks",
    ]
    assert plans[0].env.keys() != plans[1].env.keys()


def test_a_failed_run_requeues_its_events_and_waits_before_retrying(
    dispatcher, queue, clock, launcher
) -> None:
    _event(queue, "a")
    clock.advance(3)
    dispatcher.tick()
    launcher.runs[0].code = 1

    assert dispatcher.tick() == []  # reaped: back to the queue, but not at once
    assert queue.stats()["queued"] == 1
    clock.advance(31)
    assert len(dispatcher.tick()) == 1


def test_a_store_without_a_route_waits_for_the_poll(dispatcher, queue, clock, caplog) -> None:
    _event(queue, "a", store="shopify:other.myshopify.com")
    clock.advance(3)

    assert dispatcher.tick() == []
    assert queue.stats()["queued"] == 1
    assert "event=store_not_routed" in caplog.text


def test_a_run_past_its_timeout_is_killed_and_requeued(dispatcher, queue, clock, launcher) -> None:
    _event(queue, "a")
    clock.advance(3)
    dispatcher.tick()
    clock.advance(31 * 60)

    dispatcher.tick()

    assert launcher.runs[0].killed
    assert queue.stats()["queued"] == 1


def _ledger_document(database_url: str, qbo_id: str, txn_date: str) -> None:
    store = open_store(database_url)
    store.ledger.put_many(
        [
            LedgerEntry(
                realm_id=REALM,
                external_id=f"{SHOP}:{qbo_id}#sale",
                entity="SalesReceipt",
                qbo_id=qbo_id,
                sync_token="0",
                body_hash="h",
                status=LedgerStatus.ACTIVE,
                pushed_body={"TxnDate": txn_date, "TotalAmt": "10.00"},
            )
        ]
    )
    store.close()


def test_a_quickbooks_edit_of_our_document_runs_the_conflict_check_of_its_day(
    dispatcher, queue, clock, database_url
) -> None:
    _ledger_document(database_url, "145", "2031-03-12")
    _ledger_document(database_url, "146", "2031-03-13")
    for entity_id in ("145", "146"):
        queue.append(
            store_key=f"quickbooks:{REALM}",
            dedupe_key=f"ce-{entity_id}",
            topic="salesreceipt.updated",
            resource_id=entity_id,
        )
    clock.advance(3)

    (plan,) = dispatcher.tick()

    assert plan.kind == "quickbooks"
    assert plan.argv[1:4] == ("invoke", "target-quickbooks:ops", "reconcile")
    assert plan.argv[4:8] == ("--since", "2031-03-12", "--until", "2031-03-13")
    assert plan.env == {"TARGET_QUICKBOOKS_REALM_ID": REALM}


def test_a_quickbooks_edit_that_differs_is_still_a_finished_check(  # noqa: PLR0913, PLR0917 - fixtures
    dispatcher, queue, clock, launcher, database_url, caplog
) -> None:
    _ledger_document(database_url, "145", "2031-03-12")
    queue.append(
        store_key=f"quickbooks:{REALM}",
        dedupe_key="ce",
        topic="salesreceipt.updated",
        resource_id="145",
    )
    clock.advance(3)
    dispatcher.tick()
    launcher.runs[0].code = 1  # reconcile: a document differs

    dispatcher.tick()

    assert queue.stats()["done"] == 1
    assert "event=quickbooks_edit_differs" in caplog.text


def test_quickbooks_events_about_documents_we_did_not_write_run_nothing(
    dispatcher, queue, clock, launcher
) -> None:
    queue.append(
        store_key=f"quickbooks:{REALM}",
        dedupe_key="ce",
        topic="invoice.updated",
        resource_id="999",
    )
    clock.advance(3)

    assert dispatcher.tick() == []
    assert launcher.plans == []
    assert queue.stats()["done"] == 1


def test_stop_kills_runs_and_requeues_their_events(dispatcher, queue, clock, launcher) -> None:
    _event(queue, "a")
    clock.advance(3)
    dispatcher.tick()

    dispatcher.stop()

    assert launcher.runs[0].killed
    assert queue.stats()["queued"] == 1


def test_done_events_past_the_retention_are_pruned(dispatcher, queue, clock, launcher) -> None:
    _event(queue, "old")
    clock.advance(3)
    dispatcher.tick()
    launcher.runs[0].code = 0
    dispatcher.tick()
    assert queue.stats()["done"] == 1

    clock.advance(8 * 86400)  # past the 7-day retention
    dispatcher.tick()

    assert queue.stats()["events"] == 0


def test_clock_is_injected_not_the_wall_date(dispatcher, queue, clock) -> None:
    clock.now = datetime(2040, 1, 1, tzinfo=UTC)  # far from today: only the injected clock counts
    _event(queue, "a")
    assert dispatcher.tick() == []
    clock.advance(2)
    assert len(dispatcher.tick()) == 1
