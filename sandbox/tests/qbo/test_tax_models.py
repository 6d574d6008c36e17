import requests


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


def _tax_line(rate_id, amount, net=None):
    detail = {"TaxRateRef": {"value": rate_id}, "PercentBased": True}
    if net is not None:
        detail["NetAmountTaxable"] = net
    return {"Amount": amount, "DetailType": "TaxLineDetail", "TaxLineDetail": detail}


def _bc_receipt(tax_lines):
    # Two lines the store taxed per line: 3 x 0.50 of GST/PST BC. QuickBooks' per-document
    # rounding gives GST 0.08 and PST 0.11; the store charged 0.09 and 0.12 (0.03 + 0.04 each).
    return {
        "Line": [_line(0.50, "2"), _line(0.50, "2"), _line(0.50, "2")],
        "TxnTaxDetail": {"TotalTax": 0.21, "TaxLine": tax_lines},
    }


def _by_rate(document):
    return {
        t["TaxLineDetail"]["TaxRateRef"]["value"]: t for t in document["TxnTaxDetail"]["TaxLine"]
    }


def test_ca_without_supplied_tax_lines_computes_per_rate_over_the_document(ca):
    receipt = ca.post("salesreceipt", _bc_receipt([])).json()["SalesReceipt"]
    assert receipt["TxnTaxDetail"]["TotalTax"] == 0.19  # the sent TotalTax is not an override
    assert {k: t["Amount"] for k, t in _by_rate(receipt).items()} == {"1": 0.08, "2": 0.11}
    assert all("OverrideDeltaAmount" not in t["TaxLineDetail"] for t in _by_rate(receipt).values())


def test_ca_supplied_tax_line_amounts_are_kept_with_their_override_delta(ca):
    body = _bc_receipt([_tax_line("1", 0.09, 1.50), _tax_line("2", 0.12, 1.50)])
    receipt = ca.post("salesreceipt", body).json()["SalesReceipt"]
    rates = _by_rate(receipt)
    assert (rates["1"]["Amount"], rates["2"]["Amount"]) == (0.09, 0.12)
    assert rates["1"]["TaxLineDetail"]["OverrideDeltaAmount"] == 0.01
    assert rates["2"]["TaxLineDetail"]["OverrideDeltaAmount"] == 0.01
    assert rates["2"]["TaxLineDetail"]["NetAmountTaxable"] == 1.50
    assert receipt["TxnTaxDetail"]["TotalTax"] == 0.21
    assert receipt["TotalAmt"] == 1.71


def test_ca_rate_not_supplied_is_still_computed(ca):
    receipt = ca.post("salesreceipt", _bc_receipt([_tax_line("1", 0.09)])).json()["SalesReceipt"]
    rates = _by_rate(receipt)
    assert (rates["1"]["Amount"], rates["2"]["Amount"]) == (0.09, 0.11)
    assert "OverrideDeltaAmount" not in rates["2"]["TaxLineDetail"]
    assert receipt["TxnTaxDetail"]["TotalTax"] == 0.20


def test_ca_supplied_rate_no_line_applies_is_refused(ca):
    response = ca.post("salesreceipt", _bc_receipt([_tax_line("3", 0.21)]))  # HST ON
    assert response.json()["Fault"]["Error"][0]["code"] == "6000"


def test_ca_rate_supplied_twice_is_refused(ca):
    response = ca.post("salesreceipt", _bc_receipt([_tax_line("1", 0.09), _tax_line("1", 0.01)]))
    assert response.json()["Fault"]["Error"][0]["code"] == "6000"


def test_ca_supplied_unknown_tax_rate_is_an_invalid_reference(ca):
    response = ca.post("salesreceipt", _bc_receipt([_tax_line("99", 0.09)]))
    assert response.json()["Fault"]["Error"][0]["code"] == "2500"


def test_gb_supplied_tax_stays_inside_the_gross_total(gb):
    body = {
        "GlobalTaxCalculation": "TaxInclusive",
        "Line": [_line(1.66, "1", TaxInclusiveAmt=1.99), _line(1.66, "1", TaxInclusiveAmt=1.99)],
        "TxnTaxDetail": {"TaxLine": [_tax_line("1", 0.66, 3.32)]},
    }
    receipt = gb.post("salesreceipt", body).json()["SalesReceipt"]
    assert receipt["TotalAmt"] == 3.98
    assert receipt["TxnTaxDetail"]["TotalTax"] == 0.66


def test_bookkeeper_edit_keeps_supplied_tax_and_recomputes_the_rest(ca):
    receipt = ca.post("salesreceipt", _bc_receipt([_tax_line("1", 0.09)])).json()["SalesReceipt"]
    edited = requests.post(
        f"{ca.base_url}/__admin/realms/{ca.realm}/edit/SalesReceipt/{receipt['Id']}",
        json={"Line": [_line(0.50, "2"), _line(0.50, "2"), _line(1.50, "2")]},
        timeout=10,
    ).json()["SalesReceipt"]
    rates = _by_rate(edited)
    assert rates["1"]["Amount"] == 0.09  # supplied: kept
    assert rates["2"]["Amount"] == 0.18  # computed again: PST 7 % of 2.50 = 0.175 -> 0.18


def test_not_applicable_refuses_supplied_tax_lines(ca):
    body = {
        "GlobalTaxCalculation": "NotApplicable",
        "Line": [_line(10, "1")],
        "TxnTaxDetail": {"TaxLine": [_tax_line("1", 0.50)]},
    }
    assert ca.post("salesreceipt", body).json()["Fault"]["Error"][0]["code"] == "6170"
