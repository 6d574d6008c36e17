def _item_line(amount, code="NON", item="5"):
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": {"value": item}, "TaxCodeRef": {"value": code}},
    }


def test_refund_receipt_requires_deposit_to_account(us):
    missing = us.post("refundreceipt", {"Line": [_item_line(10)]})
    assert missing.json()["Fault"]["Error"][0]["code"] == "2020"
    body = {"Line": [_item_line(10)], "DepositToAccountRef": {"value": "5"}}
    refund = us.post("refundreceipt", body).json()["RefundReceipt"]
    assert refund["TotalAmt"] == 10


def test_fixed_discount_line_reduces_total_before_tax(us):
    body = {
        "Line": [
            _item_line(100, "TAX"),
            {"DetailType": "DiscountLineDetail", "Amount": 10, "DiscountLineDetail": {}},
        ]
    }
    receipt = us.post("salesreceipt", body).json()["SalesReceipt"]
    assert receipt["TxnTaxDetail"]["TotalTax"] == 7.43  # 8.25% of 90.00
    assert receipt["TotalAmt"] == 97.43


def test_discount_above_subtotal_is_6000(us):
    body = {
        "Line": [
            _item_line(5),
            {"DetailType": "DiscountLineDetail", "Amount": 6, "DiscountLineDetail": {}},
        ]
    }
    assert us.post("salesreceipt", body).json()["Fault"]["Error"][0]["code"] == "6000"


def test_sparse_update_of_lines_recomputes_totals(ca):
    receipt = ca.post("salesreceipt", {"Line": [_item_line(100, "3")]}).json()["SalesReceipt"]
    assert receipt["TotalAmt"] == 113
    updated = ca.post(
        "salesreceipt",
        {"Id": receipt["Id"], "SyncToken": "0", "sparse": True, "Line": [_item_line(200, "3")]},
    ).json()["SalesReceipt"]
    assert updated["TotalAmt"] == 226
    assert updated["DocNumber"] == receipt["DocNumber"]


def test_credit_memo_cannot_be_voided(us):
    memo = us.post("creditmemo", {"CustomerRef": {"value": "1"}, "Line": [_item_line(5)]}).json()[
        "CreditMemo"
    ]
    response = us.post("creditmemo", {"Id": memo["Id"], "SyncToken": "0"}, operation="void")
    assert response.json()["Fault"]["Error"][0]["code"] == "500"


def test_deactivated_customer_is_renamed_and_name_is_free_again(us):
    deactivated = us.post(
        "customer", {"Id": "3", "SyncToken": "0", "sparse": True, "Active": False}
    ).json()["Customer"]
    assert deactivated["DisplayName"] == "Cool Cars (deleted)"
    assert us.post("customer", {"DisplayName": "Cool Cars"}).status_code == 200


def test_invoice_with_payment_cannot_be_deleted(us):
    invoice = us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [_item_line(10)]}).json()[
        "Invoice"
    ]
    link = [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]
    us.post(
        "payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": 10,
            "Line": [{"Amount": 10, "LinkedTxn": link}],
        },
    )
    current = us.get(f"invoice/{invoice['Id']}").json()["Invoice"]
    assert current["Balance"] == 0
    response = us.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": current["SyncToken"]}, operation="delete"
    )
    assert response.json()["Fault"]["Error"][0]["code"] == "6000"
