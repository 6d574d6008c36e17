import base64
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
import requests_mock

from tap_woocommerce_orders.store_errors import StoreError

ORDERS = re.compile(r"^https://shop\.example\.com/wp-json/wc/v3/orders")
CONFIG = {
    "url": "https://shop.example.com",
    "consumer_key": "ck_abc",
    "consumer_secret": "cs_def",
    "start_date": "2026-01-01T00:00:00Z",
    "window_days": 366,
    "statuses": ["any"],
    "max_retries": 3,
    # These tests count the orders stream's requests; the estimated payouts read orders too.
    "payout_grouping": "none",
}


@pytest.fixture
def order(load_fixture: Callable[[str], Any]) -> Any:
    document = load_fixture("order_docs_727.json")
    document["date_modified_gmt"] = "2026-06-01T10:00:00"
    for line in document["tax_lines"]:
        line["rate_percent"] = "7.5"
    return document


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr("time.sleep", recorded.append)
    return recorded


def as_json(document: object) -> Any:
    # requests-mock serialises with json.dumps, which cannot take Decimal.
    import json  # noqa: PLC0415

    return json.loads(json.dumps(document, default=str))


def one_page(order: dict[str, Any]) -> Any:
    return {"json": [as_json(order)], "headers": {"X-WP-Total": "1", "X-WP-TotalPages": "1"}}


def test_basic_auth_sends_the_key_in_the_authorization_header_only(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any], order: dict[str, Any]
) -> None:
    requests_mock.get(ORDERS, **one_page(order))
    tap_run(CONFIG)

    request = requests_mock.request_history[0]
    expected = base64.b64encode(b"ck_abc:cs_def").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert "consumer_secret" not in request.url


def test_query_string_auth_sends_the_key_as_parameters_without_a_header(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any], order: dict[str, Any]
) -> None:
    requests_mock.get(ORDERS, **one_page(order))
    tap_run({**CONFIG, "auth_method": "query_string"})

    request = requests_mock.request_history[0]
    assert "Authorization" not in request.headers
    assert request.qs["consumer_key"] == ["ck_abc"]
    assert request.qs["consumer_secret"] == ["cs_def"]


def test_list_request_uses_closed_gmt_window_ordered_by_modification_date(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any], order: dict[str, Any]
) -> None:
    requests_mock.get(ORDERS, **one_page(order))
    tap_run(CONFIG)

    query = requests_mock.request_history[0].qs
    assert query["dates_are_gmt"] == ["true"]
    assert query["modified_after"] == ["2025-12-31t23:59:59"]  # requests-mock lower-cases
    assert "modified_before" in query
    # Sorted by modification date, so a STATE's position means something (resumable runs).
    assert (query["orderby"], query["order"], query["status"]) == (["modified"], ["asc"], ["any"])
    assert query["per_page"] == ["100"]


def test_configured_user_agent_is_sent(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any], order: dict[str, Any]
) -> None:
    requests_mock.get(ORDERS, **one_page(order))
    tap_run({**CONFIG, "user_agent": "Mozilla/5.0 (compatible; ShopSync)"})

    assert requests_mock.request_history[0].headers["User-Agent"] == (
        "Mozilla/5.0 (compatible; ShopSync)"
    )


def test_429_is_retried_after_the_wait_the_store_asks(
    requests_mock: requests_mock.Mocker,
    tap_run: Callable[..., Any],
    order: dict[str, Any],
    waits: list[float],
) -> None:
    requests_mock.get(
        ORDERS,
        [
            {"status_code": 429, "text": "<html>busy</html>", "headers": {"Retry-After": "7"}},
            one_page(order),
        ],
    )
    output = tap_run(CONFIG)

    assert waits == [7.0]
    assert len(output.records("orders")) == 1


def test_server_errors_and_timeouts_are_retried_with_growing_waits(
    requests_mock: requests_mock.Mocker,
    tap_run: Callable[..., Any],
    order: dict[str, Any],
    waits: list[float],
) -> None:
    requests_mock.get(
        ORDERS,
        [
            {"status_code": 502, "text": "<html>bad gateway</html>"},
            {"exc": requests.exceptions.ConnectTimeout},
            one_page(order),
        ],
    )
    output = tap_run(CONFIG)

    assert waits == [1.0, 2.0]
    assert len(output.records("orders")) == 1


