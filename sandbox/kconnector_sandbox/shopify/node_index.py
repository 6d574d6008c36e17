"""Every object of a shop that has a global id, for ``node(id:)`` and ``nodes(ids:)``.

Shopify resolves any object implementing the ``Node`` interface by its global id
(https://shopify.dev/docs/api/admin-graphql/latest/queries/node), so a client can read further
pages of a nested connection (a fulfillment's line items, a refund's lines) through its owner.
Each entry keeps the order that owns the object, so the 60-day visibility of orders without
``read_all_orders`` applies to the objects inside them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from kconnector_sandbox.shopify.model import (
        BasicEvent,
        Fulfillment,
        Order,
        OrderTransaction,
        Refund,
    )


@dataclass(frozen=True)
class IndexedNode:
    """An object with a global id and the order it belongs to (None: shop-wide)."""

    value: object
    order_id: int | None


def _transactions(
    transactions: Iterable[OrderTransaction],
) -> Iterator[OrderTransaction]:
    for transaction in transactions:
        yield transaction
        if transaction.parent_transaction is not None:
            yield transaction.parent_transaction


def _refund_objects(refund: Refund) -> Iterator[tuple[str, object]]:
    yield refund.id, refund
    for shipping in refund.refund_shipping_lines:
        yield shipping.id, shipping
    for adjustment in refund.order_adjustments:
        yield adjustment.id, adjustment
    for transaction in _transactions(refund.transactions):
        yield transaction.id, transaction


def _fulfillment_objects(fulfillment: Fulfillment) -> Iterator[tuple[str, object]]:
    yield fulfillment.id, fulfillment
    for item in fulfillment.fulfillment_line_items:
        yield item.id, item


def _owned_objects(order: Order) -> Iterator[tuple[str, object]]:
    """The order and every object with an id inside it."""
    yield order.id, order
    yield from ((line.id, line) for line in order.line_items)
    yield from ((t.id, t) for t in _transactions(order.transactions))
    for refund in order.refunds:
        yield from _refund_objects(refund)
    for fulfillment in order.fulfillments:
        yield from _fulfillment_objects(fulfillment)
    yield from ((event.id, event) for event in order.events)


def _shop_objects(order: Order) -> Iterator[tuple[str, object]]:
    """The shop-wide objects an order refers to: its customer, products and variants."""
    if order.customer is not None:
        yield order.customer.id, order.customer
    for line in order.line_items:
        if line.variant is not None:
            yield line.variant.id, line.variant
            yield line.variant.product.id, line.variant.product


def index_nodes(orders: Iterable[Order], events: Iterable[BasicEvent]) -> dict[str, IndexedNode]:
    """Global id -> object for `orders` (and all they hold) and shop-wide `events`.

    Products, variants and customers are the shop's, not one order's: they are indexed without
    an owner.
    """
    index: dict[str, IndexedNode] = {}
    for order in orders:
        for node_id, value in _owned_objects(order):
            index[node_id] = IndexedNode(value, order.legacy_resource_id)
        for node_id, value in _shop_objects(order):
            index[node_id] = IndexedNode(value, None)
    for event in events:
        index[event.id] = IndexedNode(event, None)
    return index
