def _line(amount, code, item="5", **detail):
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {
            "ItemRef": {"value": item},
            "TaxCodeRef": {"value": code},
            **detail,
        },
    }


def test_us_client_total_tax_override_is_kept(us):
    body = {
        "Line": [_line(100, "TAX"), _line(10, "NON", item="2")],
        "TxnTaxDetail": {"TotalTax": 8.88},
    }
    receipt = us.post("salesreceipt", body).json()["SalesReceipt"]
    assert receipt["TxnTaxDetail"]["TotalTax"] == 8.88
    assert receipt["TotalAmt"] == 118.88


def test_us_without_override_uses_company_rate_on_taxable_lines(us):
    receipt = us.post("salesreceipt", {"Line": [_line(100, "TAX"), _line(10, "NON")]}).json()
    assert receipt["SalesReceipt"]["TxnTaxDetail"]["TotalTax"] == 8.25
    assert receipt["SalesReceipt"]["TotalAmt"] == 118.25


def test_ca_tax_per_line_code_with_percent_discount_and_shipping(ca):
    body = {
        "CustomerRef": {"value": "1"},
        "Line": [
            _line(100, "2"),  # GST/PST BC
            _line(10, "1", item="2"),  # shipping, GST only
            {
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
            },
        ],
    }
    invoice = ca.post("invoice", body).json()["Invoice"]
    # discount 11.00; factor 0.9: GST on 99.00 = 4.95, PST on 90.00 = 6.30
    assert invoice["Line"][2]["Amount"] == 11.00
    assert invoice["TxnTaxDetail"]["TotalTax"] == 11.25
    assert invoice["TotalAmt"] == 110.25
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"


def test_ca_line_without_tax_code_is_refused(ca):
    line = _line(10, "1")
    del line["SalesItemLineDetail"]["TaxCodeRef"]
    response = ca.post("salesreceipt", {"Line": [line]})
    assert response.json()["Fault"]["Error"][0]["code"] == "6000"


def test_gb_tax_inclusive_gross_amounts_reconcile(gb):
    body = {
        "GlobalTaxCalculation": "TaxInclusive",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "5"},
                    "TaxCodeRef": {"value": "1"},
                    "TaxInclusiveAmt": 23.99,
                },
            },
            _line(4.99, "3", item="2", TaxInclusiveAmt=4.99),
        ],
    }
    receipt = gb.post("salesreceipt", body).json()["SalesReceipt"]
    assert receipt["TotalAmt"] == 28.98
    assert receipt["TxnTaxDetail"]["TotalTax"] == 4.00
    assert receipt["Line"][0]["Amount"] == 19.99


def test_not_applicable_refuses_tax_detail(ca):
    body = {
        "GlobalTaxCalculation": "NotApplicable",
        "Line": [_line(10, "1")],
        "TxnTaxDetail": {"TotalTax": 1},
    }
    assert ca.post("salesreceipt", body).json()["Fault"]["Error"][0]["code"] == "6170"
