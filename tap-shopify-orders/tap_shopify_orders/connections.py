"""Complete an order whose nested connections or lists did not fit in the first response.

Shopify returns at most `first` objects of a connection per query; the rest are read with one
`node(id:)` query per further page (https://shopify.dev/docs/api/usage/pagination-graphql).
`Order.refunds`, `Order.transactions` and `Order.fulfillments` are lists that `first` truncates;
a list that came back full is read again whole.

No HTTP here: the caller passes the function that runs a GraphQL document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tap_shopify_orders.queries import (
    CONNECTIONS,
    LIST_MAXIMUM,
    LISTS,
    Connection,
    full_list_query,
    nested_page_query,
)

# operation name, document, variables -> the response's `data`
RunGraphQL = Callable[[str, str, dict[str, Any]], dict[str, Any]]

FOLLOW_UP_PAGE_SIZE = 50  # one node per query, so a larger page stays far below the cost cap


class IncompleteOrderError(Exception):
    """Part of an order cannot be read: a list longer than Shopify returns, or a page missing."""


def _complete_connection(owner: dict[str, Any], connection: Connection, run: RunGraphQL) -> int:
    """Fetch the remaining pages of one connection into `owner`; returns the queries made."""
    current = owner.get(connection.field)
    if not isinstance(current, dict):
        return 0
    page_info = current.get("pageInfo") or {}
    queries = 0
    while page_info.get("hasNextPage"):
        data = run(
            "NextPage",
            nested_page_query(connection),
            {
                "id": owner["id"],
                "first": FOLLOW_UP_PAGE_SIZE,
                "after": page_info.get("endCursor"),
            },
        )
        queries += 1
        node = data.get("node")
        if not isinstance(node, dict):
            msg = f"Shopify did not return {owner['id']} to read more of its {connection.field}"
            raise IncompleteOrderError(msg)
        page = node.get(connection.field) or {}
        current.setdefault("nodes", []).extend(page.get("nodes") or [])
        page_info = page.get("pageInfo") or {}
        current["pageInfo"] = page_info
    return queries


def _connections_of(owner_type: str) -> list[Connection]:
    return [c for c in CONNECTIONS if c.owner == owner_type]


def complete_order(order: dict[str, Any], run: RunGraphQL) -> int:
    """Read every missing page and truncated list of `order` in place; returns queries made.

    Raises:
        IncompleteOrderError: when a list is longer than Shopify will return, or a further
            page cannot be read.
    """
    queries = 0
    for item in LISTS:
        value = order.get(item.field)
        if isinstance(value, list) and len(value) >= item.size:
            data = run("FullList", full_list_query(item), {"id": order["id"]})
            queries += 1
            full = (data.get("node") or {}).get(item.field)
            if isinstance(full, list):
                if len(full) >= LIST_MAXIMUM:
                    msg = f"order {order['id']} has more than {LIST_MAXIMUM} {item.field}"
                    raise IncompleteOrderError(msg)
                order[item.field] = full
    for connection in _connections_of("Order"):
        queries += _complete_connection(order, connection, run)
    for refund in order.get("refunds") or []:
        for connection in _connections_of("Refund"):
            queries += _complete_connection(refund, connection, run)
    for fulfillment in order.get("fulfillments") or []:
        for connection in _connections_of("Fulfillment"):
            queries += _complete_connection(fulfillment, connection, run)
    return queries