def test_retries_run_out_with_a_clear_error(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any], waits: list[float]
) -> None:
    requests_mock.get(
        ORDERS,
        status_code=500,
        json={"code": "internal_server_error", "message": "<p>critical</p>", "data": {}},
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(Exception, match="critical error") as caught:
        tap_run(CONFIG)

    assert len(waits) == 3
    assert requests_mock.call_count == 4
    assert "<p>" not in str(caught.value)


def test_html_instead_of_json_fails_saying_a_cache_serves_pages(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any]
) -> None:
    requests_mock.get(
        ORDERS,
        text="<!DOCTYPE html><html><body>Welcome jane@example.com</body></html>",
        headers={"Content-Type": "text/html; charset=UTF-8"},
    )
    with pytest.raises(StoreError) as caught:
        tap_run(CONFIG)

    assert "HTML page instead of JSON" in str(caught.value)
    assert caught.value.setting == "url"
    assert "jane@example.com" not in str(caught.value)


def test_json_content_type_with_html_body_is_also_caught(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any]
) -> None:
    requests_mock.get(
        ORDERS, text="<html>cached</html>", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(StoreError, match="instead of JSON"):
        tap_run(CONFIG)


def test_error_message_carries_neither_body_nor_secret(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any]
) -> None:
    requests_mock.get(
        ORDERS,
        status_code=401,
        json={
            "code": "woocommerce_rest_authentication_error",
            "message": "Consumer secret is invalid. billing jane@example.com",
            "data": {"status": 401},
        },
    )
    with pytest.raises(StoreError) as caught:
        tap_run({**CONFIG, "auth_method": "query_string"})

    message = str(caught.value)
    assert "jane@example.com" not in message
    assert "cs_def" not in message
    assert caught.value.setting == "consumer_secret"


def test_pages_are_followed_by_link_when_the_total_header_is_missing(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any], order: dict[str, Any]
) -> None:
    second = dict(order, id=728)
    requests_mock.get(
        ORDERS,
        [
            {
                "json": [as_json(order)],
                "headers": {
                    "Link": '<https://shop.example.com/wp-json/wc/v3/orders?page=2>; rel="next"'
                },
            },
            {"json": [as_json(second)]},
        ],
    )
    output = tap_run({**CONFIG, "per_page": 1})

    assert [r["source_id"] for r in output.records("orders")] == ["727", "728"]
    assert [q.qs["page"] for q in requests_mock.request_history] == [["1"], ["2"]]


def test_store_ignoring_the_modified_filter_is_detected(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any], order: dict[str, Any]
) -> None:
    order["date_modified_gmt"] = "2019-05-01T00:00:00"
    requests_mock.get(ORDERS, **one_page(order))

    with pytest.raises(StoreError, match=r"WooCommerce 5\.6"):
        tap_run(CONFIG)


def test_rate_missing_from_an_old_store_is_read_from_the_taxes_endpoint(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any], order: dict[str, Any]
) -> None:
    for line in order["tax_lines"]:
        del line["rate_percent"]
    requests_mock.get(ORDERS, **one_page(order))
    requests_mock.get(
        "https://shop.example.com/wp-json/wc/v3/taxes/75",
        json={"id": 75, "country": "US", "state": "CA", "rate": "7.5000", "name": "State Tax"},
    )
    output = tap_run(CONFIG)

    tax_line = output.records("orders")[0]["line_items"][0]["tax_lines"][0]
    assert tax_line["rate"] == "0.075"


def test_logs_of_a_retried_run_carry_neither_secret_nor_customer_data(
    requests_mock: requests_mock.Mocker,
    tap_run: Callable[..., Any],
    order: dict[str, Any],
    waits: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    requests_mock.get(
        ORDERS,
        [
            {"status_code": 503, "text": "<html>down</html>", "headers": {"Retry-After": "2"}},
            one_page(order),
        ],
    )
    with caplog.at_level("DEBUG"):
        tap_run({**CONFIG, "auth_method": "query_string"})
    # requests-mock's own adapter log (test machinery) is not the tap's.
    tap_lines = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("requests_mock")
    )

    assert waits == [2.0]
    assert "retrying stream=orders" in tap_lines
    assert "cs_def" not in tap_lines
    assert "john.doe@example.com" not in tap_lines
    assert logging.getLogger("urllib3.connectionpool").getEffectiveLevel() >= logging.INFO
