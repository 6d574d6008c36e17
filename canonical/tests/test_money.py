from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kconnector_canonical import Money, MoneyError, Rounding, allocate, format_amount, parse_amount
from kconnector_canonical.money import minor_units, quantize

decimal_strings = st.builds(
    lambda sign, whole, frac: f"{sign}{whole}{'.' + frac if frac else ''}",
    st.sampled_from(["", "-"]),
    st.integers(min_value=0, max_value=10**12).map(str),
    st.text(alphabet="0123456789", max_size=6),
)
cents = st.decimals(
    min_value=Decimal(-1000000), max_value=Decimal(1000000), places=2, allow_nan=False
)


@given(decimal_strings)
def test_decimal_string_round_trips_exactly(text):
    value = parse_amount(text)
    rendered = format_amount(value)
    assert parse_amount(rendered) == value
    if not (text.startswith("-") and value == 0):
        assert rendered == text


@given(cents, st.sampled_from(["USD", "EUR", "CAD"]))
def test_money_record_round_trips(amount, currency):
    money = Money(amount, currency)
    assert Money.from_record(money.to_record()) == money


@pytest.mark.parametrize("value", [19.99, 20, True, None, "1e3", " 1.00", "1,00", "+1.00", ".5"])
def test_parse_amount_refuses_anything_but_a_plain_decimal_string(value):
    with pytest.raises(MoneyError):
        parse_amount(value)


def test_money_refuses_float_amount():
    with pytest.raises(MoneyError, match="Decimal"):
        Money(19.99, "USD")  # type: ignore[arg-type]


def test_money_refuses_mixing_currencies():
    with pytest.raises(MoneyError, match="USD with EUR"):
        Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")


@pytest.mark.parametrize(
    ("amount", "rounding", "expected"),
    [
        ("2.265", Rounding.HALF_UP, "2.27"),
        ("2.275", Rounding.HALF_UP, "2.28"),
        ("-2.265", Rounding.HALF_UP, "-2.27"),
        ("2.265", Rounding.HALF_EVEN, "2.26"),
        ("2.275", Rounding.HALF_EVEN, "2.28"),
        ("17.785", Rounding.HALF_EVEN, "17.78"),
    ],
)
def test_quantize_breaks_ties_as_documented(amount, rounding, expected):
    assert quantize(Decimal(amount), "USD", rounding) == Decimal(expected)


def test_minor_units_follow_iso_4217():
    assert (minor_units("USD"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    assert quantize(Decimal("1234.5"), "JPY") == Decimal(1235)


@given(
    cents,
    st.lists(st.decimals(min_value=0, max_value=10000, places=2), min_size=1, max_size=30).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_allocate_sums_exactly_and_stays_within_a_cent_of_the_exact_share(total, weights):
    shares = allocate(total, weights, "USD")
    assert sum(shares) == total
    weight_sum = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - total * weight / weight_sum) < Decimal("0.01")
    assert allocate(total, weights, "USD") == shares


def test_allocate_three_way_split_of_a_cent_remainder_is_deterministic():
    assert allocate(Decimal("100.00"), [Decimal(1)] * 3, "USD") == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]


def test_allocate_refuses_sub_cent_totals_and_negative_weights():
    with pytest.raises(MoneyError):
        allocate(Decimal("1.005"), [Decimal(1)], "USD")
    with pytest.raises(MoneyError):
        allocate(Decimal("1.00"), [Decimal(1), Decimal(-1)], "USD")
