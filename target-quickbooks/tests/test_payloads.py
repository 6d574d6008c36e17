"""Request bodies are pure functions of the resolved document (golden files)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from target_quickbooks import payloads, qbo_json

GOLDEN = Path(__file__).parent / "golden"
RESOLVED_RECEIPT = {
    "DocNumber": "1001",
    "TxnDate": "2026-11-01",
    "PrivateNote": "shopify order #1001",
    "CustomerRef": {"value": "58"},
    "Line": [
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": "39.98",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "5"},
                "Qty": "2",
                "UnitPrice": "19.99",
                "TaxCodeRef": {"value": "TAX"},
            },
        }
    ],
}


def golden(name: str, payload: dict) -> None:
    path = GOLDEN / name
    text = qbo_json.dumps(payload, sort_keys=True) + "\n"
    assert text == path.read_text("utf-8"), f"golden file {name} differs"


def test_create_payload_golden():
    golden(
        "create_sales_receipt.json",
        payloads.create_payload("SalesReceipt", RESOLVED_RECEIPT, "shopify:s:1001#sales_receipt"),
    )


def test_full_update_payload_golden():
    golden(
        "update_sales_receipt.json",
        payloads.update_payload(
            "SalesReceipt",
            RESOLVED_RECEIPT,
            "shopify:s:1001#sales_receipt",
            qbo_id="146",
            sync_token="3",
        ),
    )


def test_customer_update_is_sparse():
    payload = payloads.update_payload(
        "Customer", {"DisplayName": "Jane"}, "customer:1", qbo_id="7", sync_token="0"
    )
    assert payload["sparse"] is True
    assert payload["Notes"] == "[kc:customer:1]"


def test_amounts_become_decimals_and_nothing_else_changes():
    payload = payloads.with_numbers({"DocNumber": "0012", "Amount": "0.10", "Line": [{"Qty": "3"}]})
    assert payload == {
        "DocNumber": "0012",
        "Amount": Decimal("0.10"),
        "Line": [{"Qty": Decimal(3)}],
    }
    assert isinstance(payload["DocNumber"], str)


def test_marker_is_added_once_and_fits_the_field():
    long_note = "x" * 4000
    body = payloads.create_payload("Invoice", {"PrivateNote": long_note}, "e:1")
    assert len(body["PrivateNote"]) <= 4000
    assert body["PrivateNote"].endswith("[kc:e:1]")
    again = payloads.create_payload("Invoice", body, "e:1")
    assert again["PrivateNote"].count("[kc:e:1]") == 1


def test_unique_name_is_deterministic_and_within_limits():
    first = payloads.unique_name("PaymentMethod", "Shop Pay Installments Plus", "k")
    assert first == payloads.unique_name("PaymentMethod", "Shop Pay Installments Plus", "k")
    assert first != payloads.unique_name("PaymentMethod", "Shop Pay Installments Plus", "j")
    assert len(first) <= 31


def test_batch_item_shape():
    item = payloads.batch_item("b0", "Invoice", "create", {"Line": []})
    assert json.loads(qbo_json.dumps(item)) == {
        "bId": "b0",
        "operation": "create",
        "Invoice": {"Line": []},
    }


def test_every_body_sent_has_valid_names():
    customer = {
        "DisplayName": "ACME: Retail",
        "GivenName": "Ann\tMarie",
        "FamilyName": "Smith\nJones",
        "Title": "Chief Executive Officer",
        "CompanyName": "ACME:Retail",
        "Notes": "kept:\nas is",
    }
    body = payloads.create_payload("Customer", customer, "customer:email:a@example.com")
    assert body["DisplayName"] == "ACME - Retail"
    assert body["GivenName"] == "Ann Marie"
    assert body["FamilyName"] == "Smith Jones"
    assert body["Title"] == "Chief Executive"  # 16 characters, the trailing space trimmed
    assert body["CompanyName"] == "ACME - Retail"
    assert body["Notes"].startswith("kept:\nas is")
    update = payloads.update_payload(
        "Item", {"Name": "Mug:\tBlue"}, "ref:Item", qbo_id="1", sync_token="0"
    )
    assert update["Name"] == "Mug - Blue"
    method = payloads.create_payload("PaymentMethod", {"Name": "Bank: " + "x" * 40}, "ref:pm")
    assert method["Name"] == "Bank - " + "x" * 24  # 31 characters


def test_unique_name_of_an_invalid_or_long_name_is_valid_and_within_limits():
    renamed = payloads.unique_name("Customer", "ACME: Retail\n" + "y" * 600, "doc:c")
    assert len(renamed) <= 500
    assert ":" not in renamed.removesuffix(renamed[-12:])
    assert "\n" not in renamed
    assert renamed.endswith(")")
    assert renamed.startswith("ACME - Retail y")
    item = payloads.unique_name("Item", "a" * 95 + " : b", "k")
    assert len(item) <= 100
    assert "  " not in item
    assert item == payloads.valid_name(item, 100)
