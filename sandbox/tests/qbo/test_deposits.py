"""The Deposit entity: what can be deposited, where, the computed total, and freeing on delete."""

from __future__ import annotations

import pytest

CHECKING = {"value": "5"}
UNDEPOSITED = {"value": "4"}
FEES = {"value": "11"}
INCOME = {"value": "1"}


def _item_line(amount):
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": {"value": "5"}, "TaxCodeRef": {"value": "NON"}},
    }


def _receipt(client, amount, **extra):
    body = {"Line": [_item_line(amount)], **extra}
    return client.post("salesreceipt", body).json()["SalesReceipt"]


def _linked(entity, doc, amount=None):
    return {
        "Amount": doc["TotalAmt"] if amount is None else amount,
        "LinkedTxn": [{"TxnId": doc["Id"], "TxnType": entity, "TxnLineId": "0"}],
    }


def _detail(amount, account=FEES, **detail):
    return {
        "Amount": amount,
        "DetailType": "DepositLineDetail",
        "DepositLineDetail": {"AccountRef": account, **detail},
    }


def _code(response):
    return response.json()["Fault"]["Error"][0]["code"]


def _detail_text(response):
    return response.json()["Fault"]["Error"][0]["Detail"]


def test_deposit_clears_receipts_and_payment_with_fee_and_refund_lines(us):
    first, second = _receipt(us, 40), _receipt(us, 25)
    payment = us.post(
        "payment", {"CustomerRef": {"value": "1"}, "TotalAmt": 15, "Line": []}
    ).json()["Payment"]
    body = {
        "DepositToAccountRef": CHECKING,
        "TxnDate": "2026-03-02",
        "PrivateNote": "Shopify Payments payout 1234",
        "TotalAmt": 999,  # computed by QuickBooks; a supplied value is overwritten
        "Line": [
            _linked("SalesReceipt", first),
            _linked("SalesReceipt", second),
            _linked("Payment", payment),
            _detail("-10.00", UNDEPOSITED, Entity={"value": "1", "type": "Customer"}),
            _detail("-2.35", FEES),
        ],
    }
    deposit = us.post("deposit", body).json()["Deposit"]
    assert deposit["TotalAmt"] == 67.65
    assert [line["LineNum"] for line in deposit["Line"]] == [1, 2, 3, 4, 5]
    assert deposit["CurrencyRef"] == {"value": "USD"}
    read = us.get(f"deposit/{deposit['Id']}").json()["Deposit"]
    assert read["TotalAmt"] == 67.65
    found = us.query(
        "select * from Deposit where PrivateNote = 'Shopify Payments payout 1234'"
    ).json()
    assert found["QueryResponse"]["Deposit"][0]["PrivateNote"] == "Shopify Payments payout 1234"


@pytest.mark.parametrize(("account", "reason"), [(INCOME, "Income"), (UNDEPOSITED, "itself")])
def test_deposit_into_an_account_that_is_not_a_bank_is_refused(us, account, reason):
    receipt = _receipt(us, 10)
    response = us.post(
        "deposit", {"DepositToAccountRef": account, "Line": [_linked("SalesReceipt", receipt)]}
    )
    assert _code(response) == "6000", reason
    assert "Select a bank account" in _detail_text(response)


def test_deposit_requires_its_account_and_lines(us):
    assert _code(us.post("deposit", {"Line": [_detail(5, INCOME)]})) == "2020"
    assert _code(us.post("deposit", {"DepositToAccountRef": CHECKING, "Line": []})) == "2020"


def test_detail_line_needs_an_account_and_a_linked_line_its_line_id(us):
    no_account = {"Amount": 5, "DetailType": "DepositLineDetail", "DepositLineDetail": {}}
    response = us.post("deposit", {"DepositToAccountRef": CHECKING, "Line": [no_account]})
    assert _code(response) == "2020"
    assert "Line.DepositLineDetail.AccountRef" in _detail_text(response)
    receipt = _receipt(us, 10)
    line = _linked("SalesReceipt", receipt)
    del line["LinkedTxn"][0]["TxnLineId"]
    response = us.post("deposit", {"DepositToAccountRef": CHECKING, "Line": [line]})
    assert _code(response) == "2020"
    # A linked line typed DepositLineDetail without an AccountRef (python-quickbooks#329).
    typed = {**_linked("SalesReceipt", receipt), "DetailType": "DepositLineDetail"}
    response = us.post("deposit", {"DepositToAccountRef": CHECKING, "Line": [typed]})
    assert "Line.DepositLineDetail.AccountRef" in _detail_text(response)


