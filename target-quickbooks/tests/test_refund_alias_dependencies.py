"""A refund queued with its order waits for the order's document (the customer alias)."""

from __future__ import annotations

from target_quickbooks.contract import MappedDocument, parse_document
from target_quickbooks.planning import dependencies, required_dependencies

ORDER = "shopify:demo:5001"


def refund() -> MappedDocument:
    record = {
        "external_id": f"{ORDER}#refund:9001",
        "source_id": "shopify:demo:9001",
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "RefundReceipt",
        "operation": "upsert",
        "body": {
            "CustomerRef": {
                "by": "external_id",
                "value": f"{ORDER}#customer",
                "entity": "Customer",
                "on_missing": "error",
            },
            "Line": [],
        },
        "expected": {"currency": "USD", "total": "0", "tax": "0"},
        "critical_fields": ["Line"],
        "links": {"customer": f"{ORDER}#customer", "order": ORDER},
        "mapping_version": "test+golden",
    }
    parsed = parse_document("refund_receipts", record)
    assert isinstance(parsed, MappedDocument)
    return parsed


def test_refund_depends_on_the_order_documents_that_record_its_customer() -> None:
    assert {f"{ORDER}#sales_receipt", f"{ORDER}#invoice"} <= dependencies(refund())


def test_refund_still_cannot_be_written_without_the_alias() -> None:
    assert required_dependencies(refund()) == {f"{ORDER}#customer"}


def test_refund_waits_for_the_orders_per_shipment_invoices_queued_with_it() -> None:
    # invoice_on: fulfillment writes `<order>#invoice:<fulfillment id>`, which records the alias
    queued = {
        f"{ORDER}#invoice:77",
        f"{ORDER}#payment:5",
        f"{ORDER}#refund:9001",
        "shopify:demo:5002#invoice:78",
    }
    needed = dependencies(refund(), queued)
    assert f"{ORDER}#invoice:77" in needed
    assert f"{ORDER}#payment:5" not in needed  # a payment waits for the invoice, not for this
    assert "shopify:demo:5002#invoice:78" not in needed  # another order's invoice
    assert f"{ORDER}#refund:9001" not in needed
