"""The streams against a fake GraphQL endpoint: paging, windows, dedupe, deletions, bulk, state."""

from __future__ import annotations

import copy
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from graphql import parse

from kconnector_sandbox.shopify.cost import requested_cost
from kconnector_sandbox.shopify.graphql_api import load_schema
from tap_shopify_orders.errors import BulkOperationError, ShopifyFatalError
from tap_shopify_orders.queries import ORDERS_PAGE
from tap_shopify_orders.settings import DEFAULT_PAGE_SIZE
from tap_shopify_orders.streams import BULK_MIN_ORDERS
from tap_shopify_orders.throttle import MAX_SINGLE_QUERY_COST

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests_mock

BULK_URL = "https://storage.example/bulk/result.jsonl"


def with_id(order: dict[str, Any], legacy: int, updated_at: str, **changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(order)
    order["id"] = f"gid://shopify/Order/{legacy}"
    order["name"] = f"#{legacy}"
    order["updatedAt"] = updated_at
    order.update(changes)
    return order


@pytest.fixture
def orders(documented_order: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        with_id(documented_order, 1, "2026-11-02T00:00:00Z"),
        with_id(documented_order, 2, "2026-11-03T00:00:00Z"),
        with_id(documented_order, 3, "2026-11-04T00:00:00Z"),
    ]


@pytest.mark.usefixtures("no_sleep")
def test_pages_are_followed_and_a_repeated_order_is_emitted_once(
    fake_shopify: Any,
    bodies: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
) -> None:
    pages = {
        None: bodies.orders_page(orders[:2], next_cursor="c1"),
        "c1": bodies.orders_page([orders[1], orders[2]], next_cursor="c2"),
        "c2": bodies.orders_page([]),
    }
    fake_shopify.handlers["OrdersPage"] = lambda v: copy.deepcopy(pages[v["after"]])
    run = tap_run(mock_config)
    assert [r["source_id"] for r in run.records("orders")] == ["1", "2", "3"]
    assert [r["order_source_id"] for r in run.records("refunds")] == ["1", "2", "3"]
    assert run.state["bookmarks"]["orders"]["replication_key_value"] == "2026-11-04T00:00:00Z"


def test_refunds_are_emitted_beside_their_order_from_the_same_read(
    fake_shopify: Any,
    bodies: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
) -> None:
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page(copy.deepcopy(orders[:2]))
    run = tap_run(mock_config)
    kinds = [(m["stream"], m["record"]["id"]) for m in run.messages if m["type"] == "RECORD"]
    # The SDK syncs a record's child stream just before writing the record itself.
    assert kinds == [
        ("refunds", "shopify:kc-test.myshopify.com:920000000001"),
        ("orders", "shopify:kc-test.myshopify.com:1"),
        ("refunds", "shopify:kc-test.myshopify.com:920000000001"),
        ("orders", "shopify:kc-test.myshopify.com:2"),
    ]
    assert {r["updated_at"] for r in run.records("refunds")} == {
        "2026-11-02T00:00:00Z",
        "2026-11-03T00:00:00Z",
    }


def count_splits_the_whole_range(variables: dict[str, Any]) -> dict[str, Any]:
    """ordersCount: 99 orders over the whole range (over a window_target of 50), 1 in a part."""
    query = variables["query"]  # the whole range: `mock_config`'s start date to conftest's MOCK_NOW
    wide = "2026-11-01T00:00:00Z" in query and "<='2026-11-15T12:00:00Z'" in query
    return {"data": {"ordersCount": {"count": 99 if wide else 1, "precision": "EXACT"}}}


def test_too_costly_page_is_retried_with_fewer_orders(
    fake_shopify: Any,
    bodies: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
) -> None:
    def page(variables: dict[str, Any]) -> Any:
        if variables["first"] > 3:
            error = {"code": "MAX_COST_EXCEEDED", "cost": 3770, "maxCost": 1000}
            return {"errors": [{"message": "too costly", "extensions": error}]}
        return bodies.orders_page(copy.deepcopy(orders))

    fake_shopify.handlers["OrdersCount"] = count_splits_the_whole_range
    fake_shopify.handlers["OrdersPage"] = page
    run = tap_run(mock_config | {"page_size": 10}, window_target=50)
    firsts = [c["variables"]["first"] for c in fake_shopify.calls if c["operation"] == "OrdersPage"]
    # refused once, in the first window; the next window starts at the size Shopify accepted
    assert firsts == [10, 2, 2]
    assert {r["source_id"] for r in run.records("orders")} == {"1", "2", "3"}


def test_the_default_page_fits_shopifys_cost_cap(
    fake_shopify: Any,
    bodies: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
) -> None:
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page(copy.deepcopy(orders))
    tap_run(mock_config)
    firsts = [c["variables"]["first"] for c in fake_shopify.calls if c["operation"] == "OrdersPage"]
    assert firsts == [DEFAULT_PAGE_SIZE]
    # the emulator prices the tap's own query with Shopify's documented cost rules
    schema = load_schema()
    page_cost = requested_cost(
        schema, parse(ORDERS_PAGE), {"first": DEFAULT_PAGE_SIZE, "query": ""}, "OrdersPage"
    )
    assert page_cost <= MAX_SINGLE_QUERY_COST


def test_large_ranges_are_windowed_and_boundary_orders_deduplicated(
    fake_shopify: Any,
    bodies: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
) -> None:
    def page(variables: dict[str, Any]) -> Any:
        first_window = "updated_at:>='2026-11-01T00:00:00Z'" in variables["query"]
        return bodies.orders_page(copy.deepcopy(orders[:2] if first_window else orders[1:]))

    fake_shopify.handlers["OrdersCount"] = count_splits_the_whole_range
    fake_shopify.handlers["OrdersPage"] = page
    run = tap_run(mock_config, window_target=50)
    searches = [
        c["variables"]["query"] for c in fake_shopify.calls if c["operation"] == "OrdersPage"
    ]
    assert len(searches) == 2
    assert all(query.endswith("AND test:false") for query in searches)
    assert [r["source_id"] for r in run.records("orders")] == ["1", "2", "3"]


def test_test_orders_are_skipped_unless_asked_for(
    fake_shopify: Any,
    bodies: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
) -> None:
    orders[1]["test"] = True
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page(copy.deepcopy(orders))
    assert [r["source_id"] for r in tap_run(mock_config).records("orders")] == ["1", "3"]
    included = tap_run(mock_config | {"include_test_orders": True}).records("orders")
    assert [r["test"] for r in included] == [False, True, False]


def test_deleted_orders_come_through_as_tombstones_in_update_order(
    fake_shopify: Any,
    bodies: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
) -> None:
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page(copy.deepcopy(orders))
    fake_shopify.handlers["DeletedOrders"] = lambda _v: {
        "data": {
            "events": {
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "nodes": [
                    {
                        "id": "gid://shopify/BasicEvent/1",
                        "action": "destroy",
                        "createdAt": "2026-11-03T12:00:00Z",
                        "subjectId": "gid://shopify/Order/77",
                        "subjectType": "ORDER",
                    }
                ],
            }
        }
    }
    records = tap_run(mock_config).records("orders")
    assert [(r["source_id"], r["status"]) for r in records] == [
        ("1", "open"),
        ("2", "open"),
        ("77", "deleted"),
        ("3", "open"),
    ]
    query = next(c for c in fake_shopify.calls if c["operation"] == "DeletedOrders")["variables"]
    assert query["query"].startswith("subject_type:ORDER AND action:destroy AND created_at:>=")


def test_missing_read_orders_scope_stops_before_reading_orders(
    fake_shopify: Any, bodies: Any, mock_config: dict[str, Any], tap_run: Callable[..., Any]
) -> None:
    fake_shopify.handlers["ShopAccess"] = lambda _v: {
        "data": bodies.shop_access(("read_products",))
    }
    with pytest.raises(ShopifyFatalError, match="read_orders"):
        tap_run(mock_config)
    assert fake_shopify.operations() == ["ShopAccess"]


def test_missing_read_all_orders_with_old_start_date_warns_loudly(
    fake_shopify: Any,
    bodies: Any,
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_shopify.handlers["ShopAccess"] = lambda _v: {"data": bodies.shop_access(("read_orders",))}
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page([])
    with caplog.at_level(logging.WARNING):
        tap_run(mock_config | {"start_date": "2025-01-01T00:00:00Z", "bulk_threshold_days": 18000})
    assert "read_all_orders" in caplog.text
    assert "MISSING HISTORY" in caplog.text


def test_rerun_reads_from_the_bookmark_minus_the_lookback(
    fake_shopify: Any, bodies: Any, mock_config: dict[str, Any], tap_run: Callable[..., Any]
) -> None:
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page([])
    state = {
        "bookmarks": {
            "orders": {
                "replication_key": "updated_at",
                "replication_key_value": "2026-11-20T10:00:00Z",
            }
        }
    }
    tap_run(mock_config | {"lookback_window_minutes": 30}, state=state)
    query = next(c for c in fake_shopify.calls if c["operation"] == "OrdersPage")["variables"]
    assert query["query"].startswith("updated_at:>='2026-11-20T09:30:00Z' AND updated_at:<=")


# --- bulk --------------------------------------------------------------------------------------


def bulk_handlers(fake_shopify: Any, statuses: list[str]) -> None:
    polls = iter(statuses)
    fake_shopify.handlers["BulkRun"] = lambda _v: {
        "data": {
            "bulkOperationRunQuery": {
                "bulkOperation": {"id": "gid://shopify/BulkOperation/9", "status": "CREATED"},
                "userErrors": [],
            }
        }
    }

    def poll(variables: dict[str, Any]) -> dict[str, Any]:
        status = next(polls)
        return {
            "data": {
                "node": {
                    "id": variables["id"],
                    "status": status,
                    "errorCode": "INTERNAL_SERVER_ERROR" if status == "FAILED" else None,
                    "url": BULK_URL if status == "COMPLETED" else None,
                    "partialDataUrl": None,
                    "objectCount": "0",
                    "query": "",
                }
            }
        }

    fake_shopify.handlers["BulkStatus"] = poll
    fake_shopify.handlers["OrdersPage"] = lambda _v: {
        "data": {"orders": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}
    }
    fake_shopify.handlers["FullList"] = lambda _v: {"data": {"node": None}}


def hydrate(orders: list[dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A `nodes(ids:)` handler serving the orders' refunds and their fulfillments by id."""
    by_id: dict[str, Any] = {}
    for order in orders:
        by_id[order["id"]] = {"id": order["id"], "refunds": copy.deepcopy(order["refunds"])}
        by_id |= {f["id"]: copy.deepcopy(f) for f in order["fulfillments"]}
    return lambda v: {"data": {"nodes": [by_id.get(node_id) for node_id in v["ids"]]}}


def jsonl(order: dict[str, Any]) -> str:
    """The order as a bulk result: refunds and fulfillments (lists) without their connections."""
    row = {
        k: v
        for k, v in order.items()
        if k not in {"lineItems", "shippingLines", "discountApplications", "refunds"}
    }
    row["refunds"] = [{"id": r["id"]} for r in order["refunds"]]
    row["fulfillments"] = [
        {k: v for k, v in f.items() if k != "fulfillmentLineItems"} for f in order["fulfillments"]
    ]
    rows = [row]
    for field_name in ("lineItems", "shippingLines", "discountApplications"):
        rows += [{**node, "__parentId": order["id"]} for node in order[field_name]["nodes"]]
    return "\n".join(json.dumps(r, default=str) for r in rows) + "\n"


@pytest.mark.usefixtures("no_sleep")
def test_history_beyond_the_threshold_is_read_with_a_bulk_operation(
    fake_shopify: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
    requests_mock: requests_mock.Mocker,
) -> None:
    bulk_handlers(fake_shopify, ["RUNNING", "COMPLETED"])
    fake_shopify.handlers["Hydrate"] = hydrate(orders[:1])
    requests_mock.get(BULK_URL, text=jsonl(orders[0]))
    run = tap_run(mock_config | {"bulk_threshold_days": 1}, bulk_poll_seconds=0.0)
    assert [r["source_id"] for r in run.records("orders")] == ["1"]
    assert len(run.records("refunds")) == len(orders[0]["refunds"])
    hydrated = [c["variables"]["ids"] for c in fake_shopify.calls if c["operation"] == "Hydrate"]
    assert hydrated == [[orders[0]["id"]], [f["id"] for f in orders[0]["fulfillments"]]]
    [fulfillment] = run.records("orders")[0]["fulfillments"]
    expected = orders[0]["fulfillments"][0]["fulfillmentLineItems"]["nodes"]
    assert [line["quantity"] for line in fulfillment["line_items"]] == [
        line["quantity"] for line in expected
    ]
    assert "bulk_operation" not in run.state["bookmarks"]["orders"]
    started = [
        m
        for m in run.messages
        if m["type"] == "STATE" and "bulk_operation" in m["value"]["bookmarks"].get("orders", {})
    ]
    assert started, "the operation id is written to the state as soon as it starts"
    download = next(r for r in requests_mock.request_history if r.url == BULK_URL)
    assert "X-Shopify-Access-Token" not in download.headers  # a signed URL: the token stays home


def counted(count: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda _v: {"data": {"ordersCount": {"count": count, "precision": "EXACT"}}}


@pytest.mark.usefixtures("no_sleep")
def test_a_recent_range_too_large_to_page_is_read_with_a_bulk_operation(
    fake_shopify: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
    requests_mock: requests_mock.Mocker,
) -> None:
    # Every order of the run is newer than `bulk_threshold_days` (30 by default), but there are
    # too many to page: about 180 points each paged against about 10 in bulk.
    fake_shopify.handlers["OrdersCount"] = counted(BULK_MIN_ORDERS)
    bulk_handlers(fake_shopify, ["RUNNING", "COMPLETED"])
    fake_shopify.handlers["Hydrate"] = hydrate(orders[:1])
    requests_mock.get(BULK_URL, text=jsonl(orders[0]))
    run = tap_run(mock_config)
    assert fake_shopify.operations().count("BulkRun") == 1
    [bulk_search] = [
        c["variables"]["query"] for c in fake_shopify.calls if c["operation"] == "BulkRun"
    ]
    # The operation reads the run's whole range, up to its upper bound.
    assert "updated_at:>='2026-11-01T00:00:00Z'" in bulk_search
    assert "updated_at:<='2026-11-15T12:00:00Z'" in bulk_search  # conftest's MOCK_NOW
    assert [r["source_id"] for r in run.records("orders")] == ["1"]


@pytest.mark.usefixtures("no_sleep")
def test_a_recent_range_small_enough_is_paged_and_counted_once(
    fake_shopify: Any,
    bodies: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
) -> None:
    fake_shopify.handlers["OrdersCount"] = counted(BULK_MIN_ORDERS - 1)
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page(copy.deepcopy(orders))
    run = tap_run(mock_config)
    assert "BulkRun" not in fake_shopify.operations()
    # The count that decides is the one the paging plan starts from: no request more.
    assert fake_shopify.operations().count("OrdersCount") == 1
    assert [r["source_id"] for r in run.records("orders")] == ["1", "2", "3"]


@pytest.mark.usefixtures("no_sleep")
def test_failed_bulk_operation_stops_the_run(
    fake_shopify: Any, mock_config: dict[str, Any], tap_run: Callable[..., Any]
) -> None:
    bulk_handlers(fake_shopify, ["RUNNING", "FAILED"])
    with pytest.raises(BulkOperationError, match="INTERNAL_SERVER_ERROR"):
        tap_run(mock_config | {"bulk_threshold_days": 1}, bulk_poll_seconds=0.0)


def saved_bulk_state() -> dict[str, Any]:
    """State left by a run that started bulk operation 5 and stopped before it finished."""
    return {
        "bookmarks": {
            "orders": {
                "bulk_operation": {
                    "id": "gid://shopify/BulkOperation/5",
                    "start": "2026-11-01T00:00:00Z",
                    "end": "2026-11-20T00:00:00Z",
                }
            }
        }
    }


@pytest.mark.usefixtures("no_sleep")
def test_next_run_after_a_failed_bulk_operation_starts_a_new_one(
    fake_shopify: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
    requests_mock: requests_mock.Mocker,
) -> None:
    bulk_handlers(fake_shopify, ["FAILED", "COMPLETED"])
    orders[1]["refunds"] = []
    fake_shopify.handlers["Hydrate"] = hydrate(orders[1:2])
    requests_mock.get(BULK_URL, text=jsonl(orders[1]))
    state = saved_bulk_state()
    run = tap_run(mock_config | {"bulk_threshold_days": 1}, state=state, bulk_poll_seconds=0.0)
    assert fake_shopify.operations().count("BulkRun") == 1
    assert [r["source_id"] for r in run.records("orders")] == ["2"]
    assert "bulk_operation" not in run.state["bookmarks"]["orders"]


@pytest.mark.usefixtures("no_sleep")
def test_interrupted_bulk_run_resumes_the_same_operation(
    fake_shopify: Any,
    orders: list[dict[str, Any]],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
    requests_mock: requests_mock.Mocker,
) -> None:
    bulk_handlers(fake_shopify, ["RUNNING", "COMPLETED"])
    orders[1]["refunds"] = []
    fake_shopify.handlers["Hydrate"] = hydrate(orders[1:2])
    requests_mock.get(BULK_URL, text=jsonl(orders[1]))
    state = saved_bulk_state()
    run = tap_run(mock_config | {"bulk_threshold_days": 1}, state=state, bulk_poll_seconds=0.0)
    assert "BulkRun" not in fake_shopify.operations()
    polled = next(c for c in fake_shopify.calls if c["operation"] == "BulkStatus")
    assert polled["variables"]["id"] == "gid://shopify/BulkOperation/5"
    assert [r["source_id"] for r in run.records("orders")] == ["2"]