def test_money_received_into_the_bank_cannot_be_deposited(us):
    banked = _receipt(us, 10, DepositToAccountRef=CHECKING)
    response = us.post(
        "deposit", {"DepositToAccountRef": CHECKING, "Line": [_linked("SalesReceipt", banked)]}
    )
    assert _code(response) == "6000"
    assert "Undeposited Funds" in _detail_text(response)


def test_a_receipt_is_deposited_once_and_freed_when_its_deposit_is_deleted(us):
    receipt = _receipt(us, 10)
    body = {"DepositToAccountRef": CHECKING, "Line": [_linked("SalesReceipt", receipt)]}
    deposit = us.post("deposit", body).json()["Deposit"]
    again = us.post("deposit", body)
    assert _code(again) == "6000"
    assert f"Deposit {deposit['Id']}" in _detail_text(again)
    blocked = us.post("salesreceipt", {"Id": receipt["Id"], "SyncToken": "0"}, operation="delete")
    assert _code(blocked) == "6000"
    deleted = us.post("deposit", {"Id": deposit["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.json()["Deposit"]["status"] == "Deleted"
    assert "Deposit" in us.post("deposit", body).json()


def test_linked_amount_must_be_the_whole_transaction_and_listed_once(us):
    receipt = _receipt(us, 10)
    partial = us.post(
        "deposit",
        {"DepositToAccountRef": CHECKING, "Line": [_linked("SalesReceipt", receipt, "4.00")]},
    )
    assert _code(partial) == "6000"
    twice = [_linked("SalesReceipt", receipt), _linked("SalesReceipt", receipt)]
    assert _code(us.post("deposit", {"DepositToAccountRef": CHECKING, "Line": twice})) == "6000"


def test_refund_receipt_paid_from_undeposited_funds_links_as_a_negative_line(us):
    receipt = _receipt(us, 30)
    refund = us.post(
        "refundreceipt", {"Line": [_item_line(12)], "DepositToAccountRef": UNDEPOSITED}
    ).json()["RefundReceipt"]
    lines = [_linked("SalesReceipt", receipt), _linked("RefundReceipt", refund, "-12.00")]
    deposit = us.post("deposit", {"DepositToAccountRef": CHECKING, "Line": lines}).json()
    assert deposit["Deposit"]["TotalAmt"] == 18


def test_unknown_or_unserved_linked_transaction_is_an_invalid_reference(us):
    line = {
        "Amount": 5,
        "LinkedTxn": [{"TxnId": "999", "TxnType": "SalesReceipt", "TxnLineId": "0"}],
    }
    response = us.post("deposit", {"DepositToAccountRef": CHECKING, "Line": [line]})
    assert _code(response) == "2500"
    line["LinkedTxn"][0]["TxnType"] = "Invoice"  # not a documented deposit link
    response = us.post("deposit", {"DepositToAccountRef": CHECKING, "Line": [line]})
    assert _code(response) == "2010"


def test_sparse_update_is_not_honoured_on_a_deposit(us):
    deposit = us.post(
        "deposit", {"DepositToAccountRef": CHECKING, "Line": [_detail(5, INCOME)]}
    ).json()["Deposit"]
    sparse = {"Id": deposit["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"}
    assert _code(us.post("deposit", sparse)) == "2020"
    full = {**deposit, "PrivateNote": "edited", "Line": [_detail(7, INCOME)]}
    updated = us.post("deposit", full).json()["Deposit"]
    assert (updated["TotalAmt"], updated["SyncToken"]) == (7, "1")


def test_foreign_currency_receipt_cannot_go_into_a_home_currency_deposit(ca):
    customer = ca.post(
        "customer", {"DisplayName": "US buyer", "CurrencyRef": {"value": "USD"}}
    ).json()["Customer"]
    receipt = ca.post(
        "salesreceipt",
        {
            "CustomerRef": {"value": customer["Id"]},
            "CurrencyRef": {"value": "USD"},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 10,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": "5"},
                        "TaxCodeRef": {"value": "3"},
                    },
                }
            ],
        },
    ).json()["SalesReceipt"]
    response = ca.post(
        "deposit", {"DepositToAccountRef": CHECKING, "Line": [_linked("SalesReceipt", receipt)]}
    )
    assert _code(response) == "6000"
    assert "USD" in _detail_text(response)


def test_seeded_company_has_an_expense_account_for_processor_fees(us):
    account = us.get("account/11").json()["Account"]
    assert (account["Name"], account["AccountType"], account["AccountSubType"]) == (
        "Bank Charges & Fees",
        "Expense",
        "BankCharges",
    )
