"""Looking for our own documents: lookups run side by side, the outcome stays deterministic."""

from __future__ import annotations

import threading
from typing import Any

from target_quickbooks.contract import MappedDocument, parse_document
from target_quickbooks.recovery import find_own_documents

DOCUMENTS = 65  # three DocNumber lookups of at most 30 values


def receipt(n: int) -> MappedDocument:
    record = {
        "external_id": f"shopify:demo:{n}#sales_receipt",
        "source_id": f"shopify:demo:{n}",
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "SalesReceipt",
        "operation": "upsert",
        "body": {"DocNumber": f"KC{n:03}", "Line": []},
        "expected": {"currency": "USD", "total": "0", "tax": "0"},
        "critical_fields": ["Line"],
        "links": {},
        "mapping_version": "test+golden",
    }
    parsed = parse_document("sales_receipts", record)
    assert isinstance(parsed, MappedDocument)
    return parsed


class ConcurrentQuickBooks:
    """Answers lookups only once three of them are in flight together."""

    max_concurrency = 4

    def __init__(self) -> None:
        self.barrier = threading.Barrier(3, timeout=5)
        self.statements: list[str] = []
        self.lock = threading.Lock()

    def query(self, statement: str) -> list[dict[str, Any]]:
        with self.lock:
            self.statements.append(statement)
        if "DocNumber" in statement:
            self.barrier.wait()
        # Every even-numbered order is already in QuickBooks, carrying our marker.
        return [
            {"Id": str(n), "DocNumber": f"KC{n:03}", "PrivateNote": f"[kc:{d.external_id} vabc]"}
            for n, d in enumerate(receipt(i) for i in range(DOCUMENTS))
            if n % 2 == 0 and f"'KC{n:03}'" in statement
        ]


def test_lookups_run_side_by_side_and_adopt_only_marked_documents() -> None:
    client = ConcurrentQuickBooks()
    documents = [receipt(n) for n in range(DOCUMENTS)]
    found = find_own_documents(client, documents)  # type: ignore[arg-type]
    assert sorted(found) == sorted(d.external_id for n, d in enumerate(documents) if n % 2 == 0)
    assert sum("DocNumber" in s for s in client.statements) == 3
    assert found[documents[4].external_id]["Id"] == "4"
