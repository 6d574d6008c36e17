import requests


def _sale(customer="1", amount=39.98, qty=2, price=19.99, code="TAX"):
    return {
        "CustomerRef": {"value": customer},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "5"},
                    "Qty": qty,
                    "UnitPrice": price,
                    "TaxCodeRef": {"value": code},
                },
            }
        ],
    }


def test_create_read_wraps_entity_and_records_minorversion(us):
    created = us.post("salesreceipt", _sale())
    assert created.status_code == 200
    receipt = created.json()["SalesReceipt"]
    assert receipt["SyncToken"] == "0"
    assert "time" in created.json()
    assert created.headers["intuit_tid"].startswith("1-")
    read = us.get(f"salesreceipt/{receipt['Id']}")
    assert read.json()["SalesReceipt"]["TotalAmt"] == receipt["TotalAmt"]
    assert us.emulator.minor_versions["75"] >= 2


def test_read_unknown_id_is_610(us):
    response = us.get("invoice/999")
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "610"


def test_stale_synctoken_update_is_refused_with_5010(us):
    customer = us.post("customer", {"DisplayName": "Stale Test"}).json()["Customer"]
    first = us.post(
        "customer",
        {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "first"},
    )
    assert first.json()["Customer"]["SyncToken"] == "1"
    stale = us.post(
        "customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "late"}
    )
    assert stale.status_code == 400
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    assert stale.json()["Fault"]["type"] == "ValidationFault"


def test_full_update_clears_omitted_fields_sparse_keeps_them(us):
    body = {"DisplayName": "Full Update", "Notes": "keep?", "CompanyName": "Acme"}
    customer = us.post("customer", body).json()["Customer"]
    sparse = us.post(
        "customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "n2"}
    ).json()["Customer"]
    assert sparse["CompanyName"] == "Acme"
    full = us.post(
        "customer", {"Id": customer["Id"], "SyncToken": "1", "DisplayName": "Full Update"}
    ).json()["Customer"]
    assert "CompanyName" not in full
    assert full["SyncToken"] == "2"


def test_duplicate_display_name_is_6240(us):
    response = us.post("customer", {"DisplayName": "amy's bird sanctuary"})
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "6240"


def test_duplicate_item_name_is_6240(us):
    response = us.post("item", {"Name": "Widget", "IncomeAccountRef": {"value": "1"}})
    assert response.json()["Fault"]["Error"][0]["code"] == "6240"


def test_invalid_reference_is_2500(us):
    response = us.post("invoice", _sale(customer="404"))
    error = response.json()["Fault"]["Error"][0]
    assert response.status_code == 400
    assert error["code"] == "2500"
    assert error["element"] == "CustomerRef"


def test_inactive_reference_is_610(us):
    us.post("customer", {"Id": "3", "SyncToken": "0", "sparse": True, "Active": False})
    response = us.post("invoice", _sale(customer="3"))
    assert response.json()["Fault"]["Error"][0]["code"] == "610"


def test_required_customer_ref_on_invoice_is_2020(us):
    body = _sale()
    del body["CustomerRef"]
    response = us.post("invoice", body)
    assert response.json()["Fault"]["Error"][0]["code"] == "2020"


def test_amount_not_unit_price_times_qty_is_6070(us):
    response = us.post("salesreceipt", _sale(amount=40.00))
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "6070"


def test_doc_number_longer_than_21_is_2050(us):
    body = _sale() | {"DocNumber": "X" * 22}
    response = us.post("salesreceipt", body)
    assert response.json()["Fault"]["Error"][0]["code"] == "2050"


def test_tax_code_is_read_only(us):
    response = us.post("taxcode", {"Name": "New"})
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "500"


def test_customer_cannot_be_deleted(us):
    response = us.post("customer", {"Id": "1", "SyncToken": "0"}, operation="delete")
    error = response.json()["Fault"]["Error"][0]
    assert error["Message"] == "Unsupported Operation"
    assert error["code"] == "500"


def test_delete_and_void_transactions(us):
    receipt = us.post("salesreceipt", _sale()).json()["SalesReceipt"]
    voided = us.post(
        "salesreceipt", {"Id": receipt["Id"], "SyncToken": "0"}, operation="void"
    ).json()["SalesReceipt"]
    assert voided["TotalAmt"] == 0
    assert voided["PrivateNote"].startswith("Voided")
    deleted = us.post("salesreceipt", {"Id": receipt["Id"], "SyncToken": "1"}, operation="delete")
    assert deleted.json()["SalesReceipt"]["status"] == "Deleted"
    assert us.get(f"salesreceipt/{receipt['Id']}").json()["Fault"]["Error"][0]["code"] == "610"


def test_payment_reduces_invoice_balance_and_credit_memo_applies(us):
    invoice = us.post("invoice", _sale()).json()["Invoice"]
    assert invoice["Balance"] == invoice["TotalAmt"] == 43.28
    memo = us.post(
        "creditmemo",
        _sale(amount=19.99, qty=1, price=19.99, code="NON"),
    ).json()["CreditMemo"]
    payment = us.post(
        "payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": 20.00,
            "Line": [
                {"Amount": 39.99, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
                {"Amount": 19.99, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
            ],
        },
    )
    assert payment.status_code == 200, payment.text
    after = us.get(f"invoice/{invoice['Id']}").json()["Invoice"]
    assert after["Balance"] == 3.29
    assert after["SyncToken"] == "1"
    assert us.get(f"creditmemo/{memo['Id']}").json()["CreditMemo"]["Balance"] == 0
    pay = payment.json()["Payment"]
    us.post("payment", {"Id": pay["Id"], "SyncToken": pay["SyncToken"]}, operation="delete")
    assert us.get(f"invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 43.28


def test_overpaying_an_invoice_is_business_validation_6000(us):
    invoice = us.post("invoice", _sale()).json()["Invoice"]
    response = us.post(
        "payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": 100,
            "Line": [{"Amount": 50, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert response.json()["Fault"]["Error"][0]["code"] == "6000"


def test_bookkeeper_edit_bumps_synctoken_and_recomputes(us):
    receipt = us.post("salesreceipt", _sale()).json()["SalesReceipt"]
    edited = requests.post(
        f"{us.base_url}/__admin/realms/{us.realm}/edit/SalesReceipt/{receipt['Id']}",
        json={"PrivateNote": "fixed by the bookkeeper"},
        timeout=10,
    ).json()["SalesReceipt"]
    assert edited["SyncToken"] == "1"
    assert edited["PrivateNote"] == "fixed by the bookkeeper"
    stale = us.post(
        "salesreceipt", {"Id": receipt["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"}
    )
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"


def test_foreign_currency_customer_needs_matching_currency(ca):
    body = {
        "CustomerRef": {"value": "4"},
        "CurrencyRef": {"value": "USD"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 10,
                "SalesItemLineDetail": {"ItemRef": {"value": "5"}, "TaxCodeRef": {"value": "4"}},
            }
        ],
    }
    invoice = ca.post("invoice", body).json()["Invoice"]
    assert invoice["ExchangeRate"] == 1.35
    assert invoice["HomeTotalAmt"] == 13.5
    mismatch = ca.post("invoice", body | {"CurrencyRef": {"value": "CAD"}})
    assert mismatch.json()["Fault"]["Error"][0]["code"] == "6000"
