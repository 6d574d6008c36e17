"""Order totals stay consistent for any cart, in every store profile (property-based)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from kconnector_sandbox.woocommerce.order_math import (
    CartSpec,
    CouponSpec,
    FeeSpec,
    LineSpec,
    compute_order,
)
from kconnector_sandbox.woocommerce.store_profiles import PROFILES, StoreProfile, profile_by_key

ZERO = Decimal(0)


@st.composite
def carts(
    draw: st.DrawFn, profiles: tuple[StoreProfile, ...] = PROFILES
) -> tuple[StoreProfile, CartSpec]:
    profile = draw(st.sampled_from(profiles))
    products = draw(st.lists(st.sampled_from(profile.catalog), min_size=1, max_size=6))
    lines = tuple(LineSpec(p, draw(st.integers(min_value=1, max_value=20))) for p in products)
    coupon = draw(
        st.none()
        | st.builds(
            CouponSpec,
            st.just("c"),
            st.sampled_from(["percent", "fixed_cart", "fixed_product"]),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal(60), places=2),
        )
    )
    fees = tuple(
        draw(
            st.lists(
                st.builds(FeeSpec, st.just("Fee"), st.decimals(0, 20, places=2), st.booleans()),
                max_size=2,
            )
        )
    )
    cart = CartSpec(
        lines=lines,
        region=draw(st.sampled_from(profile.regions)),
        shipping=draw(st.none() | st.sampled_from(profile.shipping_methods)),
        coupon=coupon,
        fees=fees,
    )
    return profile, cart


@settings(max_examples=300, deadline=None)
@given(carts())
def test_total_is_lines_fees_shipping_and_taxes_to_the_cent(
    case: tuple[StoreProfile, CartSpec],
) -> None:
    profile, cart = case
    totals = compute_order(cart, profile)
    lines_total = sum((line.total for line in totals.lines), ZERO)
    fees_total = sum((fee.total for fee in totals.fees), ZERO)
    assert totals.total == lines_total + fees_total + totals.shipping_total + totals.total_tax
    assert totals.total_tax == totals.cart_tax + totals.shipping_tax
    assert totals.total == totals.total.quantize(Decimal("0.01"))
    assert all(line.total >= 0 and line.total <= line.subtotal for line in totals.lines)
    assert totals.discount_total == sum((line.subtotal - line.total for line in totals.lines), ZERO)
    if not profile.round_at_subtotal:
        line_taxes = sum((line.total_tax for line in totals.lines), ZERO)
        fee_taxes = sum((fee.total_tax for fee in totals.fees), ZERO)
        assert totals.cart_tax == line_taxes + fee_taxes


@settings(max_examples=200, deadline=None)
@given(carts(profiles=(profile_by_key("eu"),)))
def test_gross_line_price_is_preserved_in_a_tax_inclusive_store(
    case: tuple[StoreProfile, CartSpec],
) -> None:
    profile, cart = case
    for line in compute_order(cart, profile).lines:
        gross = line.spec.product.price * line.spec.quantity
        assert line.subtotal + line.subtotal_tax == gross
