"""The shop's orders kept compactly and built when read: the same orders, far less memory."""

from __future__ import annotations

import tracemalloc

from kconnector_sandbox.shopify.build import build_order
from kconnector_sandbox.shopify.generator import generate_specs
from kconnector_sandbox.shopify.order_book import ORDER_CACHE_SIZE
from kconnector_sandbox.shopify.profiles import PROFILES
from kconnector_sandbox.shopify.state import ShopClock, ShopState

PROFILE = PROFILES["us"]


def seeded(count: int, seed: int = 7) -> ShopState:
    return ShopState.seeded(PROFILE, seed, count, ShopClock(), 1.0)


def test_orders_built_on_demand_are_the_generated_ones() -> None:
    shop = seeded(60)
    specs = generate_specs(7, 60, PROFILE)
    assert list(shop.orders) == [spec.legacy_id for spec in specs]
    for spec in specs:
        assert shop.find(spec.legacy_id) == build_order(spec, PROFILE.currency)


def test_summaries_answer_searches_as_the_built_orders_do() -> None:
    shop = seeded(60)
    for summary in shop.visible_summaries():
        order = shop.find(summary.legacy_resource_id)
        for name in (
            "name",
            "email",
            "tags",
            "source_name",
            "test",
            "created_at",
            "updated_at",
            "processed_at",
            "cancelled_at",
            "closed",
            "display_financial_status",
            "display_fulfillment_status",
            "total_price_set",
        ):
            assert getattr(summary, name) == getattr(order, name), name


def test_a_seeded_shop_holds_about_a_kilobyte_per_order_and_few_built_orders() -> None:
    count = 600
    tracemalloc.start()
    try:
        shop = seeded(count)
        held, _ = tracemalloc.get_traced_memory()
        for _ in shop.orders.values():  # reading every order keeps only the recent ones
            pass
        after_reading, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # An order built up front took about 35 KB.
    assert held / count < 3 * 1024
    assert after_reading - held < (ORDER_CACHE_SIZE + 50) * 60 * 1024


def test_objects_inside_orders_and_shop_objects_are_found_by_id() -> None:
    shop = seeded(40)
    order = next(o for o in shop.orders.values() if o.refunds and o.fulfillments)
    for node_id in (
        order.id,
        order.line_items[-1].id,
        order.transactions[0].id,
        order.refunds[0].id,
        order.fulfillments[0].fulfillment_line_items[0].id,
        order.events[-1].id,
    ):
        found = shop.node(node_id)
        assert getattr(found, "id", None) == node_id
    assert shop.node("gid://shopify/LineItem/13000000000000") is None
    assert shop.node("gid://shopify/Order/1") is None


def test_a_customer_stays_readable_after_the_order_that_indexed_it_is_deleted() -> None:
    shop = seeded(200)
    by_customer: dict[str, list[int]] = {}
    for order in shop.orders.values():
        if order.customer is not None:
            by_customer.setdefault(order.customer.id, []).append(order.legacy_resource_id)
    customer_id, owners = next((c, o) for c, o in by_customer.items() if len(o) > 1)
    for legacy_id in owners[:-1]:
        shop.delete_order(legacy_id)
    assert getattr(shop.node(customer_id), "id", None) == customer_id
    shop.delete_order(owners[-1])
    assert shop.node(customer_id) is None


def test_deletion_events_are_listed_without_reading_any_order() -> None:
    shop = seeded(50)
    first = next(iter(shop.orders))
    event = shop.delete_order(first)
    assert shop.book is not None
    shop.book._cache.clear()  # nothing built before the query
    assert shop.all_events("destroy") == [event]
    assert not shop.book._cache
    placed = shop.all_events("placed")
    assert len(placed) == 49
