"""The Canadian company has a combined GST/QST code for Quebec, as it has GST/PST for BC."""

from decimal import Decimal


def test_quebec_code_applies_gst_and_qst_on_the_net_amount(ca):
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
