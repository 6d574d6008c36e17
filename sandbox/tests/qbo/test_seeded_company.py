"""What a seeded company holds: the Quebec tax code a Canadian seller has, no gift card item."""

from decimal import Decimal
from typing import Any


def test_quebec_code_applies_gst_and_qst_on_the_net_amount(ca: Any) -> None:
    codes = ca.query("select * from TaxCode where Name = 'GST/QST QC'").json()["QueryResponse"]
    code_id = codes["TaxCode"][0]["Id"]
    body = {
        "CustomerRef": {"value": "1"},
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 100,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "5"},
                    "Qty": 1,
                    "UnitPrice": 100,
                    "TaxCodeRef": {"value": code_id},
                },
            }
        ],
    }
    receipt = ca.post("salesreceipt", body).json()["SalesReceipt"]
    assert Decimal(str(receipt["TxnTaxDetail"]["TotalTax"])) == Decimal("14.98")


def test_a_fresh_company_has_no_gift_card_item(us: Any) -> None:
    statement = "select * from Item where Name = 'Gift Card'"
    assert us.query(statement).json()["QueryResponse"] == {}
