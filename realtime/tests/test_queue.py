"""The durable event queue: dedupe, pending, claim, finish, follow-up runs, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from kconnector_realtime.queue import (
    VERSION_TABLE,
    EventQueue,
    PendingStore,
    StoreKeyError,
    split_store_key,
    store_key,
)
from target_quickbooks.store.database import open_store

if TYPE_CHECKING:
    from collections.abc import Iterator

SHOP = "shopify:demo.myshopify.com"
WOO = "woocommerce:shop.example.com"


@pytest.fixture
def queue(database_url: str, clock) -> Iterator[EventQueue]:
    opened = EventQueue(database_url, clock=clock)
    yield opened
    opened.close()


def test_the_same_delivery_appended_five_times_is_stored_once(queue: EventQueue) -> None:
    results = [
        queue.append(store_key=SHOP, dedupe_key="evt-1", topic="orders/create", resource_id="7")
        for _ in range(5)
    ]

    assert results == [True, False, False, False, False]
    assert [p.events for p in queue.pending()] == [1]
    stats = queue.stats()
    assert stats["events"] == 1
    assert stats["duplicate"] == 4


def test_the_same_dedupe_key_on_two_stores_is_two_events(queue: EventQueue) -> None:
    assert queue.append(store_key=SHOP, dedupe_key="1", topic="orders/create")
    assert queue.append(store_key=WOO, dedupe_key="1", topic="order.created")

    assert sorted(p.store_key for p in queue.pending()) == [SHOP, WOO]


def test_pending_groups_a_stores_events_with_their_first_and_last_receipt(
    queue: EventQueue, clock
) -> None:
    start = clock.now
    queue.append(store_key=SHOP, dedupe_key="a", topic="orders/create")
    clock.advance(3)
    queue.append(store_key=SHOP, dedupe_key="b", topic="orders/updated")

    assert queue.pending() == [
        PendingStore(
            store_key=SHOP,
            events=2,
            first_received_at=start,
            last_received_at=start + timedelta(seconds=3),
        )
    ]


def test_due_after_the_debounce_or_the_max_delay() -> None:
    first = datetime(2031, 1, 1, tzinfo=UTC)
    pending = PendingStore(SHOP, 3, first, first + timedelta(seconds=8))
    debounce, max_delay = timedelta(seconds=2), timedelta(seconds=10)

    assert not pending.due(first + timedelta(seconds=9), debounce, max_delay)
    assert pending.due(first + timedelta(seconds=10), debounce, max_delay)  # max delay
    assert pending.due(
        first + timedelta(seconds=8, milliseconds=2000), debounce, max_delay
    )  # quiet for the debounce


def test_events_arriving_during_a_run_make_one_follow_up_run(queue: EventQueue) -> None:
    queue.append(store_key=SHOP, dedupe_key="a", topic="orders/create")
    queue.append(store_key=SHOP, dedupe_key="b", topic="orders/create")
    assert queue.claim(SHOP, "run-1") == 2
    assert queue.pending() == []

    for key in ("c", "d", "e"):
        queue.append(store_key=SHOP, dedupe_key=key, topic="orders/updated")
    assert queue.claim(SHOP, "run-1-again") == 3  # the follow-up takes all three at once
    assert queue.claim(SHOP, "run-3") == 0

    queue.finish("run-1", succeeded=True)
    queue.finish("run-1-again", succeeded=True)
    assert queue.stats()["done"] == 5
    assert queue.pending() == []


def test_a_failed_run_puts_its_events_back_in_the_queue(queue: EventQueue) -> None:
    queue.append(store_key=SHOP, dedupe_key="a", topic="orders/create")
    queue.claim(SHOP, "run-1")

    queue.finish("run-1", succeeded=False)

    assert [p.events for p in queue.pending()] == [1]
    assert queue.stats()["failed_attempts"] == 1
    assert queue.claim(SHOP, "run-2") == 1


def test_a_duplicate_of_a_done_event_does_not_queue_it_again(queue: EventQueue) -> None:
    queue.append(store_key=SHOP, dedupe_key="a", topic="orders/create")
    queue.claim(SHOP, "run-1")
    queue.finish("run-1", succeeded=True)

    assert not queue.append(store_key=SHOP, dedupe_key="a", topic="orders/create")
    assert queue.pending() == []


def test_claimed_lists_the_runs_events(queue: EventQueue, clock) -> None:
    occurred = clock.now - timedelta(seconds=5)
    queue.append(
        store_key=SHOP,
        dedupe_key="a",
        topic="orders/create",
        resource_id="1001",
        webhook_id="wh-1",
        occurred_at=occurred,
    )
    queue.claim(SHOP, "run-1")

    (event,) = queue.claimed("run-1")
    assert (event.topic, event.resource_id, event.webhook_id) == ("orders/create", "1001", "wh-1")
    assert event.occurred_at == occurred
    assert event.received_at == clock.now


def test_lag_runs_from_the_event_time_to_the_runs_end(queue: EventQueue, clock) -> None:
    queue.append(
        store_key=SHOP,
        dedupe_key="a",
        topic="orders/create",
        occurred_at=clock.now - timedelta(seconds=1),
    )
    queue.claim(SHOP, "run-1")
    clock.advance(4)
    queue.finish("run-1", succeeded=True)

    assert queue.stats()["lag_last_ms"] == 5000
    assert queue.stats()["lag_p95_ms"] == 5000


def test_lag_runs_from_the_receipt_when_the_stores_clock_disagrees(queue, clock) -> None:
    queue.append(
        store_key=SHOP,
        dedupe_key="a",
        topic="orders/create",
        occurred_at=clock.now - timedelta(days=250),  # a shop living in another month
    )
    queue.claim(SHOP, "run-1")
    clock.advance(4)
    queue.finish("run-1", succeeded=True)

    assert queue.stats()["lag_last_ms"] == 4000


def test_stale_claims_of_a_dead_dispatcher_go_back_to_the_queue(queue: EventQueue, clock) -> None:
    queue.append(store_key=SHOP, dedupe_key="a", topic="orders/create")
    queue.claim(SHOP, "run-killed")
    clock.advance(3600)

    assert queue.requeue_claimed(claimed_before=clock.now - timedelta(minutes=30)) == 1
    assert [p.events for p in queue.pending()] == [1]


def test_prune_deletes_only_old_done_events(queue: EventQueue, clock) -> None:
    queue.append(store_key=SHOP, dedupe_key="a", topic="orders/create")
    queue.claim(SHOP, "run-1")
    queue.finish("run-1", succeeded=True)
    queue.append(store_key=SHOP, dedupe_key="b", topic="orders/create")
    clock.advance(3 * 86400)

    assert queue.prune(finished_before=clock.now - timedelta(days=2)) == 1
    assert queue.stats()["events"] == 1


def test_naive_datetimes_are_refused(queue: EventQueue) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        queue.append(
            store_key=SHOP,
            dedupe_key="a",
            topic="orders/create",
            occurred_at=datetime(2031, 1, 1),  # noqa: DTZ001 - the case under test
        )


def test_a_bad_store_key_is_refused_naming_the_fix(queue: EventQueue) -> None:
    with pytest.raises(StoreKeyError, match="platform 'magento'"):
        queue.append(store_key="magento:x.example.com", dedupe_key="a", topic="x")
    with pytest.raises(StoreKeyError, match="bare host name"):
        store_key("shopify", "https://demo.myshopify.com/")


def test_store_keys_round_trip() -> None:
    assert store_key("shopify", "Demo.MyShopify.com") == SHOP
    assert split_store_key("quickbooks:9130357") == ("quickbooks", "9130357")


def test_the_queue_migrates_beside_the_targets_store_with_its_own_version_table(
    database_url: str, clock
) -> None:
    target_store = open_store(database_url)
    target_store.close()
    queue = EventQueue(database_url, clock=clock)
    again = EventQueue(database_url, clock=clock)  # a second open finds its tables at head
    try:
        tables = set(sa.inspect(queue.engine).get_table_names())
        assert {"realtime_events", VERSION_TABLE, "alembic_version", "ledger"} <= tables
        with queue.engine.connect() as connection:
            version_table = sa.table(VERSION_TABLE, sa.column("version_num"))
            version = connection.execute(sa.select(version_table.c.version_num))
            assert version.scalar_one() == "0001"
        assert again.append(store_key=SHOP, dedupe_key="a", topic="orders/create")
    finally:
        queue.close()
        again.close()
    reopened = open_store(database_url)  # the target's own migrations are untouched
    reopened.close()
