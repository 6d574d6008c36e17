"""The target's own Payment bumps its Invoice's SyncToken: the next update needs no re-read."""

from __future__ import annotations

import json
from typing import Any

from target_quickbooks.recording import applied_invoices

ORDER = "shopify:demo:1"
TOTAL = "43.28"  # conftest.receipt_record(1, qty=2): 2 x 19.99 + 8.25% tax


def _invoice(mapped, qty: int = 2) -> dict[str, Any]:
    invoice = json.loads(json.dumps(mapped.receipt(1, qty=qty, customer=1)))
    invoice["external_id"] = f"{ORDER}#invoice"
    invoice["document_type"] = "Invoice"
    invoice["links"]["order"] = ORDER
    return invoice


def _payment(amount: str) -> dict[str, Any]:
    link = {"by": "external_id", "value": f"{ORDER}#invoice", "entity": "Invoice"}
    return {
        "external_id": f"{ORDER}#payment:t1",
        "source_id": ORDER,
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "Payment",
        "operation": "upsert",
        "body": {
            "CustomerRef": {"by": "external_id", "value": "customer:shopify:demo:1"},
            "TxnDate": "2026-11-01",
            "TotalAmt": amount,
            "PaymentRefNum": "t1",
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": link, "TxnType": "Invoice"}]}],
        },
        "expected": {"currency": "USD", "total": amount, "tax": "0"},
        "critical_fields": ["Line", "TotalAmt", "CustomerRef"],
        "links": {
            "customer": "customer:shopify:demo:1",
            "order": ORDER,
            "applies_to": f"{ORDER}#invoice",
        },
        "mapping_version": "test+golden",
    }


def test_a_payment_create_names_each_invoice_it_applies_to_once_per_line():
    payload = {
        "Line": [
            {"Amount": "1", "LinkedTxn": [{"TxnId": "7", "TxnType": "Invoice"}]},
            {"Amount": "2", "LinkedTxn": [{"TxnId": "7", "TxnType": "Invoice"}]},
            {"Amount": "3", "LinkedTxn": [{"TxnId": "9", "TxnType": "CreditMemo"}]},
        ]
    }

    assert applied_invoices("Payment", payload) == [("Invoice", "7"), ("Invoice", "7")]
    assert applied_invoices("SalesReceipt", payload) == []


def _document_reads(emulator) -> int:
    """Reads of a document by Id (what a stale SyncToken costs); look-ups are queries."""
    return sum(count for route, count in emulator.log.by_route.items() if route.startswith("GET "))


def test_an_invoice_paid_by_our_payment_is_updated_without_a_read(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    first = [
        ("customers", mapped.customer(1)),
        ("invoices", _invoice(mapped)),
        ("payments", _payment(TOTAL)),
    ]
    run_target(config, mapped.lines(first, {"b": 1}))
    emulator.log.clear()

    # The order changed in the store (one more widget): the Invoice is updated.
    edited = _invoice(mapped, qty=3)
    edited["source_updated_at"] = "2026-11-02T10:00:00Z"
    target, _ = run_target(config, mapped.lines([("invoices", edited)], {"b": 2}))

    counts = target.delivery.counts
    assert (counts.updated, counts.merged, counts.conflicts, counts.dead_lettered) == (1, 0, 0, 0)
    # Before: a 5010 on the stale SyncToken, a read of the Invoice, a merge, a second batch.
    assert _document_reads(emulator) == 0
    assert emulator.log.by_route.get("POST /v3/company/{realmId}/batch") == 1
    (invoice,) = [
        d for d in emulator.realms[mapped.realm].documents("Invoice") if d.get("DocNumber") == "KC1"
    ]
    assert str(invoice["TotalAmt"]) == "64.92"  # 3 x 19.99 + 8.25% tax
