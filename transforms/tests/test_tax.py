"""Tax codes per line, TxnTaxDetail, tax-inclusive stores, unmapped taxes."""

from decimal import Decimal

import pytest

from kconnector_canonical import Order
from kconnector_canonical.examples import load
from map_quickbooks.errors import ErrorCode, MappingError
from map_quickbooks.mapping import map_record
from map_quickbooks.rules import Settings
from map_quickbooks.tax import line_tax_code, spread_tax, tax_keys

CODES = {"tax_mode": "tax_codes", "tax_code_map": {"MwSt. 19%": "19.0% S"}}


def _body(records, stream):
    return next(r.record["body"] for r in records if r.stream == stream)


def test_tax_keys_go_from_most_specific_to_rate_codes():
    order = Order.from_record(load("shopify_order"))
    assert tax_keys(order.line_items[0].tax_lines) == [
        "NY State Tax 4% + New York City Tax 4.5%",
        "NY State Tax + New York City Tax",
        "US-NY + US-NY-NYC",
    ]


def test_us_automated_sends_tax_and_non_codes_and_the_store_total_tax(default_settings):
    body = _body(map_record(load("shopify_order"), "orders", default_settings), "sales_receipts")
    codes = [
        x["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        for x in body["Line"]
        if x["DetailType"] == "SalesItemLineDetail"
    ]
    assert codes == ["TAX", "TAX", "TAX"]
    assert body["TxnTaxDetail"] == {"TotalTax": "8.93"}
    assert "GlobalTaxCalculation" not in body


def test_us_tax_code_setting_names_the_transaction_tax_code():
    settings = Settings.from_config({"us_tax_code": "NYC combined"})
    body = _body(map_record(load("shopify_order"), "orders", settings), "sales_receipts")
    assert body["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "NYC combined"


def test_tax_inclusive_store_sends_net_amounts_with_gross_tax_inclusive_amounts():
    settings = Settings.from_config(CODES)
    body = _body(map_record(load("woocommerce_order"), "orders", settings), "sales_receipts")
    assert body["GlobalTaxCalculation"] == "TaxInclusive"
    items = [x for x in body["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    net = sum((Decimal(x["Amount"]) for x in items), Decimal(0))
    gross = sum((Decimal(x["SalesItemLineDetail"]["TaxInclusiveAmt"]) for x in items), Decimal(0))
    assert gross == Decimal("47.91")
    assert net + Decimal(body["TxnTaxDetail"]["TotalTax"]) == Decimal("47.91")
    assert {x["SalesItemLineDetail"]["TaxCodeRef"]["value"] for x in items} == {"19.0% S"}


def test_unmapped_tax_in_tax_codes_mode_is_a_dead_letter_listing_the_keys():
    settings = Settings.from_config({"tax_mode": "tax_codes"})
    [dead] = map_record(load("shopify_order"), "orders", settings)
    assert dead.stream == "dead_letters"
    assert dead.record["error_code"] == "MAP-UNMAPPED-TAX"
    assert dead.record["field"] == "line_items[0]"
    assert "'US-NY + US-NY-NYC'" in dead.record["guidance"]


def test_untaxed_line_gets_the_exempt_code_in_tax_codes_mode():
    settings = Settings.from_config({"tax_mode": "tax_codes", "exempt_tax_code": "Zero-rated"})
    ref = line_tax_code((), Decimal(0), settings, "line_items[0]", exempt=False)
    assert ref["value"] == "Zero-rated"


def test_taxed_line_without_tax_detail_cannot_be_coded():
    settings = Settings.from_config({"tax_mode": "tax_codes"})
    with pytest.raises(MappingError) as caught:
        line_tax_code((), Decimal("1.00"), settings, "line_items[0]", exempt=False)
    assert caught.value.code == ErrorCode.UNMAPPED_TAX


def test_spread_tax_follows_unrounded_line_taxes_and_sums_exactly():
    shares = spread_tax(
        Decimal("7.65"),
        [Decimal("6.8655"), Decimal("0.78")],
        [Decimal("43.00"), Decimal("4.91")],
        "EUR",
    )
    assert shares == [Decimal("6.87"), Decimal("0.78")]
