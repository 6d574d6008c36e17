"""The GraphQL conversation: retries, throttling, error mapping (requests-mock, no network)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tap_shopify_orders.client import MAX_TRIES, read_graphql_body, retry_waits
from tap_shopify_orders.errors import (
    QueryCostTooHighError,
    ShopifyFatalError,
    ShopifyHostAnswerError,
    ShopifyRetriableError,
    ThrottledError,
    fatal_for_status,
    retry_after_seconds,
)
from tap_shopify_orders.streams import OrdersStream
from tap_shopify_orders.tap import TapShopifyOrders
from tap_shopify_orders.throttle import CostPacer

if TYPE_CHECKING:
    import requests_mock

SHOP_QUERY = "query ShopAccess { shop { currencyCode } }"


@pytest.fixture
def stream(mock_config: dict[str, Any]) -> OrdersStream:
    orders = TapShopifyOrders(config=mock_config).streams["orders"]
    assert isinstance(orders, OrdersStream)
    return orders


def ok(_variables: object) -> dict[str, Any]:
    return {"data": {"shop": {"currencyCode": "USD"}}}


def test_429_storm_is_survived_honouring_retry_after(
    stream: OrdersStream, fake_shopify: Any, no_sleep: list[float]
) -> None:
    too_many = (429, {"errors": "Exceeded 2 calls per second"}, {"Retry-After": "2.0"})
    answers = iter([too_many] * (MAX_TRIES - 1))
    fake_shopify.handlers["ShopAccess"] = lambda v: next(answers, None) or ok(v)
    data = stream.graphql("ShopAccess", SHOP_QUERY, {})
    assert data == {"shop": {"currencyCode": "USD"}}
    assert no_sleep == [2.0] * (MAX_TRIES - 1)


def test_throttled_graphql_error_waits_until_the_requested_cost_is_restored(
    stream: OrdersStream, fake_shopify: Any, bodies: Any, no_sleep: list[float]
) -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": bodies.cost(requested=500, available=100.0),
    }
    answers = iter([throttled])
    fake_shopify.handlers["ShopAccess"] = lambda v: next(answers, None) or ok(v)
    assert stream.graphql("ShopAccess", SHOP_QUERY, {}) == {"shop": {"currencyCode": "USD"}}
    assert no_sleep[0] == pytest.approx(4.0)  # (500 - 100) points at 100 points/s


def test_server_errors_and_resets_are_retried_with_backoff(
    stream: OrdersStream, fake_shopify: Any, no_sleep: list[float]
) -> None:
    answers = iter([(502, "Bad Gateway"), (503, "Service Unavailable")])
    fake_shopify.handlers["ShopAccess"] = lambda v: next(answers, None) or ok(v)
    assert stream.graphql("ShopAccess", SHOP_QUERY, {})["shop"]["currencyCode"] == "USD"
    assert len(no_sleep) == 2


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("<html><body>Store unavailable</body></html>", "an HTML page"),
        ('{"data": {"shop": ', "not JSON (or JSON cut short)"),
        ('{"error": "Service is under maintenance"}', "a success without `data`"),
        ("[1, 2]", "JSON that is not an object"),
    ],
)
def test_a_non_graphql_answer_stops_at_once_naming_the_likely_causes(
    stream: OrdersStream, fake_shopify: Any, no_sleep: list[float], body: str, answer: str
) -> None:
    fake_shopify.handlers["ShopAccess"] = lambda _v: body
    with pytest.raises(ShopifyHostAnswerError) as raised:
        stream.graphql("ShopAccess", SHOP_QUERY, {})
    message = str(raised.value)
    assert answer in message
    assert "`shop` domain may be wrong" in message
    assert "proxy" in message
    assert "maintenance" in message
    assert "ShopAccess got" in message
    assert "Service is under maintenance" not in message  # never the body itself
    assert len(fake_shopify.calls) == 1
    assert no_sleep == []


@pytest.mark.parametrize(
    ("status", "cause", "fix"),
    [
        (401, "revoked", "create a new Admin API access token"),
        (402, "frozen", "pay the outstanding bill"),
        (403, "scope", "read_orders"),
        (404, "does not exist", "api_version"),
        (423, "locked", "Shopify support"),
    ],
)
def test_auth_and_shop_errors_stop_the_run_naming_cause_and_fix(  # noqa: PLR0913, PLR0917 - fixtures and parameters
    stream: Any, fake_shopify: Any, no_sleep: list[float], status: int, cause: str, fix: str
) -> None:
    fake_shopify.handlers["ShopAccess"] = lambda _v: (status, {"errors": "Customer PII here"})
    with pytest.raises(ShopifyFatalError) as raised:
        stream.graphql("ShopAccess", SHOP_QUERY, {})
    message = str(raised.value)
    assert cause in message
    assert fix in message
    assert "PII" not in message
    assert len(fake_shopify.calls) == 1
    assert no_sleep == []  # no retry of a fatal answer


def test_access_denied_graphql_error_is_fatal(stream: OrdersStream, fake_shopify: Any) -> None:
    fake_shopify.handlers["ShopAccess"] = lambda _v: {
        "errors": [{"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}]
    }
    with pytest.raises(ShopifyFatalError, match="scope is missing"):
        stream.graphql("ShopAccess", SHOP_QUERY, {})


def test_max_cost_exceeded_is_reported_with_the_costs(
    stream: OrdersStream, fake_shopify: Any
) -> None:
    fake_shopify.handlers["ShopAccess"] = lambda _v: {
        "errors": [
            {
                "message": "too costly",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 3770, "maxCost": 1000},
            }
        ]
    }
    with pytest.raises(QueryCostTooHighError) as raised:
        stream.graphql("ShopAccess", SHOP_QUERY, {})
    assert (raised.value.cost, raised.value.max_cost) == (3770, 1000)


def test_request_carries_the_token_header_and_pinned_version(
    stream: OrdersStream, requests_mock: requests_mock.Mocker
) -> None:
    requests_mock.post(stream.get_url(None), json=ok(None))
    stream.graphql("ShopAccess", SHOP_QUERY, {})
    sent = requests_mock.request_history[0]
    assert sent.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert sent.url == "https://kc-test.myshopify.com/admin/api/2026-01/graphql.json"
    assert sent.json()["operationName"] == "ShopAccess"


def test_numbers_in_responses_are_parsed_as_decimals_not_floats() -> None:
    response = requests.Response()
    response._content = json.dumps({"data": {"rate": 0.045}}).encode()
    data = read_graphql_body(response, CostPacer(), "Op")
    assert data["rate"] == Decimal("0.045")


def test_retry_waits_use_hints_else_full_jitter_exponential() -> None:
    waits = retry_waits(base=1.0, cap=8.0, uniform=lambda: 1.0)
    next(waits)
    assert waits.send(ShopifyRetriableError("x")) == 1.0
    assert waits.send(ShopifyRetriableError("x")) == 2.0
    assert waits.send(ThrottledError("x", wait_seconds=3.5)) == 3.5
    assert waits.send(ShopifyRetriableError("x")) == 8.0  # capped
    assert waits.send(ThrottledError("x", wait_seconds=99.0)) == 8.0


def test_retry_after_is_read_in_seconds_and_date_forms() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("2.0") == 2.0
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Sun, 01 Mar 2026 13:00:00 GMT", now=now) == 120.0  # capped
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_status_table_retries_5xx_and_429_and_stops_on_other_4xx() -> None:
    assert fatal_for_status(500) is None
    assert fatal_for_status(429) is None
    assert fatal_for_status(400) is not None
