"""Tax codes per line, TxnTaxDetail, tax-inclusive stores, unmapped taxes."""

import json
from decimal import Decimal
from pathlib import Path

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


def _golden_input(case):
    path = Path(__file__).with_name("golden") / case / "input.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_tax_codes_without_a_tax_rate_map_leaves_the_per_rate_tax_to_quickbooks():
    spec = _golden_input("canada_tax_per_rate")
    config = dict(spec["config"])
    config["tax_rate_map"] = {}
    records = map_record(spec["records"][0]["record"], "orders", Settings.from_config(config))
    assert _body(records, "sales_receipts")["TxnTaxDetail"] == {"TotalTax": "5.10"}


def test_store_tax_is_stated_per_rate_as_charged_line_by_line():
    spec = _golden_input("canada_tax_per_rate")
    records = map_record(
        spec["records"][0]["record"], "orders", Settings.from_config(spec["config"])
    )
    detail = _body(records, "sales_receipts")["TxnTaxDetail"]
    by_rate = {t["TaxLineDetail"]["TaxRateRef"]["value"]: t for t in detail["TaxLine"]}
    # Per line: 3 x 0.51 + 0.60 GST, 3 x 0.71 + 0.84 PST; QuickBooks' own rounding over the
    # document would give 2.12 and 2.96.
    assert (by_rate["GST"]["Amount"], by_rate["PST (BC)"]["Amount"]) == ("2.13", "2.97")
    assert by_rate["GST"]["TaxLineDetail"]["NetAmountTaxable"] == "42.30"  # gift card excluded
    assert by_rate["GST"]["TaxLineDetail"]["TaxPercent"] == "5"
    assert detail["TotalTax"] == "5.10"


def test_store_tax_without_a_tax_rate_is_a_dead_letter_naming_the_keys():
    spec = _golden_input("canada_tax_per_rate")
    config = dict(spec["config"])
    config["tax_rate_map"] = {k: v for k, v in config["tax_rate_map"].items() if k != "PST 7%"}
    records = map_record(spec["records"][0]["record"], "orders", Settings.from_config(config))
    letter = next(r.record for r in records if r.stream == "dead_letters")
    assert letter["error_code"] == "MAP-UNMAPPED-TAX"
    assert letter["field"] == "line_items[0].tax_lines[1]"
    assert "'PST 7%'" in letter["guidance"]
    assert "'CA-BC'" in letter["guidance"]
    assert "tax_rate_map" in letter["guidance"]


def test_tax_inclusive_rate_tax_lines_carry_net_amounts():
    settings = Settings.from_config(
        {
            "tax_mode": "tax_codes",
            "tax_code_map": CODES["tax_code_map"],
            "tax_rate_map": {"MwSt. 19%": "19.0% S"},
        }
    )
    body = _body(map_record(load("woocommerce_order"), "orders", settings), "sales_receipts")
    [line] = body["TxnTaxDetail"]["TaxLine"]
    items = [x for x in body["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    assert line["TaxLineDetail"]["NetAmountTaxable"] == format(
        sum((Decimal(x["Amount"]) for x in items), Decimal(0)), "f"
    )
    assert line["Amount"] == body["TxnTaxDetail"]["TotalTax"]


def test_us_automated_never_states_tax_per_rate():
    settings = Settings.from_config({"tax_rate_map": {"NY State Tax 4%": "NY"}})
    body = _body(map_record(load("shopify_order"), "orders", settings), "sales_receipts")
    assert "TaxLine" not in body["TxnTaxDetail"]
