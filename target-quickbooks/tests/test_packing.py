"""Batch requests go out full across dependency waves (packing, DeliveryEngine.flush)."""

from __future__ import annotations

import math
from typing import Any

from target_quickbooks.contract import parse_document
from target_quickbooks.packing import held_back

BATCH = 30


def _document(external_id: str, operation: str = "upsert") -> Any:
    record = {
        "external_id": external_id,
        "source_id": external_id.split("#", 1)[0],
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "Customer",
        "operation": operation,
        "body": {"DisplayName": external_id},
        "expected": {"currency": "USD", "total": "0", "tax": "0"},
        "critical_fields": ["DisplayName"],
        "links": {},
        "mapping_version": "test+golden",
    }
    return parse_document("customers", record)


def test_a_wave_holds_its_spare_leaves_so_its_batches_are_full():
    wave = [_document(f"c{n}") for n in range(70)]
    needed = {f"c{n}" for n in range(0, 70, 2)}  # every other one has a dependent queued

    held = held_back(wave, needed, batch_size=BATCH)

    assert len(held) == 10  # 70 = 2 full batches + 10
    assert all(d.external_id not in needed for d in held)
    assert [d.external_id for d in held] == [f"c{n}" for n in range(51, 70, 2)]


def test_a_wave_of_roots_only_holds_its_latest_roots():
    wave = [_document(f"c{n}") for n in range(97)]

    held = held_back(wave, {f"c{n}" for n in range(97)}, batch_size=BATCH)

    assert [d.external_id for d in held] == [f"c{n}" for n in range(90, 97)]


def test_a_wave_of_full_batches_holds_nothing_and_voids_do_not_count():
    wave = [_document(f"c{n}") for n in range(60)] + [_document("v1", "void")]

    assert held_back(wave, set(), batch_size=BATCH) == []


def _orders(mapped, orders: int, customers: int) -> list[tuple[str, dict[str, Any]]]:
    """As the mapper emits them: each order re-emits its customer, then its receipt."""
    records: list[tuple[str, dict[str, Any]]] = []
    for n in range(orders):
        records.append(("customers", mapped.customer(n % customers)))
        records.append(("sales_receipts", mapped.receipt(n, customer=n % customers)))
    return records


def test_a_backfill_with_dependencies_fills_its_batch_requests(mapped, make_config, run_target):
    # 97 customers, then their receipts, in waves cut by the early flush: on the old packing
    # each wave's last batch request went out partly empty (26 requests, 0.945 full).
    records = _orders(mapped, orders=640, customers=97)

    target, states = run_target(make_config(), mapped.lines(records, {"bookmark": 1}))

    counts = target.delivery.counts
    written = counts.created + counts.updated
    assert counts.created == 640 + 97
    batches = target.delivery.writer.batches
    assert batches == math.ceil(written / BATCH)  # 25: every request full but the last
    assert written / (batches * BATCH) >= 0.98
    assert states == [{"bookmark": 1}]
