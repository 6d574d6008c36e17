"""End to end against the Shopify emulator: validation and reconciliation of a large store,
state across runs, throttling, shop errors and bulk operations."""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import requests

from kconnector_canonical import validate
from tap_shopify_orders.errors import BulkOperationError, ShopifyFatalError
from tap_shopify_orders.tap import TapShopifyOrders

if TYPE_CHECKING:
    from collections.abc import Callable


def amount(money: Any) -> Decimal:
    return Decimal(str(money.shop_money.amount))


@pytest.mark.parametrize("shop", ["us", "ca", "uk"])
def test_every_record_of_a_1000_order_store_validates_and_reconciles(
    large_store: Any, tap_run: Callable[..., Any], shop: str
) -> None:
    # Read through the bulk path (the backfill a store this size takes).
    run = tap_run(large_store.config(shop, bulk_threshold_days=1), bulk_poll_seconds=0.05)
    orders, refunds = run.records("orders"), run.records("refunds")
    state = large_store.shop(shop)
    expected = {str(o.legacy_resource_id) for o in state.visible_orders() if not o.test}
    assert {r["source_id"] for r in orders} == expected
    assert len(expected) >= 950
    problems = {r["id"]: validate(r, "orders") for r in orders}
    problems |= {r["id"]: validate(r, "refunds") for r in refunds}
    assert {k: v for k, v in problems.items() if v} == {}
    for record in orders:
        source = state.find(int(record["source_id"]))
        totals = record["totals"]
        assert Decimal(totals["total"]["amount"]) == amount(source.total_price_set)
        assert Decimal(totals["tax"]["amount"]) == amount(source.total_tax_set)
        assert Decimal(totals["refunded"]["amount"]) == amount(source.total_refunded_set)
        assert not [f for f in record["fee_lines"] if f["kind"] == "other"], "no unexplained fee"
        shopify_refunds = {r.id.rsplit("/", 1)[-1]: r for r in source.refunds}
        for refund in (r for r in refunds if r["order_source_id"] == record["source_id"]):
            total = amount(shopify_refunds[refund["source_id"]].total_refunded_set)
            assert Decimal(refund["totals"]["total"]["amount"]) == total
    assert sum(len(state.find(int(r["source_id"])).refunds) for r in orders) == len(refunds)
    # the store covers the cases the normalisation handles
    assert any(r["customer"]["is_guest"] for r in orders)
    assert any(f["kind"] == "tip" for r in orders for f in r["fee_lines"])
    assert any(line["gift_card"] for r in orders for line in r["line_items"])
    assert any(t["gateway"] == "gift_card" for r in orders for t in r["transactions"])
    assert any(r["presentment_currency"] for r in orders)
    assert any(r["status"] == "cancelled" for r in orders)
    assert any(r["adjustments"] for r in refunds)
    assert any(r["shipping_lines"] for r in refunds)


