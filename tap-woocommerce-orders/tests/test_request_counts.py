"""Requests per order against the WooCommerce emulator: empty windows, trash, payouts."""

from collections import Counter
from collections.abc import Callable
from typing import Any

ORDERS = "/wc/v3/orders"
STATUSES = "/wc/v3/reports/orders/totals"


def paths(store: Any) -> Counter[str]:
    return Counter(
        "refunds" if entry.path.endswith("/refunds") else entry.path
        for entry in store.emulator.state.request_log
    )


def test_a_backfill_from_years_before_the_first_order_costs_at_most_005_requests_per_order(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    # The seeded orders span the 90 days before 2026-11-01; start_date is almost three years
    # earlier: 34 windows of 30 days, 31 of them empty. Trash is read (the default statuses)
    # and payouts are estimated (the default), with no refunds in the store.
    with fresh_store(seed=0, orders=600, refunds=False) as store:
        output = tap_run(store.config(start_date="2024-01-01T00:00:00Z"))
        counted = paths(store)
        source = [o for o in store.emulator.state.all_orders() if o["status"] != "checkout-draft"]

    orders = output.records("orders")
    assert {int(r["source_id"]) for r in orders} == {o["id"] for o in source}
    trashed = {o["id"] for o in source if o["status"] == "trash"}
    assert {int(r["source_id"]) for r in orders if r["status"] == "deleted"} == trashed
    assert output.records("payouts")
    assert counted["refunds"] == 0
    assert counted[STATUSES] == 1  # the registered statuses, once: trash in the same pass
    assert sum(counted.values()) <= 0.05 * len(orders)


def test_payouts_reuse_the_orders_and_refunds_read_in_the_same_run(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=1, orders=300) as store:
        with_payouts = tap_run(store.config())
        both = paths(store)
        store.emulator.state.request_log.clear()
        orders_only = tap_run(store.config(payout_grouping="none"))
        alone = paths(store)
        refunded = sum(1 for o in store.emulator.state.all_orders() if o.get("refunds"))

    assert with_payouts.records("payouts")
    assert with_payouts.records("orders") == orders_only.records("orders")
    # Estimating payouts adds no request: every order and refund came from the orders stream.
    assert both == alone
    assert both["refunds"] <= refunded


def test_an_incremental_run_with_nothing_new_lists_orders_once(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=2, orders=120) as store:
        first = tap_run(store.config(payout_grouping="none"))
        store.emulator.state.request_log.clear()
        second = tap_run(store.config(payout_grouping="none"), state=first.state)
        counted = paths(store)

    # Only the lookback window (10 minutes before the bookmark) is read again.
    bookmark = first.state["bookmarks"]["orders"]["replication_key_value"]
    assert all(r["updated_at"] >= "2026-11-01T11:50:00Z" for r in second.records("orders"))
    assert bookmark.startswith("2026-11-01T12:")
    assert (counted[STATUSES], counted[ORDERS]) == (1, 1)  # one list request, no probe
    assert counted["refunds"] <= len(second.records("orders"))  # the re-read orders' refunds


def test_payouts_read_alone_what_a_narrower_statuses_setting_leaves_out(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=0, orders=200) as store:
        every_status = tap_run(store.config())
        completed_only = tap_run(store.config(statuses=["completed"]))

    assert len(completed_only.records("orders")) < len(every_status.records("orders"))
    assert completed_only.records("payouts") == every_status.records("payouts")
