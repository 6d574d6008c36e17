from decimal import Decimal

import pytest

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.shopify import build, export_orders
from kconnector_sandbox.shopify.build import build_order
from kconnector_sandbox.shopify.generator import CASES, REFERENCE_DATE, SPAN, generate_specs
from kconnector_sandbox.shopify.profiles import PROFILES
from kconnector_sandbox.shopify.state import InvalidChangeError, ShopClock, ShopState

ZERO = Decimal("0.00")
VIEWS = ("shop_money", "presentment_money")


def _amount(bag, view):
    return getattr(bag, view).amount


def _sum(values):
    return sum(values, ZERO)


@pytest.fixture(scope="module")
def stores():
    return {
        key: [build_order(spec, profile.currency) for spec in generate_specs(7, 1000, profile)]
        for key, profile in PROFILES.items()
    }


def test_same_seed_gives_the_same_orders():
    profile = PROFILES["us"]
    assert generate_specs(3, 60, profile) == generate_specs(3, 60, profile)
    assert generate_specs(3, 60, profile) != generate_specs(4, 60, profile)


def test_orders_span_ninety_days_before_the_reference_date(stores):
    for orders in stores.values():
        for order in orders:
            assert REFERENCE_DATE - SPAN <= order.created_at <= order.updated_at <= REFERENCE_DATE


def test_every_case_and_financial_status_is_generated(stores):
    statuses = {o.display_financial_status for orders in stores.values() for o in orders}
    assert statuses >= {
        "PAID", "PENDING", "AUTHORIZED", "PARTIALLY_PAID", "REFUNDED", "PARTIALLY_REFUNDED",
        "VOIDED",
    }  # fmt: skip
    us = stores["us"]
    assert any(o.cancelled_at for o in us)
    assert any(o.customer is None for o in us)
    assert any(o.test for o in us)
    assert any(len(o.line_items) >= 150 for o in us)
    assert any(o.presentment_currency_code != o.currency_code for o in us)
    assert any(li.is_gift_card for o in us for li in o.line_items)
    assert any("gift_card" in o.payment_gateway_names for o in us)
    assert any(li.sku is None for o in us for li in o.line_items)
    assert any(o.display_fulfillment_status == "PARTIALLY_FULFILLED" for o in us)
    assert any(
        adj.reason == "REFUND_DISCREPANCY"
        for o in us
        for r in o.refunds
        for adj in r.order_adjustments
    )
    assert any(r.refund_shipping_lines for o in us for r in o.refunds)
    assert len({t.title for o in us for t in o.tax_lines}) >= 6
    assert all(o.taxes_included for o in stores["uk"])
    assert {t.title for o in stores["ca"] for t in o.tax_lines} >= {"GST", "PST", "HST", "QST"}
    assert len(CASES) <= 1000


