"""Nested connections and truncated lists are read to the end with follow-up queries."""

from __future__ import annotations

from typing import Any

import pytest

from tap_shopify_orders.connections import IncompleteOrderError, complete_order
from tap_shopify_orders.queries import LIST_MAXIMUM


def page(nodes: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
    return {"pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor}, "nodes": nodes}


def test_line_items_beyond_the_first_page_are_fetched_in_order() -> None:
    order: dict[str, Any] = {"id": "gid://shopify/Order/1", "lineItems": page([{"id": "L1"}], "c1")}
    pages = {"c1": page([{"id": "L2"}], "c2"), "c2": page([{"id": "L3"}], None)}
    calls = []

    def run(_operation: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        calls.append(variables)
        assert "lineItems(first: $first, after: $after)" in document
        return {"node": {"lineItems": pages[variables["after"]]}}

    assert complete_order(order, run) == 2
    line_items = order["lineItems"]
    assert [n["id"] for n in line_items["nodes"]] == ["L1", "L2", "L3"]
    assert line_items["pageInfo"]["hasNextPage"] is False
    assert all(c["id"] == "gid://shopify/Order/1" for c in calls)


def test_refund_line_items_are_paged_on_the_refund_node() -> None:
    refund: dict[str, Any] = {
        "id": "gid://shopify/Refund/9",
        "refundLineItems": page([{"id": "R1"}], "c"),
    }
    order = {"id": "gid://shopify/Order/1", "refunds": [refund]}

    def run(_operation: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        assert variables["id"] == "gid://shopify/Refund/9"
        assert "... on Refund" in document
        return {"node": {"refundLineItems": page([{"id": "R2"}], None)}}

    complete_order(order, run)
    assert [n["id"] for n in refund["refundLineItems"]["nodes"]] == ["R1", "R2"]


def test_a_full_list_is_read_again_whole() -> None:
    order = {"id": "gid://shopify/Order/1", "transactions": [{"id": str(i)} for i in range(25)]}

    def run(_operation: str, document: str, _variables: dict[str, Any]) -> dict[str, Any]:
        assert f"transactions(first: {LIST_MAXIMUM})" in document
        return {"node": {"transactions": [{"id": str(i)} for i in range(30)]}}

    assert complete_order(order, run) == 1
    assert len(order["transactions"]) == 30


def test_a_list_longer_than_shopify_returns_is_an_error_not_silent_truncation() -> None:
    order = {"id": "gid://shopify/Order/1", "refunds": [{"id": str(i)} for i in range(10)]}

    def run(_operation: str, _document: str, _variables: dict[str, Any]) -> dict[str, Any]:
        return {"node": {"refunds": [{"id": str(i)} for i in range(LIST_MAXIMUM)]}}

    with pytest.raises(IncompleteOrderError):
        complete_order(order, run)


def test_complete_order_makes_no_query_when_nothing_is_missing() -> None:
    order = {"id": "gid://shopify/Order/1", "lineItems": page([{"id": "L1"}], None)}
    assert complete_order(order, lambda *_: pytest.fail("no query expected")) == 0


def test_a_page_shopify_does_not_return_is_an_error_not_a_shorter_order() -> None:
    order: dict[str, Any] = {"id": "gid://shopify/Order/1", "lineItems": page([{"id": "L1"}], "c")}
    with pytest.raises(IncompleteOrderError, match="lineItems"):
        complete_order(order, lambda *_: {"node": None})
