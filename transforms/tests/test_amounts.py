"""QuickBooks line arithmetic: Amount = UnitPrice x Qty exactly."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from kconnector_canonical.money import allocate
from map_quickbooks.amounts import money_text, price_line


@given(
    minor=st.integers(-(10**7), 10**7),
    quantity=st.integers(0, 500),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_priced_parts_multiply_exactly_and_add_up_to_the_amount(minor, quantity, currency):
    exponent = {"USD": -2, "JPY": 0, "KWD": -3}[currency]
    amount = Decimal(minor).scaleb(exponent)
    parts = price_line(amount, quantity, currency)
    assert sum((p.amount for p in parts), Decimal(0)) == amount
    for part in parts:
        assert part.unit_price * part.quantity == part.amount
        assert part.unit_price == part.unit_price.quantize(Decimal(1).scaleb(exponent))
    if quantity > 0:
        assert sum(p.quantity for p in parts) == quantity
        assert len(parts) <= 2


def test_uneven_amount_splits_as_allocate_shares_it():
    parts = price_line(Decimal("100.00"), 3, "USD")
    assert [(p.quantity, p.unit_price) for p in parts] == [
        (1, Decimal("33.34")),
        (2, Decimal("33.33")),
    ]
    assert allocate(Decimal("100.00"), [Decimal(1)] * 3, "USD") == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]


def test_amount_without_units_becomes_one_unit():
    assert [(p.quantity, p.amount) for p in price_line(Decimal("-5.00"), 0, "USD")] == [
        (1, Decimal("-5.00"))
    ]
    assert price_line(Decimal("0.00"), 0, "USD") == []


def test_money_text_uses_the_currency_precision():
    assert money_text(Decimal(5), "USD") == "5.00"
    assert money_text(Decimal(5), "JPY") == "5"
