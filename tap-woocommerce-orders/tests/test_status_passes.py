"""Trash in the same request as every other status, or in a pass of its own when it must."""

import re
from collections.abc import Callable
from typing import Any

import requests_mock

ORDERS = re.compile(r"^https://shop\.example\.com/wp-json/wc/v3/orders")
TOTALS = "https://shop.example.com/wp-json/wc/v3/reports/orders/totals"
CONFIG = {
    "url": "https://shop.example.com",
    "consumer_key": "ck_abc",
    "consumer_secret": "cs_def",
    "start_date": "2026-01-01T00:00:00Z",
    "window_days": 366,
    "max_retries": 0,
    "payout_grouping": "none",
}
EMPTY = {"json": [], "headers": {"X-WP-Total": "0", "X-WP-TotalPages": "0"}}


def listed_statuses(mock: requests_mock.Mocker) -> list[str]:
    return [
        request.qs["status"][0]
        for request in mock.request_history
        if request.path == "/wp-json/wc/v3/orders"
    ]


def test_registered_statuses_and_trash_are_read_in_one_request(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any]
) -> None:
    rows = [
        {"slug": slug, "name": slug.title(), "total": 3}
        for slug in ("pending", "processing", "completed", "shipped-to-store", "checkout-draft")
    ]
    requests_mock.get(TOTALS, json=rows)
    requests_mock.get(ORDERS, **EMPTY)
    tap_run(CONFIG)

    # A plugin's status is kept; drafts (not orders yet) are not asked for.
    assert listed_statuses(requests_mock) == ["pending,processing,completed,shipped-to-store,trash"]


def test_without_the_status_list_trash_is_read_in_a_second_pass(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any]
) -> None:
    requests_mock.get(
        TOTALS,
        status_code=403,
        json={"code": "woocommerce_rest_cannot_view", "message": "no", "data": {"status": 403}},
    )
    requests_mock.get(ORDERS, **EMPTY)
    tap_run(CONFIG)

    assert listed_statuses(requests_mock) == ["any", "trash"]


def test_listed_statuses_take_trash_along_without_asking_the_store(
    requests_mock: requests_mock.Mocker, tap_run: Callable[..., Any]
) -> None:
    requests_mock.get(ORDERS, **EMPTY)
    tap_run({**CONFIG, "statuses": ["processing", "completed", "trash"]})

    assert listed_statuses(requests_mock) == ["processing,completed,trash"]
    assert all(r.url != TOTALS for r in requests_mock.request_history)
