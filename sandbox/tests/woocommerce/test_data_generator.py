"""The seeded store: deterministic, and every order's totals reconcile as WooCommerce's do."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from kconnector_sandbox.woocommerce.data_generator import (
    HISTORY_DAYS,
    ORDER_STATUSES,
    REFERENCE_DATE,
    generate_store,
)
from kconnector_sandbox.woocommerce.order_documents import parse_gmt, refunded_amount
from kconnector_sandbox.woocommerce.store_profiles import PROFILES, profile_by_key
from kconnector_sandbox.woocommerce.wp_json import wp_json_bytes

ORDERS = 1000
HALF_CENT = Decimal("0.005")


def d(text: str) -> Decimal:
    return Decimal(text)


def total(values: Any) -> Decimal:
    return sum((d(v) for v in values), Decimal(0))


@pytest.fixture(scope="module", params=[p.key for p in PROFILES])
def generated(request: pytest.FixtureRequest) -> Any:
    return generate_store(7, ORDERS, profile_by_key(request.param))


def assert_order_consistent(order: dict[str, Any], *, round_at_subtotal: bool) -> None:
    lines, fees = order["line_items"], order["fee_lines"]
    shipping, taxes = order["shipping_lines"], order["tax_lines"]
    shipping_total = total(s["total"] for s in shipping)
    assert d(order["shipping_total"]) == shipping_total
    assert d(order["cart_tax"]) == total(t["tax_total"] for t in taxes)
    assert d(order["shipping_tax"]) == total(t["shipping_tax_total"] for t in taxes)
    assert d(order["shipping_tax"]) == total(s["total_tax"] for s in shipping)
    assert d(order["total_tax"]) == d(order["cart_tax"]) + d(order["shipping_tax"])
    expected = (
        total(x["total"] for x in lines)
        + total(f["total"] for f in fees)
        + shipping_total
        + d(order["total_tax"])
    )
    assert d(order["total"]) == expected
    assert d(order["discount_total"]) == total(x["subtotal"] for x in lines) - total(
        x["total"] for x in lines
    )
    for coupon in order["coupon_lines"]:
        assert (coupon["discount"], coupon["discount_tax"]) == (
            order["discount_total"],
            order["discount_tax"],
        )
    for item in [*lines, *fees, *shipping]:
        stored = total(t["total"] for t in item["taxes"])
        if round_at_subtotal:
            assert abs(d(item["total_tax"]) - stored) <= HALF_CENT
        else:
            assert d(item["total_tax"]) == stored
    for line in lines:
        assert abs(line["price"] * line["quantity"] - d(line["total"])) < Decimal("1e-12")
    if not round_at_subtotal:
        assert d(order["cart_tax"]) == total(x["total_tax"] for x in [*lines, *fees])


def assert_refund_consistent(refund: dict[str, Any]) -> None:
    parts = [*refund["line_items"], *refund["shipping_lines"]]
    assert d(refund["amount"]) > 0
    if not parts:
        assert refund["tax_lines"] == []
        return
    assert d(refund["amount"]) == -(
        total(p["total"] for p in parts) + total(p["total_tax"] for p in parts)
    )
    for line in refund["line_items"]:
        assert line["quantity"] < 0
        assert d(line["total"]) <= 0
        assert line["price"] >= 0
    tax_back = total(t["tax_total"] for t in refund["tax_lines"]) + total(
        t["shipping_tax_total"] for t in refund["tax_lines"]
    )
    assert tax_back == total(p["total_tax"] for p in parts)


def test_same_seed_generates_identical_store_bytes() -> None:
    first = generate_store(11, 200, profile_by_key("ca"))
    second = generate_store(11, 200, profile_by_key("ca"))
    assert wp_json_bytes(list(first.orders.values())) == wp_json_bytes(list(second.orders.values()))
    assert wp_json_bytes(first.refunds) == wp_json_bytes(second.refunds)


def test_different_seed_generates_different_orders() -> None:
    first = generate_store(11, 50, profile_by_key("us"))
    second = generate_store(12, 50, profile_by_key("us"))
    assert wp_json_bytes(list(first.orders.values())) != wp_json_bytes(list(second.orders.values()))


def test_every_order_total_reconciles_to_the_cent(generated: Any) -> None:
    assert len(generated.orders) == ORDERS
    for order in generated.orders.values():
        assert_order_consistent(order, round_at_subtotal=generated.profile.round_at_subtotal)


def test_every_refund_reconciles_and_is_recorded_on_its_order(generated: Any) -> None:
    assert generated.refunds
    for order_id, refunds in generated.refunds.items():
        order = generated.orders[order_id]
        assert [r["id"] for r in order["refunds"]] == [r["id"] for r in refunds]
        for embedded, refund in zip(order["refunds"], refunds, strict=True):
            assert embedded["total"] == "-" + refund["amount"]
            assert refund["id"] > order_id
            assert refund["date_created_gmt"] >= order["date_created_gmt"]
            assert_refund_consistent(refund)
        assert refunded_amount(order) <= d(order["total"])


def test_refunded_orders_are_refunded_in_full(generated: Any) -> None:
    refunded = [o for o in generated.orders.values() if o["status"] == "refunded"]
    assert refunded
    for order in refunded:
        assert refunded_amount(order) == d(order["total"])


def test_store_covers_every_status_and_case(generated: Any) -> None:
    orders = list(generated.orders.values())
    statuses = Counter(o["status"] for o in orders)
    assert set(statuses) == set(ORDER_STATUSES)
    lines = [line for o in orders for line in o["line_items"]]
    assert any(line["sku"] == "" for line in lines)
    assert any(line["sku"] for line in lines)
    assert any(o["customer_id"] == 0 for o in orders)
    assert {c["code"][:4] for o in orders for c in o["coupon_lines"]} == {"save", "take", "item"}
    assert any(o["fee_lines"] for o in orders)
    assert any(d(o["shipping_tax"]) > 0 for o in orders)
    assert any(o["shipping_lines"] and d(o["shipping_tax"]) == 0 for o in orders)
    assert max(len(o["line_items"]) for o in orders) >= 150
    assert any(not o["billing"]["first_name"].isascii() for o in orders)
    assert any(o["date_modified_gmt"] > o["date_created_gmt"] for o in orders)
    kinds = {
        ("lines" if r["line_items"] else "") + ("shipping" if r["shipping_lines"] else "")
        for refunds in generated.refunds.values()
        for r in refunds
    }
    assert {"lines", "shipping", ""} <= kinds


def test_orders_fall_in_the_ninety_days_before_the_reference_date(generated: Any) -> None:
    for order in generated.orders.values():
        created = parse_gmt(order["date_created_gmt"])
        assert REFERENCE_DATE.timestamp() - HISTORY_DAYS * 86400 <= created.timestamp()
        assert created <= REFERENCE_DATE
        assert order["date_modified_gmt"] >= order["date_created_gmt"]


def test_ids_increase_with_creation_time() -> None:
    orders = list(generate_store(3, 300, profile_by_key("us")).orders.values())
    created = [o["date_created_gmt"] for o in sorted(orders, key=lambda o: o["id"])]
    assert created == sorted(created)


def test_site_local_dates_carry_the_store_timezone_offset() -> None:
    order = next(iter(generate_store(3, 5, profile_by_key("eu")).orders.values()))
    local, gmt = parse_gmt(order["date_created"]), parse_gmt(order["date_created_gmt"])
    assert (local - gmt).total_seconds() in {3600, 7200}  # Europe/Berlin, CET or CEST


def test_compound_rate_is_charged_on_price_plus_earlier_taxes() -> None:
    store = generate_store(5, 400, profile_by_key("ca"))
    quebec = [
        line
        for o in store.orders.values()
        for line in o["line_items"]
        if {t["id"] for t in line["taxes"]} == {14, 15}
    ]
    assert quebec
    for line in quebec:
        gst, qst = (d(t["total"]) for t in sorted(line["taxes"], key=lambda t: t["id"]))
        base = d(line["total"])
        assert gst == (base * d("0.05")).quantize(d("0.000001"))
        assert abs(qst - (base + gst) * d("0.09975")) < d("0.000001")


def test_tax_inclusive_store_keeps_gross_price_equal_to_total_plus_tax() -> None:
    store = generate_store(5, 300, profile_by_key("eu"))
    for order in store.orders.values():
        assert order["prices_include_tax"] is True
        for line in order["line_items"]:
            if order["coupon_lines"]:
                continue
            gross = d(line["subtotal"]) + d(line["subtotal_tax"])
            assert gross == d(line["total"]) + d(line["total_tax"])
            assert gross % d("0.01") == 0


def test_line_price_is_a_json_number_and_money_is_a_string() -> None:
    orders = generate_store(1, 30, profile_by_key("us")).orders.values()
    order = next(o for o in orders if o["tax_lines"])
    encoded = json.loads(wp_json_bytes(order))
    line = encoded["line_items"][0]
    assert isinstance(line["price"], (int, float))
    assert isinstance(line["total"], str)
    assert isinstance(encoded["tax_lines"][0]["rate_percent"], (int, float))
