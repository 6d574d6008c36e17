"""The endpoint's compiled plans answer the tap's queries byte for byte as graphql-core does.

Each request is answered twice by one seeded shop, once with graphql-core's executor alone
(`plan_queries` off) and once through the compiled plan, the throttle bucket refilled and frozen
before each so that `extensions.cost` compares too; the answers must be the same bytes, as the
endpoint sends them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from starlette.responses import JSONResponse

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.shopify import app as shopify_app
from kconnector_sandbox.shopify import build
from tap_shopify_orders import queries

if TYPE_CHECKING:
    from kconnector_sandbox.shopify.app import ShopifyEmulator
    from kconnector_sandbox.shopify.state import ShopState

VERSION = "2026-01"
WINDOW = "updated_at:>='2000-01-01T00:00:00Z' AND updated_at:<='2100-01-01T00:00:00Z'"


@pytest.fixture(scope="module")
def emulator() -> ShopifyEmulator:
    """A seeded shop, only read by these tests."""
    return build(SandboxOptions(seed=11, orders=80, time_scale=50.0))


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per request graphql-core's executor answered (the plan's path adds none)."""
    calls: list[str] = []
    original = shopify_app.execute_sync

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("graphql-core")
        return original(*args, **kwargs)

    monkeypatch.setattr(shopify_app, "execute_sync", counted)
    return calls


def _answer(
    emulator: ShopifyEmulator,
    query: str,
    variables: dict[str, Any],
    *,
    planned: bool,
    operation_name: str | None = None,
) -> bytes:
    shop = emulator.shop("us")
    shop.bucket.clock = lambda: 0.0  # a full bucket that does not refill meanwhile
    shop.bucket.reset()
    emulator.plan_queries = planned
    try:
        body = emulator._execute(  # the endpoint's answer without its HTTP
            shop, VERSION, query, variables, operation_name, "http://sandbox/__bulk/us"
        )
    finally:
        emulator.plan_queries = True
    return bytes(JSONResponse(body).body)


def _same(
    emulator: ShopifyEmulator,
    query: str,
    variables: dict[str, Any],
    operation_name: str | None = None,
) -> dict[str, Any]:
    """Both answers, checked equal byte for byte; the answer as JSON."""
    reference = _answer(emulator, query, variables, planned=False, operation_name=operation_name)
    planned = _answer(emulator, query, variables, planned=True, operation_name=operation_name)
    assert planned == reference
    decoded: dict[str, Any] = json.loads(reference)
    return decoded


def _order_with(shop: ShopState, *, refunds: int, fulfillments: int) -> Any:
    return next(
        order
        for order in shop.visible_orders()
        if len(order.refunds) >= refunds and len(order.fulfillments) >= fulfillments
    )


def test_the_orders_pages_are_the_same_bytes_cursor_and_filter_included(
    emulator: ShopifyEmulator, executed: list[str]
) -> None:
    first = _same(emulator, queries.ORDERS_PAGE, {"first": 2, "after": None, "query": WINDOW})
    orders = first["data"]["orders"]
    assert len(orders["nodes"]) == 2
    assert first["extensions"]["cost"]["actualQueryCost"] > 0
    cursor = orders["pageInfo"]["endCursor"]
    second = _same(emulator, queries.ORDERS_PAGE, {"first": 2, "after": cursor, "query": WINDOW})
    assert second["data"]["orders"]["nodes"][0]["id"] not in {n["id"] for n in orders["nodes"]}
    # a filter with a term the search does not know: the answer carries its search warnings
    filtered = f"{WINDOW} AND financial_status:paid AND colour:blue"
    third = _same(emulator, queries.ORDERS_PAGE, {"first": 2, "after": None, "query": filtered})
    assert third["extensions"]["search"]
    assert len(executed) == 3  # the reference answers only