def test_paged_and_bulk_reads_emit_the_same_records(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    paged = tap_run(small_store.config("uk"))
    bulk = tap_run(small_store.config("uk", bulk_threshold_days=1), bulk_poll_seconds=0.05)
    for stream in ("orders", "refunds"):
        by_id = {r["id"]: json.dumps(r, sort_keys=True) for r in paged.records(stream)}
        assert by_id == {r["id"]: json.dumps(r, sort_keys=True) for r in bulk.records(stream)}


def admin(store: Any, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
    response = requests.request(method, f"{store.url}/__admin/us{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def test_rerun_with_state_reads_exactly_the_changed_orders(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    config = small_store.config("us", lookback_window_minutes=0)
    first = tap_run(config)
    bookmark = first.state["bookmarks"]["orders"]["replication_key_value"]
    ids = sorted(int(r["source_id"]) for r in first.records("orders") if r["status"] == "open")
    edited, refunded, cancelled, deleted = ids[0], ids[1], ids[2], ids[3]
    admin(small_store, f"/orders/{edited}/edit", {"note": "gift wrap"})
    admin(small_store, f"/orders/{refunded}/refund", {"amount": "5.00", "note": "goodwill"})
    admin(small_store, f"/orders/{cancelled}/cancel", {"reason": "CUSTOMER"})
    admin(small_store, f"/orders/{deleted}", method="DELETE")
    added = admin(small_store, "/orders", {})["id"]

    second = tap_run(config, state=first.state)
    at_bookmark = {r["source_id"] for r in first.records("orders") if r["updated_at"] == bookmark}
    changed = {str(i) for i in (edited, refunded, cancelled, deleted, added)}
    by_id = {r["source_id"]: r for r in second.records("orders")}
    assert set(by_id) == changed | at_bookmark
    assert by_id[str(edited)]["note"] == "gift wrap"
    assert by_id[str(cancelled)]["status"] == "cancelled"
    assert by_id[str(deleted)]["status"] == "deleted"
    new_refunds = [r for r in second.records("refunds") if r["order_source_id"] == str(refunded)]
    assert any(r["totals"]["total"]["amount"] == "5.00" for r in new_refunds)
    assert second.state["bookmarks"]["orders"]["replication_key_value"] > bookmark


def test_lookback_rereads_only_recent_orders_and_misses_nothing(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    first = tap_run(small_store.config("us", lookback_window_minutes=0))
    bookmark = first.state["bookmarks"]["orders"]["replication_key_value"]
    config = small_store.config("us", lookback_window_minutes=3 * 24 * 60)
    second = tap_run(config, state=first.state)
    reread = second.records("orders")
    assert reread
    floor = {r["updated_at"] for r in first.records("orders")}
    assert all(r["updated_at"] in floor for r in reread)
    newest_first = sorted(first.records("orders"), key=lambda r: r["updated_at"], reverse=True)
    assert newest_first[0]["source_id"] in {r["source_id"] for r in reread}
    assert len(reread) < len(first.records("orders"))
    assert max(r["updated_at"] for r in reread) == bookmark


def test_steady_run_inside_the_real_bucket_is_never_throttled(
    store_factory: Callable[..., Any],
) -> None:
    with store_factory(orders=14, time_scale=1.0, seed=5) as store:
        tap = TapShopifyOrders(config=store.config("us"))
        with contextlib.redirect_stdout(io.StringIO()):
            tap.sync_all()
        log = requests.get(f"{store.url}/__admin/requests", timeout=10).json()
    assert tap.pacer.waited_seconds > 0, "the run must have reached the bucket's limit"
    assert log["by_status"] == {"200": log["count"]}
    # the emulator's own count: no query throttled, and none refused as too costly (the
    # default page size fits the 1,000-point cap)
    assert not log["graphql_errors"]


@pytest.mark.parametrize(
    ("state", "status", "cause"),
    [("frozen", 402, "frozen"), ("locked", 423, "locked"), ("token_revoked", 401, "revoked")],
)
def test_shop_states_stop_the_run_with_cause_and_fix(
    small_store: Any, tap_run: Callable[..., Any], state: str, status: int, cause: str
) -> None:
    admin(small_store, "/state", {"status": state})
    with pytest.raises(ShopifyFatalError) as raised:
        tap_run(small_store.config("us"))
    assert raised.value.status == status
    assert cause in str(raised.value)


def test_unknown_api_version_stops_the_run_naming_the_setting(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    with pytest.raises(ShopifyFatalError, match="api_version"):
        tap_run(small_store.config("us", api_version="2099-01"))


def test_token_without_read_orders_stops_the_run(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    admin(small_store, "/scopes", {"scopes": ["read_products"]})
    with pytest.raises(ShopifyFatalError, match="read_orders"):
        tap_run(small_store.config("us"))


@pytest.mark.parametrize("outcome", ["fail", "timeout"])
def test_failed_bulk_operation_stops_the_run(
    small_store: Any, tap_run: Callable[..., Any], outcome: str
) -> None:
    admin(small_store, "/bulk", {"next": outcome})
    with pytest.raises(BulkOperationError, match="FAILED"):
        tap_run(small_store.config("us", bulk_threshold_days=1), bulk_poll_seconds=0.05)


def test_large_fulfillment_is_read_completely(
    store_factory: Callable[..., Any], tap_run: Callable[..., Any]
) -> None:
    with store_factory(orders=30, time_scale=600, seed=11) as store:
        run = tap_run(store.config("us"))
        big = max(run.records("orders"), key=lambda r: len(r["line_items"]))
        source = store.shop("us").find(int(big["source_id"]))
    assert [len(f["line_items"]) for f in big["fulfillments"]] == [
        len(f.fulfillment_line_items) for f in source.fulfillments
    ]


def test_line_items_carry_product_and_variant_ids_null_for_a_deleted_product(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    run = tap_run(small_store.config("us"))
    state = small_store.shop("us")
    expected: dict[str, tuple[str | None, str | None]] = {}
    for order in state.orders.values():
        for line in order.line_items:
            variant = line.variant
            expected[line.id.rsplit("/", 1)[-1]] = (
                (str(variant.product.legacy_resource_id), str(variant.legacy_resource_id))
                if variant
                else (None, None)
            )
    emitted = {
        line["line_id"]: (line["product_id"], line["variant_id"])
        for record in run.records("orders")
        for line in record["line_items"]
    }
    assert emitted
    assert emitted == {line_id: expected[line_id] for line_id in emitted}
    assert (None, None) in emitted.values(), "the store sold a product deleted since"
