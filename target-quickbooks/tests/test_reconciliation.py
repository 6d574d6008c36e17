"""QuickBooks' totals against the store's, to the cent."""

from __future__ import annotations

from decimal import Decimal

from target_quickbooks.contract import Expected
from target_quickbooks.reconciliation import reconcile

EXPECTED = Expected(currency="USD", total=Decimal("43.28"), tax=Decimal("3.30"))


def test_equal_totals_reconcile():
    check = reconcile(
        "SalesReceipt",
        EXPECTED,
        {"TotalAmt": Decimal("43.28"), "TxnTaxDetail": {"TotalTax": Decimal("3.3")}},
    )
    assert check is not None
    assert check.matches


def test_a_cent_of_difference_is_reported_with_both_figures():
    check = reconcile(
        "SalesReceipt",
        EXPECTED,
        {"TotalAmt": Decimal("43.29"), "TxnTaxDetail": {"TotalTax": Decimal("3.31")}},
    )
    assert check is not None
    assert not check.matches
    assert "43.28" in check.describe()
    assert "43.29" in check.describe()


def test_payments_have_no_tax_detail():
    expected = Expected(currency="USD", total=Decimal("10.00"), tax=Decimal(0))
    check = reconcile("Payment", expected, {"TotalAmt": Decimal("10.00")})
    assert check is not None
    assert check.matches


def test_missing_total_never_matches():
    check = reconcile("Invoice", EXPECTED, {"TxnTaxDetail": {"TotalTax": Decimal("3.30")}})
    assert check is not None
    assert not check.matches


def test_customers_have_nothing_to_reconcile():
    assert reconcile("Customer", EXPECTED, {}) is None
