from decimal import Decimal

import pytest

from kconnector_sandbox.qbo.sales_tax import (
    DiscountTooLargeError,
    Rate,
    SuppliedTax,
    SuppliedTaxError,
    TaxableLine,
    TaxMode,
    exclusive_totals,
    inclusive_totals,
    us_totals,
    with_supplied_tax,
)

GST = Rate("1", Decimal(5))
PST = Rate("2", Decimal(7))
VAT = Rate("1", Decimal(20))


def test_exclusive_tax_is_rounded_per_rate_over_discounted_lines():
    lines = [
        TaxableLine(Decimal("19.99"), None, (GST, PST)),
        TaxableLine(Decimal("10.00"), None, (GST,)),
    ]
    totals = exclusive_totals(lines, Decimal("2.99"))
    # factor = 27.00 / 29.99; GST on 27.00 = 1.35; PST on 19.99 * factor = 17.9970 -> 1.26
    assert [t.amount for t in totals.tax_lines] == [Decimal("1.35"), Decimal("1.26")]
    assert totals.total_tax == Decimal("2.61")
    assert totals.total == Decimal("29.61")


def test_inclusive_tax_is_taken_out_of_gross_and_total_is_gross():
    lines = [TaxableLine(None, Decimal("12.00"), (VAT,)), TaxableLine(None, Decimal("5.00"), ())]
    totals = inclusive_totals(lines, Decimal(0))
    assert totals.total == Decimal("17.00")
    assert totals.total_tax == Decimal("2.00")
    assert totals.line_nets == (Decimal("10.00"), Decimal("5.00"))


def test_us_override_is_kept_and_total_includes_it():
    lines = [TaxableLine(Decimal(100), None, (Rate("1", Decimal("8.25")),))]
    totals = us_totals(
        lines, Decimal(0), override=Decimal("7.77"), default_rate=Rate("1", Decimal("8.25"))
    )
    assert totals.total_tax == Decimal("7.77")
    assert totals.total == Decimal("107.77")


def test_discount_above_subtotal_is_refused():
    with pytest.raises(DiscountTooLargeError):
        exclusive_totals([TaxableLine(Decimal(1), None, ())], Decimal(2))


def test_supplied_rate_tax_replaces_the_computed_one_and_moves_the_total():
    lines = [TaxableLine(Decimal("0.50"), None, (GST, PST)) for _ in range(3)]
    computed = exclusive_totals(lines, Decimal(0))
    kept = with_supplied_tax(computed, {"1": SuppliedTax(Decimal("0.09"), None)}, TaxMode.EXCLUDED)
    assert [(t.amount, t.override_delta) for t in kept.tax_lines] == [
        (Decimal("0.09"), Decimal("0.01")),
        (Decimal("0.11"), None),
    ]
    assert kept.total_tax == Decimal("0.20")
    assert kept.total == Decimal("1.70")


def test_supplied_tax_for_a_rate_no_line_carries_is_refused():
    computed = exclusive_totals([TaxableLine(Decimal(10), None, (GST,))], Decimal(0))
    with pytest.raises(SuppliedTaxError):
        with_supplied_tax(computed, {"2": SuppliedTax(Decimal(1), None)}, TaxMode.EXCLUDED)
