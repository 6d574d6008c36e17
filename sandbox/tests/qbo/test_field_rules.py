"""The documented field rules (kconnector_sandbox.qbo.field_rules), over HTTP and as functions."""

import pytest

from kconnector_sandbox.qbo import field_rules

NAME_FIELDS = (
    "DisplayName",
    "Title",
    "GivenName",
    "MiddleName",
    "FamilyName",
    "Suffix",
    "PrintOnCheckName",
)


def _error(response):
    assert response.status_code == 400, response.text
    return response.json()["Fault"]["Error"][0]


def _sale(**extra):
    return {
        "CustomerRef": {"value": "1"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": "19.99",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "5"},
                    "Qty": "1",
                    "UnitPrice": "19.99",
                    "TaxCodeRef": {"value": "NON"},
                },
            }
        ],
        **extra,
    }


@pytest.mark.parametrize("name_field", NAME_FIELDS)
@pytest.mark.parametrize("char", [":", "\t", "\n"])
def test_customer_name_with_separator_is_refused_with_2040(us, name_field, char):
    body = {"DisplayName": "Rule Test", name_field: f"Ab{char}Cd"}
    error = _error(us.post("customer", body))
    assert error["code"] == "2040"
    assert error["element"] == name_field


def test_customer_name_rule_applies_to_sparse_updates(us):
    customer = us.post("customer", {"DisplayName": "Clean Name"}).json()["Customer"]
    body = {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Parent:Child"}
    assert _error(us.post("customer", body))["code"] == "2040"


@pytest.mark.parametrize("address", ["no-at-sign.example.com", "someone@localhost", "@x.com"])
def test_customer_email_without_at_and_dot_is_refused_with_2040(us, address):
    body = {"DisplayName": "Mail Test", "PrimaryEmailAddr": {"Address": address}}
    error = _error(us.post("customer", body))
    assert error["code"] == "2040"
    assert error["element"] == "PrimaryEmailAddr.Address"
    assert address not in error["Detail"]  # the fault does not echo customer data


def test_customer_valid_email_is_accepted(us):
    body = {"DisplayName": "Mail Ok", "PrimaryEmailAddr": {"Address": "a.b+c@example.co.uk"}}
    assert us.post("customer", body).status_code == 200


@pytest.mark.parametrize(
    ("name_field", "limit"),
    [
        ("GivenName", 100),
        ("FamilyName", 100),
        ("Title", 16),
        ("Suffix", 16),
        ("PrintOnCheckName", 110),
        ("CompanyName", 100),
        ("DisplayName", 500),
    ],
)
def test_customer_field_over_its_documented_length_is_refused_with_2050(us, name_field, limit):
    accepted = us.post("customer", {"DisplayName": f"Len {name_field}", name_field: "x" * limit})
    assert accepted.status_code == 200, accepted.text
    body = {"DisplayName": f"Len2 {name_field}", name_field: "y" * (limit + 1)}
    error = _error(us.post("customer", body))
    assert error["code"] == "2050"
    assert error["element"] == name_field
    assert f"Max:{limit}" in error["Detail"]


def test_item_name_with_colon_is_refused_with_2040(us):
    body = {"Name": "Shirts:Blue", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    error = _error(us.post("item", body))
    assert (error["code"], error["element"]) == ("2040", "Name")
    body["Name"] = "Shirts - Blue"
    assert us.post("item", body).status_code == 200


def test_account_name_with_double_quote_is_refused_with_2040(us):
    body = {"Name": 'The "Best" Income', "AccountType": "Income"}
    assert _error(us.post("account", body))["code"] == "2040"


@pytest.mark.parametrize(
    "bad", ["2026-02-30", "2026-13-01", "2026-2-3", "yesterday", "2026-02-28T"]
)
def test_txn_date_that_is_not_a_real_date_is_refused_with_2010(us, bad):
    error = _error(us.post("salesreceipt", _sale(TxnDate=bad)))
    assert (error["code"], error["element"]) == ("2010", "TxnDate")


@pytest.mark.parametrize("good", ["2024-02-29", "2026-02-28", "2026-02-28Z", "2026-02-28-08:00"])
def test_txn_date_that_is_a_real_date_is_accepted(us, good):
    response = us.post("salesreceipt", _sale(TxnDate=good))
    assert response.status_code == 200, response.text
    assert response.json()["SalesReceipt"]["TxnDate"] == good


def test_doc_number_over_21_and_customer_memo_over_1000_are_refused_with_2050(us):
    assert _error(us.post("invoice", _sale(DocNumber="1" * 22)))["element"] == "DocNumber"
    memo = {"CustomerMemo": {"value": "m" * 1001}}
    error = _error(us.post("invoice", _sale(**memo)))
    assert (error["code"], error["element"]) == ("2050", "CustomerMemo.value")


def test_line_description_over_4000_is_refused_naming_the_line_field(us):
    sale = _sale()
    sale["Line"][0]["Description"] = "d" * 4001
    error = _error(us.post("salesreceipt", sale))
    assert (error["code"], error["element"]) == ("2050", "Line.Description")


def test_bill_email_without_at_is_refused(us):
    error = _error(us.post("salesreceipt", _sale(BillEmail={"Address": "nobody"})))
    assert (error["code"], error["element"]) == ("2040", "BillEmail.Address")


def test_sales_form_with_a_negative_total_is_refused_with_6000(us):
    sale = _sale()
    sale["Line"][0]["Amount"] = "-19.99"
    sale["Line"][0]["SalesItemLineDetail"]["UnitPrice"] = "-19.99"
    error = _error(us.post("salesreceipt", sale))
    assert (error["code"], error["element"]) == ("6000", "TotalAmt")


def test_payment_with_a_negative_total_is_refused_with_6000(us):
    error = _error(us.post("payment", {"CustomerRef": {"value": "1"}, "TotalAmt": "-5.00"}))
    assert (error["code"], error["element"]) == ("6000", "TotalAmt")


def test_reference_rules_missing_inactive_and_stale_synctoken_still_hold(us):
    missing = _sale()
    missing["CustomerRef"] = {"value": "999"}
    assert _error(us.post("salesreceipt", missing))["code"] == "2500"
    customer = us.post("customer", {"DisplayName": "Gone Soon"}).json()["Customer"]
    us.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    inactive = _sale()
    inactive["CustomerRef"] = {"value": customer["Id"]}
    assert _error(us.post("salesreceipt", inactive))["code"] == "610"
    stale = {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "late"}
    assert _error(us.post("customer", stale))["code"] == "5010"


# ------------------------------------------------------------------ pure functions


def test_values_at_walks_lists_and_names_the_element():
    document = {"Line": [{"Description": "a"}, {"Amount": 1}, {"Description": "b"}]}
    assert list(field_rules.values_at(document, "Line.Description")) == [
        ("Line.Description", "a"),
        ("Line.Description", "b"),
    ]
    assert list(field_rules.values_at(document, "CustomerMemo.value")) == []


def test_is_real_date_knows_the_calendar():
    assert field_rules.is_real_date("2028-02-29")
    assert not field_rules.is_real_date("2027-02-29")
    assert not field_rules.is_real_date("2026-04-31")


def test_every_entity_the_target_writes_has_field_rules():
    written = {
        "Customer",
        "Item",
        "PaymentMethod",
        "SalesReceipt",
        "Invoice",
        "Payment",
        "RefundReceipt",
        "CreditMemo",
    }
    assert written <= set(field_rules.FIELD_RULES)
