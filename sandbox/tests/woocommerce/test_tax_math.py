"""WooCommerce's rounding and tax formulas, on exact decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kconnector_sandbox.woocommerce.order_math import CouponSpec, line_discounts
from kconnector_sandbox.woocommerce.tax_math import (
    RoundingMode,
    TaxRate,
    calc_exclusive_tax,
    calc_inclusive_tax,
    json_number,
    php_round,
    raw_decimal,
)


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        ("2.345", RoundingMode.HALF_UP, "2.35"),
        ("-2.345", RoundingMode.HALF_UP, "-2.35"),
        ("2.345", RoundingMode.HALF_DOWN, "2.34"),
        ("-2.345", RoundingMode.HALF_DOWN, "-2.34"),
        ("1.005", RoundingMode.HALF_UP, "1.01"),
        ("2.3449", RoundingMode.HALF_UP, "2.34"),
    ],
)
def test_php_round_breaks_ties_like_php(value: str, mode: RoundingMode, expected: str) -> None:
    assert php_round(Decimal(value), 2, mode) == Decimal(expected)


def test_regular_rates_each_apply_to_the_price() -> None:
    rates = [
        TaxRate(1, "US", "NY", "State", Decimal("4.0000")),
        TaxRate(2, "US", "NY", "City", Decimal("4.5000"), 2),
        TaxRate(3, "US", "NY", "MCTD", Decimal("0.3750"), 3),
    ]
    taxes = calc_exclusive_tax(Decimal("14.99"), rates)
    assert taxes == {1: Decimal("0.5996"), 2: Decimal("0.67455"), 3: Decimal("0.056213")}


def test_compound_rate_applies_to_price_plus_regular_taxes() -> None:
    rates = [
        TaxRate(14, "CA", "QC", "GST", Decimal(5)),
        TaxRate(15, "CA", "QC", "QST", Decimal("9.975"), 2, compound=True),
    ]
    taxes = calc_exclusive_tax(Decimal(100), rates)
    assert taxes == {14: Decimal("5.000000"), 15: Decimal("10.473750")}


def test_inclusive_tax_is_backed_out_of_the_gross_price() -> None:
    rate = TaxRate(21, "DE", "", "MwSt.", Decimal(19))
    taxes = calc_inclusive_tax(Decimal("48.00"), [rate])
    assert taxes == {21: Decimal("7.663866")}


def test_rate_code_is_country_state_name_priority() -> None:
    assert TaxRate(2, "US", "NY", "NYC Tax", Decimal("4.5"), 2).rate_code == "US-NY-NYC TAX-2"
    assert TaxRate(21, "DE", "", "MwSt.", Decimal(19)).rate_code == "DE-MWST.-1"


def test_fixed_cart_coupon_leftover_cents_go_one_per_line() -> None:
    coupon = CouponSpec("take10", "fixed_cart", Decimal("10.00"))
    discounts = line_discounts([Decimal("10.00")] * 3, [1, 1, 1], coupon)
    assert discounts == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert sum(discounts) == Decimal("10.00")


def test_fixed_product_coupon_is_capped_at_the_line_price() -> None:
    coupon = CouponSpec("item3", "fixed_product", Decimal("3.00"))
    assert line_discounts([Decimal("0.99"), Decimal("20.00")], [1, 2], coupon) == [
        Decimal("0.99"),
        Decimal("6.00"),
    ]


def test_stored_taxes_and_prices_print_like_php() -> None:
    assert raw_decimal(Decimal("6.70")) == "6.7"
    assert raw_decimal(Decimal("10.473750")) == "10.47375"
    assert raw_decimal(Decimal("20.00")) == "20"
    assert raw_decimal(Decimal("0.000")) == "0"
    assert json_number(Decimal("35.29") / 2) == Decimal("17.645")
    assert f"{json_number(Decimal('20.00')):f}" == "20"
    assert len(str(json_number(Decimal(10) / 3)).replace(".", "")) == 17
