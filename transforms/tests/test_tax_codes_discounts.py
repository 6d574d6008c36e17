"""tax_codes mode: discounts travel inside each line, never as a discount line.

QuickBooks computes a non-US document's tax from its lines and spreads a discount line over
them itself (shipping included), so the tax bases would not be the store's (docs/mapping.md,
"Discounts").
"""

from decimal import Decimal
from typing import Any

from kconnector_canonical.examples import load
from map_quickbooks.mapping import map_record
from map_quickbooks.rules import Settings

TAX_CODES = {"NY State Tax 4% + New York City Tax 4.5%": "NY"}


def _receipt(settings: Settings) -> dict[str, Any]:
    records = map_record(load("shopify_order"), "orders", settings)
    return next(r.record for r in records if r.stream == "sales_receipts")


def test_tax_codes_mode_folds_the_discount_into_the_lines() -> None:
    settings = Settings.from_config({"tax_mode": "tax_codes", "tax_code_map": TAX_CODES})
    receipt = _receipt(settings)
    kinds = [line["DetailType"] for line in receipt["body"]["Line"]]
    assert kinds == ["SalesItemLineDetail"] * 3
    assert receipt["body"]["Line"][0]["Amount"] == "80.00"


def test_folded_lines_still_add_up_to_the_store_total() -> None:
    settings = Settings.from_config({"tax_mode": "tax_codes", "tax_code_map": TAX_CODES})
    receipt = _receipt(settings)
    net = sum(Decimal(line["Amount"]) for line in receipt["body"]["Line"])
    tax = Decimal(receipt["body"]["TxnTaxDetail"]["TotalTax"])
    assert net + tax == Decimal(receipt["expected"]["total"])


def test_us_automated_mode_keeps_the_discount_line() -> None:
    receipt = _receipt(Settings.from_config({}))
    assert "DiscountLineDetail" in [line["DetailType"] for line in receipt["body"]["Line"]]
