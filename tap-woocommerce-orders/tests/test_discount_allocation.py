from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tap_woocommerce_orders.discount_allocation import split_discounts

cents = st.integers(min_value=0, max_value=100_000).map(lambda c: Decimal(c).scaleb(-2))


@given(
    line_discounts=st.lists(cents, min_size=1, max_size=6),
    coupon_weights=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=4),
)
def test_allocations_add_up_per_line_and_per_coupon_and_are_never_negative(
    line_discounts: list[Decimal], coupon_weights: list[int]
) -> None:
    coupons = [Decimal(w).scaleb(-2) for w in coupon_weights]
    split = split_discounts(line_discounts, coupons, "USD")

    for discount, allocations in zip(line_discounts, split.line_allocations, strict=True):
        assert all(share > 0 for _, share in allocations)
        if allocations:
            assert sum(share for _, share in allocations) == discount
    if sum(line_discounts) > 0:
        assert sum(split.coupon_amounts) == sum(line_discounts)
        for index, coupon_amount in enumerate(split.coupon_amounts):
            allocated = sum(
                share for line in split.line_allocations for i, share in line if i == index
            )
            assert allocated == coupon_amount


def test_coupon_amount_off_by_a_rounding_cent_follows_what_the_lines_lost() -> None:
    split = split_discounts([Decimal("4.80"), Decimal("1.07")], [Decimal("5.88")], "EUR")

    assert split.coupon_amounts == [Decimal("5.87")]


def test_two_coupons_split_each_line_in_proportion() -> None:
    split = split_discounts([Decimal("10.00"), Decimal("30.00")], [Decimal(20), Decimal(20)], "USD")

    assert split.line_allocations == [
        [(0, Decimal("5.00")), (1, Decimal("5.00"))],
        [(0, Decimal("15.00")), (1, Decimal("15.00"))],
    ]


def test_price_raised_by_hand_gets_no_allocation() -> None:
    split = split_discounts([Decimal("-2.00"), Decimal("3.00")], [Decimal("3.00")], "USD")

    assert split.line_allocations == [[], [(0, Decimal("3.00"))]]


def test_no_coupon_allocates_nothing() -> None:
    split = split_discounts([Decimal("3.00")], [], "USD")

    assert split.line_allocations == [[]]
    assert split.coupon_amounts == []
