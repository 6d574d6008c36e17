"""Full runs against the WooCommerce emulator: reconciliation, paging, state, deletions, faults."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kconnector_canonical import validate
from kconnector_sandbox.faults import FaultPlan
from kconnector_sandbox.woocommerce.api_keys import Permission
from tap_woocommerce_orders.store_errors import StoreError

NOT_ORDERS = {"checkout-draft"}


def assert_all_valid(output: Any) -> None:
    for stream in ("orders", "refunds"):
        for record in output.records(stream):
            problems = validate(record, stream)
            assert problems == [], (record["id"], [str(p) for p in problems])


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["us", "ca-compound", "eu-inclusive"])
def test_every_record_of_a_1000_order_store_validates_and_reconciles_to_the_cent(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any], seed: int
) -> None:
    with fresh_store(seed=seed, orders=1000) as store:
        output = tap_run(store.config())
        state = store.emulator.state
        source = {str(o["id"]): o for o in state.all_orders() if o["status"] not in NOT_ORDERS}
        source_refunds = {
            str(r["id"]): r for order_id in source for r in state.refunds(int(order_id))
        }

    assert_all_valid(output)
    orders = {r["source_id"]: r for r in output.records("orders")}
    assert set(orders) == set(source)  # trash included, drafts left out
    for order_id, record in orders.items():
        original = source[order_id]
        assert Decimal(record["totals"]["total"]["amount"]) == Decimal(original["total"])
        assert Decimal(record["totals"]["tax"]["amount"]) == Decimal(original["total_tax"])
        assert record["updated_at"] == original["date_modified_gmt"] + "Z"
        assert (record["status"] == "deleted") == (original["status"] == "trash")
    refunds = {r["source_id"]: r for r in output.records("refunds")}
    assert set(refunds) == set(source_refunds)
    for refund_id, record in refunds.items():
        assert Decimal(record["totals"]["total"]["amount"]) == Decimal(
            source_refunds[refund_id]["amount"]
        )
    kinds = {a["kind"] for r in refunds.values() for a in r["adjustments"]}
    assert "amount_only" in kinds
    assert any(r["line_items"] for r in refunds.values())


def test_orders_leaving_the_window_while_pages_are_read_miss_nothing(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=0, orders=300) as store:
        # One window holds the whole history, so no probe request comes before the first page;
        # the edits (stamped before the run's end) move orders inside it as well as out of it.
        config = store.config(
            start_date="2026-08-01T00:00:00Z", window_days=120, per_page=20, statuses=["any"]
        )
        first_ids = sorted(
            o["id"] for o in store.emulator.state.all_orders() if o["status"] != "trash"
        )
        modified, trashed = first_ids[:5], first_ids[5:8]
        # Applied right after the first page is served: eight orders leave the first window,
        # and every later order moves up eight positions.
        store.admin("POST", "on-next-page", {"modify": modified, "trash": trashed, "create": 2})
        output = tap_run(config)
        after = store.emulator.state.all_orders()
        requested_pages = [
            entry for entry in store.emulator.state.request_log if entry.path == "/wc/v3/orders"
        ]

    emitted = {r["source_id"]: r for r in output.records("orders")}
    expected = {str(o["id"]) for o in after if o["status"] not in {"trash", *NOT_ORDERS}}
    assert expected <= set(emitted)
    for order_id in modified:
        assert emitted[str(order_id)]["updated_at"] == "2026-11-10T12:00:00Z"
    assert len(requested_pages) > 300 // 20 + 1  # the walk stepped back to re-read


def test_rerun_with_state_emits_the_changed_orders_and_nothing_is_missed(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=2, orders=200) as store:
        first = tap_run(store.config())
        orders = [o for o in store.emulator.state.all_orders() if o["status"] == "completed"]
        modified = [orders[0]["id"], orders[1]["id"]]
        refunded = orders[2]["id"]
        trashed = orders[3]["id"]
        for order_id in modified:
            store.admin("POST", f"orders/{order_id}/modify", {"customer_note": "Call first"})
        refund = store.admin("POST", f"orders/{refunded}/refunds", {"amount": "1.00"})
        store.admin("POST", f"orders/{trashed}/trash")
        created = store.admin("POST", "orders", {"status": "processing"})
        second = tap_run(store.config(), state=first.state)

    bookmark = first.state["bookmarks"]["orders"]["replication_key_value"]
    changed = {str(i) for i in [*modified, refunded, trashed, created["id"]]}
    rerun = {r["source_id"]: r for r in second.records("orders")}
    assert changed <= set(rerun)
    assert all(r["updated_at"] >= "2026-11-01T11:50:00Z" for r in rerun.values())
    assert len(rerun) < len(first.records("orders"))
    assert rerun[str(trashed)]["status"] == "deleted"
    assert rerun[str(modified[0])]["note"] == "Call first"
    assert str(refund["id"]) in {r["source_id"] for r in second.records("refunds")}
    assert second.state["bookmarks"]["orders"]["replication_key_value"] > bookmark


def test_trashed_orders_are_read_only_when_trash_is_listed(
    eu_store: Any, tap_run: Callable[..., Any]
) -> None:
    with_trash = tap_run(eu_store.config())
    without_trash = tap_run(eu_store.config(statuses=["any"]))

    deleted = [r for r in with_trash.records("orders") if r["status"] == "deleted"]
    assert deleted
    assert all(r["status"] != "deleted" for r in without_trash.records("orders"))
    trashed = {o["id"] for o in eu_store.emulator.state.all_orders() if o["status"] == "trash"}
    assert {r["source_id"] for r in deleted} == {str(i) for i in trashed}


def test_query_string_auth_reads_a_store_that_strips_the_authorization_header(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=0, orders=30) as store:
        store.admin("POST", "switches", {"strip_authorization": True})
        with pytest.raises(StoreError) as caught:
            tap_run(store.config())
        output = tap_run(store.config(auth_method="query_string"))

    assert caught.value.setting == "auth_method"
    assert "query_string" in str(caught.value)
    assert output.records("orders")


@pytest.mark.parametrize(
    ("switch", "overrides", "setting", "words"),
    [
        ({"plain_permalinks": True}, {}, "url", "Permalinks"),
        ({"rest_api_disabled": True}, {}, None, "security plugin"),
        ({"html_cache": True}, {}, "url", "HTML page instead of JSON"),
        (
            {"waf_block_scripts": True},
            {"user_agent": "python-requests/2.32"},
            "user_agent",
            "User-Agent",
        ),
    ],
    ids=["plain-permalinks", "rest-disabled", "html-cache", "waf"],
)
def test_host_misbehaviour_fails_with_the_fix(  # noqa: PLR0913, PLR0917 - parametrised cases
    fresh_store: Callable[..., Any],
    tap_run: Callable[..., Any],
    switch: dict[str, Any],
    overrides: dict[str, Any],
    setting: str | None,
    words: str,
) -> None:
    with fresh_store(seed=0, orders=10) as store:
        store.admin("POST", "switches", switch)
        with pytest.raises(StoreError) as caught:
            tap_run(store.config(**overrides))

    assert caught.value.setting == setting
    assert words in str(caught.value)


def test_default_user_agent_passes_a_firewall_that_blocks_scripts(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with fresh_store(seed=0, orders=10) as store:
        store.admin("POST", "switches", {"waf_block_scripts": True})
        output = tap_run(store.config())

    assert output.records("orders")


@pytest.mark.parametrize(
    ("credentials", "setting", "words"),
    [
        ("wrong_secret", "consumer_secret", "consumer_secret"),
        ("write_only", "consumer_key", "Read permission"),
        ("unknown_key", "auth_method", "woocommerce_rest_cannot_view"),
    ],
)
def test_key_problems_fail_naming_the_setting(
    fresh_store: Callable[..., Any],
    tap_run: Callable[..., Any],
    credentials: str,
    setting: str | None,
    words: str,
) -> None:
    with fresh_store(seed=0, orders=10) as store:
        config = store.config()
        if credentials == "wrong_secret":
            config["consumer_secret"] = "cs_wrong"
        elif credentials == "write_only":
            key = store.emulator.key_with(Permission.WRITE)
            config.update(consumer_key=key.consumer_key, consumer_secret=key.consumer_secret)
        else:
            config["consumer_key"] = "ck_unknown"
        with pytest.raises(StoreError) as caught:
            tap_run(config)

    assert caught.value.setting == setting
    assert words in str(caught.value)
    assert config["consumer_secret"] not in str(caught.value)


def test_injected_faults_are_retried_and_every_order_still_arrives(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    with fresh_store(seed=1, orders=200) as store:
        clean = tap_run(store.config())
        store.emulator.faults.configure(
            FaultPlan.parse("429=0.1,500=0.05,502=0.05,reset=0.03", seed=7)
        )
        faulty = tap_run(store.config(max_retries=8))

    assert waits
    assert faulty.records("orders") == clean.records("orders")
    assert faulty.records("refunds") == clean.records("refunds")


def test_orders_moving_inside_the_window_while_pages_are_read_miss_nothing(
    fresh_store: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    # The edits are stamped before the run's end (a store clock running behind the tap's):
    # the orders stay in the window but move to its end, and every order after them moves up.
    with fresh_store(seed=1, orders=60) as store:
        config = store.config(
            start_date="2026-08-01T00:00:00Z", window_days=120, per_page=10, statuses=["any"]
        )
        visible = [o for o in store.emulator.state.all_orders() if o["status"] != "trash"]
        first_page = sorted(visible, key=lambda o: (o["date_modified"], o["id"]))[:10]
        store.admin("POST", "on-next-page", {"modify": [o["id"] for o in first_page[:4]]})
        output = tap_run(config)
        after = store.emulator.state.all_orders()

    emitted = {r["source_id"] for r in output.records("orders")}
    expected = {str(o["id"]) for o in after if o["status"] not in {"trash", *NOT_ORDERS}}
    assert emitted == expected
