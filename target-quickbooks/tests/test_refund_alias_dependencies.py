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