def _check_order(order):  # noqa: C901, PLR0912, PLR0915 - one invariant list
    included = order.taxes_included
    for view in VIEWS:
        lines_sub = ZERO
        line_tax = ZERO
        allocated: dict[int, Decimal] = {}
        for line in order.line_items:
            unit = _amount(line.original_unit_price_set, view)
            assert _amount(line.original_total_set, view) == unit * line.quantity
            allocs = _sum(_amount(a.allocated_amount_set, view) for a in line.discount_allocations)
            assert _amount(line.total_discount_set, view) == allocs
            for alloc in line.discount_allocations:
                index = alloc.discount_application.index
                allocated[index] = allocated.get(index, ZERO) + _amount(
                    alloc.allocated_amount_set, view
                )
            base = unit * line.quantity - allocs
            line_level = _sum(
                _amount(a.allocated_amount_set, view)
                for a in line.discount_allocations
                if a.discount_application.target_selection == "EXPLICIT"
            )
            assert _amount(line.discounted_total_set, view) == unit * line.quantity - line_level
            lines_sub += base
            for tax in line.tax_lines:
                rate = Decimal(str(tax.rate))
                expected = (
                    base * rate / (1 + _sum(Decimal(str(t.rate)) for t in line.tax_lines))
                    if included
                    else base * rate
                )
                assert _amount(tax.price_set, view) == expected.quantize(
                    Decimal("0.01"), rounding="ROUND_HALF_UP"
                )
                line_tax += _amount(tax.price_set, view)
        ship_total = ZERO
        ship_tax = ZERO
        ship_disc = ZERO
        for ship in order.shipping_lines:
            allocs = _sum(_amount(a.allocated_amount_set, view) for a in ship.discount_allocations)
            for alloc in ship.discount_allocations:
                index = alloc.discount_application.index
                allocated[index] = allocated.get(index, ZERO) + _amount(
                    alloc.allocated_amount_set, view
                )
            assert (
                _amount(ship.discounted_price_set, view)
                == _amount(ship.original_price_set, view) - allocs
            )
            ship_total += _amount(ship.discounted_price_set, view)
            ship_disc += allocs
            ship_tax += _sum(_amount(t.price_set, view) for t in ship.tax_lines)
        for app in order.discount_applications:
            if hasattr(app.value, "amount") and view == "presentment_money":
                assert allocated.get(app.index, ZERO) == app.value.amount
        total_tax = _amount(order.total_tax_set, view)
        assert (
            total_tax
            == line_tax + ship_tax
            == _sum(_amount(t.price_set, view) for t in order.tax_lines)
        )
        assert _amount(order.subtotal_price_set, view) == lines_sub
        assert _amount(order.total_shipping_price_set, view) == ship_total
        assert (
            _amount(order.total_discounts_set, view)
            == _sum(_amount(li.total_discount_set, view) for li in order.line_items) + ship_disc
        )
        tip = _amount(order.total_tip_received_set, view)
        total = lines_sub + ship_total + (ZERO if included else total_tax) + tip
        assert _amount(order.total_price_set, view) == total
        # payments and refunds
        received = _sum(
            _amount(t.amount_set, view) for t in order.transactions
            if t.kind in {"SALE", "CAPTURE"} and t.status == "SUCCESS"
        )  # fmt: skip
        refunded = _sum(
            _amount(t.amount_set, view) for t in order.transactions
            if t.kind == "REFUND" and t.status == "SUCCESS"
        )  # fmt: skip
        assert _amount(order.total_received_set, view) == received
        assert _amount(order.total_refunded_set, view) == refunded
        assert refunded == _sum(_amount(r.total_refunded_set, view) for r in order.refunds)
        refund_sub = refund_tax = refund_ship = adjustments = ZERO
        for refund in order.refunds:
            calc = ZERO
            for rli in refund.refund_line_items:
                sub, tax = _amount(rli.subtotal_set, view), _amount(rli.total_tax_set, view)
                refund_sub += sub
                refund_tax += tax
                calc += sub + (ZERO if included else tax)
            for rsl in refund.refund_shipping_lines:
                sub, tax = _amount(rsl.subtotal_amount_set, view), _amount(rsl.tax_amount_set, view)
                refund_ship += sub
                refund_tax += tax
                calc += sub + (ZERO if included else tax)
            adj = _sum(_amount(a.amount_set, view) for a in refund.order_adjustments)
            adjustments += adj
            assert _amount(refund.total_refunded_set, view) == calc - adj
            for txn in refund.transactions:
                assert _amount(txn.amount_set, view) == _amount(refund.total_refunded_set, view)
        assert _amount(order.current_subtotal_price_set, view) == lines_sub - refund_sub
        assert _amount(order.current_total_tax_set, view) == total_tax - refund_tax
        assert _amount(order.current_shipping_price_set, view) == ship_total - refund_ship
        assert _amount(order.current_total_price_set, view) == total - refunded
        if order.display_financial_status in {"PAID", "REFUNDED", "PARTIALLY_REFUNDED"}:
            assert received == total
            assert _amount(order.total_outstanding_set, view) == ZERO
        if order.display_financial_status == "REFUNDED":
            assert refunded == received
        if order.display_financial_status in {"PENDING", "AUTHORIZED"}:
            assert _amount(order.total_outstanding_set, view) == total
        for line in order.line_items:
            assert line.current_quantity >= 0


def test_every_generated_order_is_internally_consistent_in_both_currencies(stores):
    checked = 0
    for orders in stores.values():
        for order in orders:
            _check_order(order)
            checked += 1
    assert checked == 3000


def test_presentment_amounts_follow_the_exchange_rate(stores):
    foreign = [o for o in stores["us"] if o.presentment_currency_code != o.currency_code]
    assert foreign
    for order in foreign:
        shop = order.total_price_set.shop_money.amount
        pres = order.total_price_set.presentment_money.amount
        assert shop != pres
        assert shop > 0


def test_export_matches_the_served_store_and_is_repeatable():
    options = SandboxOptions(seed=2, orders=15)
    exported = export_orders(options)
    assert exported == export_orders(options)
    served = build(options).shop("ca")
    names = sorted(o.name for o in served.orders.values())
    assert sorted(o["name"] for o in exported["kconnector-ca.myshopify.com"]) == names


def test_orders_changed_through_the_admin_stay_internally_consistent():
    shop = ShopState.seeded(PROFILES["us"], 9, 80, ShopClock(), 1.0)
    changed = 0
    for order in list(shop.orders.values()):
        legacy = order.legacy_resource_id
        paid = order.display_financial_status == "PAID"
        if paid and len(order.line_items) > 1:
            shop.edit_order(legacy, quantities={0: order.line_items[0].quantity + 1})
            shop.refund_order(legacy, lines=((0, 1),), shipping=True)
            shop.refund_order(legacy, amount=Decimal("0.50"))
            changed += 1
        elif paid or order.display_financial_status == "AUTHORIZED":
            shop.cancel_order(legacy)
            changed += 1
    created = shop.create_order()
    for order in shop.orders.values():
        _check_order(order)
    assert changed > 20
    assert created.display_financial_status == "PAID"
    cancelled = [o for o in shop.orders.values() if o.cancelled_at]
    assert all(o.total_outstanding_set.shop_money.amount == 0 for o in cancelled)
    with pytest.raises(InvalidChangeError):
        shop.refund_order(created.legacy_resource_id, amount=Decimal("100000.00"))
