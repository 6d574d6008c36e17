"""The mapper's documented reference shapes, end to end against the emulator.

Shapes from docs/mapping.md: a customer referenced by external_id with `create` and an
e-mail/name fallback chain, items created on demand (their own IncomeAccountRef symbolic), a
payment applied to an invoice through `LinkedTxn.TxnId`, a refund whose customer is the order's
alias `<order id>#customer`, and `MAP-UNKNOWN-SKU` guidance on an item under policy `error`.
"""

from __future__ import annotations

import json
from decimal import Decimal

from target_quickbooks.store import open_store

ORDER = "shopify:demo:5001"
CUSTOMER = "customer:shopify:demo:900"


def base(external_id: str, entity: str, body: dict, total: str, links: dict) -> dict:
    return {
        "external_id": external_id,
        "source_id": ORDER,
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": entity,
        "operation": "upsert",
        "body": body,
        "expected": {"currency": "USD", "total": total, "tax": "0"},
        "critical_fields": ["Line", "TotalAmt", "CustomerRef"],
        "links": links,
        "mapping_version": "test+golden",
    }


def customer_ref() -> dict:
    return {
        "by": "external_id",
        "value": CUSTOMER,
        "entity": "Customer",
        "on_missing": "create",
        "create": {
            "DisplayName": "Amy's Bird Sanctuary",  # taken in the seeded company
            "PrimaryEmailAddr": {"Address": "ana@example.com"},
            "Notes": CUSTOMER,
        },
        "fallback": {
            "by": "email",
            "value": "ana@example.com",
            "fallback": {"by": "name", "value": "Ana Lopez"},
        },
    }


def item_line(amount: str, ref: dict) -> dict:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": ref, "TaxCodeRef": {"by": "id", "value": "NON"}},
    }


def tee_ref() -> dict:
    return {
        "by": "sku",
        "value": "TEE-BLK-M",
        "entity": "Item",
        "fallback": {"by": "name", "value": "Logo Tee", "entity": "Item"},
        "on_missing": "create",
        "create": {
            "Name": "Logo Tee",
            "Sku": "TEE-BLK-M",
            "Type": "NonInventory",
            "IncomeAccountRef": {"by": "name", "value": "Sales of Product Income"},
        },
    }


def records() -> list[tuple[str, dict]]:
    invoice = base(
        f"{ORDER}#invoice",
        "Invoice",
        {
            "DocNumber": "5001",
            "TxnDate": "2026-11-01",
            "CustomerRef": customer_ref(),
            "Line": [item_line("25.00", tee_ref())],
        },
        "25.00",
        {"customer": CUSTOMER},
    )
    payment = base(
        f"{ORDER}#payment:77",
        "Payment",
        {
            "TxnDate": "2026-11-01",
            "TotalAmt": "25.00",
            "CustomerRef": {
                "by": "external_id",
                "value": f"{ORDER}#customer",
                "entity": "Customer",
            },
            "Line": [
                {
                    "Amount": "25.00",
                    "LinkedTxn": [
                        {
                            "TxnId": {
                                "by": "external_id",
                                "value": f"{ORDER}#invoice",
                                "entity": "Invoice",
                            },
                            "TxnType": "Invoice",
                        }
                    ],
                }
            ],
        },
        "25.00",
        {"applies_to": f"{ORDER}#invoice", "order": f"{ORDER}#invoice"},
    )
    refund = base(
        f"{ORDER}#refund:9",
        "RefundReceipt",
        {
            "DocNumber": "5001-R1",
            "TxnDate": "2026-11-02",
            "CustomerRef": {
                "by": "external_id",
                "value": f"{ORDER}#customer",
                "on_missing": "error",
            },
            "DepositToAccountRef": {"by": "name", "value": "Checking"},
            "Line": [item_line("5.00", {"by": "name", "value": "Widget"})],
        },
        "5.00",
        {"order": f"{ORDER}#invoice"},
    )
    unknown = base(
        "shopify:demo:5002#invoice",
        "Invoice",
        {
            "DocNumber": "5002",
            "CustomerRef": {"by": "id", "value": "1"},
            "Line": [
                item_line(
                    "9.00",
                    {
                        "by": "sku",
                        "value": "NO-SUCH",
                        "on_missing": "error",
                        "guidance": "MAP-UNKNOWN-SKU: create an item with SKU NO-SUCH",
                    },
                )
            ],
        },
        "9.00",
        {},
    )
    # Dependents first: the target must reorder by links and external_id references.
    return [
        ("payments", payment),
        ("refund_receipts", refund),
        ("invoices", invoice),
        ("invoices", unknown),
    ]


def test_mapper_reference_shapes_resolve_in_dependency_order(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    company = emulator.realms[mapped.realm]
    config = make_config()
    target, states = run_target(config, mapped.lines(records(), {"b": 1}))

    (invoice,) = [d for d in company.documents("Invoice") if d.get("DocNumber") == "5001"]
    (payment,) = [d for d in company.documents("Payment") if "[kc:" in str(d.get("PrivateNote"))]
    (refund,) = company.documents("RefundReceipt")
    customer = company.read("Customer", invoice["CustomerRef"]["value"])
    assert customer["DisplayName"].startswith("Amy's Bird Sanctuary (kc-")
    assert payment["CustomerRef"]["value"] == customer["Id"]
    assert refund["CustomerRef"]["value"] == customer["Id"]
    assert payment["Line"][0]["LinkedTxn"][0]["TxnId"] == invoice["Id"]
    assert invoice["Balance"] == Decimal(0)
    item = company.read("Item", invoice["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"])
    assert (item["Name"], item["Sku"]) == ("Logo Tee", "TEE-BLK-M")
    (letter,) = open_store(config["database_url"]).dead_letters.open_letters(mapped.realm)
    assert (letter["external_id"], letter["error_code"]) == (
        "shopify:demo:5002#invoice",
        "MAP-UNKNOWN-SKU",
    )
    assert target.delivery.counts.created == 3
    assert states == [{"b": 1}]

    emulator.log.clear()
    again, _ = run_target(config, mapped.lines(records(), {"b": 1}))
    assert again.delivery.counts.unchanged == 3
    posts = [
        route
        for route, count in emulator.log.by_route.items()
        if route.startswith("POST") and not route.endswith("/query") and count
    ]
    assert posts == []


def test_a_refund_waits_for_the_orders_per_shipment_invoice_in_the_same_run(
    mapped, qbo, make_config, run_target
):
    # invoice_on: fulfillment names the invoice `<order>#invoice:<fulfillment id>`; the refund's
    # customer alias is recorded only once that invoice is written.
    shipped = f"{ORDER}#invoice:FUL1"
    by_stream = dict(records()[:3])
    invoice = json.loads(json.dumps(by_stream["invoices"]).replace(f"{ORDER}#invoice", shipped))
    payment = json.loads(json.dumps(by_stream["payments"]).replace(f"{ORDER}#invoice", shipped))
    refund = by_stream["refund_receipts"]
    _, emulator = qbo
    company = emulator.realms[mapped.realm]
    config = make_config()
    target, _ = run_target(
        config,
        mapped.lines(
            [("refund_receipts", refund), ("payments", payment), ("invoices", invoice)], {"b": 1}
        ),
    )
    assert open_store(config["database_url"]).dead_letters.open_letters(mapped.realm) == []
    (written,) = company.documents("RefundReceipt")
    (invoice_doc,) = [d for d in company.documents("Invoice") if d.get("DocNumber") == "5001"]
    assert written["CustomerRef"]["value"] == invoice_doc["CustomerRef"]["value"]
    assert target.delivery.counts.created == 3
