"""Which order holds an object with a global id, for ``node(id:)`` and ``nodes(ids:)``.

Shopify resolves any object implementing the ``Node`` interface by its global id
(https://shopify.dev/docs/api/admin-graphql/latest/queries/node), so a client can read further
pages of a nested connection (a fulfillment's line items, a refund's lines) through its owner.
The ids of objects inside an order are derived from the order's number (`build.py`), so the
owner is computed from the id, not looked up in an index of every object of the shop; the order
is then built and searched. Each object keeps the order that owns it, so the 60-day visibility
of orders without ``read_all_orders`` applies to the objects inside them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kconnector_sandbox.shopify.generator import ORDER_ID_BASE

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from kconnector_sandbox.shopify.model import (
        Fulfillment,
        Order,
        OrderTransaction,
        Refund,
    )


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


def owned_objects(order: Order) -> Iterator[tuple[str, object]]:
    """The order and every object with an id inside it."""
    yield order.id, order
    yield from ((line.id, line) for line in order.line_items)
    yield from ((t.id, t) for t in _transactions(order.transactions))
    for refund in order.refunds:
        yield from _refund_objects(refund)
    for fulfillment in order.fulfillments:
        yield from _fulfillment_objects(fulfillment)
    yield from ((event.id, event) for event in order.events)


def shop_objects(order: Order) -> Iterator[tuple[str, object]]:
    """The shop-wide objects an order refers to: its customer, products and variants."""
    if order.customer is not None:
        yield order.customer.id, order.customer
    for line in order.line_items:
        if line.variant is not None:
            yield line.variant.id, line.variant
            yield line.variant.product.id, line.variant.product


# The id of an object inside order number n is base + n * step + (its position in the order)
# (`build.py`); an order's legacy id is ORDER_ID_BASE + n.
_OWNED_IDS: dict[str, tuple[int, int]] = {
    "LineItem": (13_000_000_000_000, 1000),
    "ShippingLine": (43_000_000_000_000, 10),
    "RefundLineItem": (61_000_000_000_000, 100_000),
    "RefundShippingLine": (32_000_000_000_000, 100),
    "OrderAdjustment": (31_000_000_000_000, 100),
    "Refund": (950_000_000_000, 100),
    "Fulfillment": (48_000_000_000_000, 100),
    "FulfillmentLineItem": (49_000_000_000_000, 100_000),
    "OrderTransaction": (68_000_000_000_000, 100),
    "BasicEvent": (90_000_000_000_000, 100),
}
# Shop-wide deletion events are numbered from here (`state.py`), above every order event.
DELETION_EVENT_BASE = 91_000_000_000_000


def owner_order_id(kind: str, legacy: int) -> int | None:
    """The legacy id of the order an object of type `kind` with id `legacy` would belong to.

    None for shop-wide objects (customers, products, variants, deletion events) and unknown types.
    """
    if kind == "Order":
        return legacy
    found = _OWNED_IDS.get(kind)
    if found is None or (kind == "BasicEvent" and legacy >= DELETION_EVENT_BASE):
        return None
    base, step = found
    if legacy < base:
        return None
    return ORDER_ID_BASE + (legacy - base) // step


def find_owned(order: Order, node_id: str) -> object | None:
    """The object with global id `node_id` inside `order`, or None."""
    return next((value for oid, value in owned_objects(order) if oid == node_id), None)


def find_shop_object(order: Order, node_id: str) -> object | None:
    """The customer, product or variant with global id `node_id` that `order` refers to."""
    return next((value for oid, value in shop_objects(order) if oid == node_id), None)