def test_an_order_with_refunds_and_its_nested_pages_are_the_same_bytes(
    emulator: ShopifyEmulator, executed: list[str]
) -> None:
    order = _order_with(emulator.shop("us"), refunds=1, fulfillments=1)
    answers = [
        _same(emulator, queries.full_list_query(item), {"id": order.id}) for item in queries.LISTS
    ]
    assert answers[0]["data"]["node"]["refunds"]
    for connection in queries.CONNECTIONS:
        owner = {
            "Order": order.id,
            "Refund": order.refunds[0].id,
            "Fulfillment": order.fulfillments[0].id,
        }[connection.owner]
        page = _same(emulator, queries.nested_page_query(connection), {"id": owner, "first": 1})
        after = page["data"]["node"][connection.field]["pageInfo"]["endCursor"]
        _same(
            emulator,
            queries.nested_page_query(connection),
            {"id": owner, "first": 1, "after": after},
        )
    refunds = [refund.id for refund in order.refunds]
    hydrated = _same(emulator, queries.nodes_query("Refund", queries.REFUND), {"ids": refunds})
    assert [node["id"] for node in hydrated["data"]["nodes"]] == refunds
    fulfillments = [fulfillment.id for fulfillment in order.fulfillments]
    _same(emulator, queries.nodes_query("Fulfillment", queries.FULFILLMENT), {"ids": fulfillments})
    assert len(executed) == len(queries.LISTS) + 2 * len(queries.CONNECTIONS) + 2


def test_the_taps_other_queries_are_the_same_bytes(
    emulator: ShopifyEmulator, executed: list[str]
) -> None:
    _same(emulator, queries.SHOP_ACCESS, {})
    count = _same(emulator, queries.ORDERS_COUNT, {"query": WINDOW, "limit": 10_000})
    assert count["data"]["ordersCount"]["count"] > 0
    deleted = "subject_type:ORDER AND action:destroy AND created_at:>='2000-01-01T00:00:00Z'"
    _same(emulator, queries.DELETED_ORDERS, {"first": 250, "after": None, "query": deleted})
    payouts = _same(
        emulator,
        queries.PAYOUTS_PAGE,
        {"first": 5, "after": None, "query": "issued_at:>='2000-01-01'"},
    )
    nodes = payouts["data"]["shopifyPaymentsAccount"]["payouts"]["nodes"]
    assert nodes
    transfer = f"payments_transfer_id:{nodes[0]['legacyResourceId']}"
    settled = _same(
        emulator, queries.PAYOUT_TRANSACTIONS, {"first": 50, "after": None, "query": transfer}
    )
    assert settled["data"]["shopifyPaymentsAccount"]["balanceTransactions"]["nodes"]
    assert len(executed) == 5  # the reference answers only


# Requests the plan does not complete (an error to report): (query, variables, operationName).
REFUSED: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "a cursor of no sort": (
        queries.ORDERS_PAGE,
        {"first": 2, "after": "bm9wZQ", "query": ""},
        None,
    ),
    "first over 250": (queries.DELETED_ORDERS, {"first": 251, "query": ""}, None),
    "a required variable missing": (queries.ORDERS_PAGE, {"first": 2}, None),
    "an unknown operation": (queries.ORDERS_COUNT, {"query": "", "limit": 5}, "Other"),
    "a variable of the wrong type": (queries.ORDERS_COUNT, {"query": 5, "limit": "x"}, None),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_the_plan_leaves_to_graphql_core_is_answered_the_same(
    emulator: ShopifyEmulator, executed: list[str], case: str
) -> None:
    query, variables, operation_name = REFUSED[case]
    answer = _same(emulator, query, variables, operation_name)
    assert answer.get("errors"), case
    assert "data" in answer, case  # executed, not refused before (cost, validation)
    assert len(executed) == 2  # graphql-core answered both


def test_an_access_denied_is_answered_the_same(
    emulator: ShopifyEmulator, executed: list[str]
) -> None:
    shop = emulator.shop("us")
    saved = shop.scopes
    shop.scopes = tuple(scope for scope in saved if scope != "read_orders")
    try:
        answer = _same(emulator, queries.ORDERS_PAGE, {"first": 2, "query": WINDOW})
    finally:
        shop.scopes = saved
    assert answer["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert len(executed) == 2
