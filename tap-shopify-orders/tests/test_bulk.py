"""Bulk operations: JSONL rows regrouped, and the start/poll lifecycle with its failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tap_shopify_orders.bulk import BulkRunner, group_rows, read_lines
from tap_shopify_orders.errors import BulkOperationError

ROWS = [
    {
        "id": "gid://shopify/Order/2",
        "updatedAt": "2026-01-02T00:00:00Z",
        "fulfillments": [{"id": "gid://shopify/Fulfillment/5"}],
    },
    {"id": "gid://shopify/LineItem/21", "__parentId": "gid://shopify/Order/2"},
    {"id": "gid://shopify/Order/1", "updatedAt": "2026-01-01T00:00:00Z", "fulfillments": []},
    {"id": "gid://shopify/LineItem/11", "__parentId": "gid://shopify/Order/1"},
    {"__typename": "DiscountCodeApplication", "index": 0, "__parentId": "gid://shopify/Order/1"},
    {"id": "gid://shopify/ShippingLine/12", "__parentId": "gid://shopify/Order/1"},
    {"id": "gid://shopify/FulfillmentLineItem/51", "__parentId": "gid://shopify/Fulfillment/5"},
]


def test_rows_are_grouped_under_their_parents_whatever_their_order_and_sorted() -> None:
    lines = [json.dumps(row) for row in reversed(ROWS)]
    orders = group_rows(lines)
    assert [o["id"] for o in orders] == ["gid://shopify/Order/1", "gid://shopify/Order/2"]
    first, second = orders
    assert [n["id"] for n in first["lineItems"]["nodes"]] == ["gid://shopify/LineItem/11"]
    assert first["discountApplications"]["nodes"][0]["index"] == 0
    assert first["shippingLines"]["nodes"][0]["id"] == "gid://shopify/ShippingLine/12"
    assert second["fulfillments"][0]["fulfillmentLineItems"]["nodes"][0]["id"].endswith("/51")


def test_a_row_that_is_not_json_fails_the_bulk_read() -> None:
    with pytest.raises(BulkOperationError, match="line 2"):
        group_rows(['{"id": "gid://shopify/Order/1", "updatedAt": "x"}', "{broken"])


def test_an_orphan_child_fails_the_bulk_read() -> None:
    with pytest.raises(BulkOperationError, match="parent is missing"):
        group_rows([json.dumps({"id": "gid://shopify/LineItem/1", "__parentId": "nope"})])


def test_downloaded_chunks_are_split_into_lines() -> None:
    assert list(read_lines([b'{"a":1}\n{"b"', b":2}\n", b'{"c":3}'])) == [
        '{"a":1}',
        '{"b":2}',
        '{"c":3}',
    ]


class FakeBulkApi:
    def __init__(self, statuses: list[str], run_errors: list[dict[str, Any]] | None = None):
        self.statuses = iter(statuses)
        self.run_errors = run_errors or []
        self.calls: list[str] = []
        self.current: dict[str, Any] | None = None

    def __call__(self, operation: str, _document: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(operation)
        if operation == "BulkRun":
            if self.run_errors:
                return {
                    "bulkOperationRunQuery": {
                        "bulkOperation": None,
                        "userErrors": [self.run_errors.pop(0)],
                    }
                }
            return {
                "bulkOperationRunQuery": {
                    "bulkOperation": {"id": "gid://shopify/BulkOperation/7"},
                    "userErrors": [],
                }
            }
        if operation == "CurrentBulk":
            return {"currentBulkOperation": self.current}
        status = next(self.statuses)
        return {
            "node": {
                "id": variables["id"],
                "status": status,
                "errorCode": "TIMEOUT" if status == "FAILED" else None,
                "url": "https://files/result.jsonl",
            }
        }


def runner(api: FakeBulkApi, **kwargs: Any) -> BulkRunner:
    return BulkRunner(api, poll_seconds=0.0, sleep=lambda _s: None, **kwargs)


def test_operation_is_polled_until_completed() -> None:
    api = FakeBulkApi(["CREATED", "RUNNING", "COMPLETED"])
    bulk = runner(api)
    operation = bulk.start("updated_at:>='2026-01-01T00:00:00Z'")
    assert bulk.wait(operation) == "https://files/result.jsonl"
    assert api.calls == ["BulkRun", "BulkStatus", "BulkStatus", "BulkStatus"]


def test_failed_operation_raises_with_its_error_code() -> None:
    bulk = runner(FakeBulkApi(["RUNNING", "FAILED"]))
    with pytest.raises(BulkOperationError, match="FAILED \\(TIMEOUT\\)"):
        bulk.wait("gid://shopify/BulkOperation/7")


def test_operation_that_outlives_the_timeout_raises_as_resumable() -> None:
    ticks = iter(range(100))
    bulk = runner(FakeBulkApi(["RUNNING"] * 100), timeout_seconds=3, clock=lambda: next(ticks))
    with pytest.raises(BulkOperationError, match="resumes") as raised:
        bulk.wait("gid://shopify/BulkOperation/7")
    assert raised.value.resumable is True


def test_operation_already_in_progress_for_the_same_query_is_adopted() -> None:
    api = FakeBulkApi([], run_errors=[{"message": "in progress", "code": "OPERATION_IN_PROGRESS"}])
    search = "updated_at:>='2026-01-01T00:00:00Z'"
    from tap_shopify_orders.queries import bulk_orders_query  # noqa: PLC0415

    api.current = {
        "id": "gid://shopify/BulkOperation/3",
        "status": "RUNNING",
        "query": bulk_orders_query(search),
    }
    assert runner(api).start(search) == "gid://shopify/BulkOperation/3"


def test_another_operation_in_progress_is_waited_for_then_ours_starts() -> None:
    api = FakeBulkApi([], run_errors=[{"message": "in progress", "code": "OPERATION_IN_PROGRESS"}])
    api.current = {"id": "gid://shopify/BulkOperation/3", "status": "RUNNING", "query": "other"}
    assert (
        runner(api).start("updated_at:>='2026-01-01T00:00:00Z'") == "gid://shopify/BulkOperation/7"
    )
    assert api.calls == ["BulkRun", "CurrentBulk", "BulkRun"]


def test_refused_query_raises_with_shopify_message() -> None:
    api = FakeBulkApi([], run_errors=[{"message": "Invalid bulk query", "code": "INVALID"}])
    with pytest.raises(BulkOperationError, match="Invalid bulk query"):
        runner(api).start("x")
