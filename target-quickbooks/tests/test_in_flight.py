"""The pipelined engine: the next batch request is ready while earlier ones are unanswered.

`in_flight` and `DeliveryEngine` (`DeliveryTuning.pipelined`): the engine reads, plans and
records while batch requests wait on the limiter, and never plans a document that a write in
flight may change the planning of (its dependencies, the same person or name).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from typing import Any

import pytest

from target_quickbooks import payloads
from target_quickbooks.client import QuickBooksClient
from target_quickbooks.contract import parse_document
from target_quickbooks.errors import SystemFaultError
from target_quickbooks.in_flight import planning_keys

US_REALM = "9130357600000001"  # the emulator's seeded US company
BATCH = 5  # operations per batch request here: the early flush comes every 100 documents
HOLD_SECONDS = 10.0


class HeldFirstAnswer:
    """Holds the first batch request until a second one is sent (or `HOLD_SECONDS` pass).

    What a batch request waiting on the limiter looks like to the engine: unanswered.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.overlapped: list[bool] = []
        self.sent: list[list[dict[str, Any]]] = []
        self._second = threading.Event()
        self._lock = threading.Lock()
        original = QuickBooksClient.batch

        def batch(
            client: QuickBooksClient, items: list[dict[str, Any]], *, request_id: str
        ) -> tuple[list[dict[str, Any]], str | None]:
            with self._lock:
                self.sent.append(items)
                first = len(self.sent) == 1
            if first:
                self.overlapped.append(self._second.wait(HOLD_SECONDS))
            else:
                self._second.set()
            return original(client, items, request_id=request_id)

        monkeypatch.setattr(QuickBooksClient, "batch", batch)


def _records(mapped, *, namesake: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """5 customers and 95 receipts of theirs (the first early flush), then 100 new customers.

    The first early flush can send only the 5 customers (one batch request): their receipts
    wait for them. The next 100 customers depend on nothing.
    """
    records = [
        ("customers", mapped.customer(n, name=namesake if n == 0 else None)) for n in range(5)
    ]
    records += [("sales_receipts", mapped.receipt(n, customer=n % 5)) for n in range(95)]
    records += [
        ("customers", mapped.customer(n, name=namesake if n == 100 else None))
        for n in range(100, 200)
    ]
    return records


def test_the_next_batch_request_goes_while_an_earlier_one_is_unanswered(
    mapped, make_config, run_target, monkeypatch
):
    held = HeldFirstAnswer(monkeypatch)

    target, states = run_target(
        make_config(batch_size=BATCH), mapped.lines(_records(mapped), {"bookmark": 1})
    )

    # The engine read on and sent the next customers while the first request was unanswered
    # (before the pipeline it waited for that answer before reading another record).
    assert held.overlapped == [True]
    counts = target.delivery.counts
    # Every receipt went after its customer was acknowledged and recorded: none lacked it.
    assert counts.dead_lettered == 0
    assert counts.created == 5 + 95 + 100
    assert states == [{"bookmark": 1}]


def test_a_namesake_waits_for_the_customer_in_flight_and_takes_the_suffix(
    mapped, make_config, run_target, monkeypatch, qbo
):
    # Person 0 and person 100 share a name; person 0 came first and is in the first request,
    # held unanswered while person 100 is read. Person 100 is not planned until person 0 is
    # recorded: it takes the suffix, and nobody's create is refused for a taken name.
    _, emulator = qbo
    held = HeldFirstAnswer(monkeypatch)
    name = "Pat Doe"

    target, _ = run_target(
        make_config(batch_size=BATCH),
        mapped.lines(_records(mapped, namesake=name), {"bookmark": 1}),
    )

    assert held.overlapped == [True]
    names = {
        c["PrimaryEmailAddr"]["Address"]: c["DisplayName"]
        for c in emulator.realms[US_REALM].documents("Customer")
        if c.get("PrimaryEmailAddr")
    }
    assert names["customer0@example.com"] == name
    suffixed = payloads.unique_name("Customer", name, "doc:customer:shopify:demo:100")
    assert names["customer100@example.com"] == suffixed
    assert target.delivery.writer.single_writes == 0  # no create went again under the suffix
    assert target.delivery.counts.dead_lettered == 0


def test_a_new_customer_is_planned_by_its_name_and_email():
    record = {
        "external_id": "customer:shopify:demo:1",
        "source_id": "shopify:demo:1",
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "Customer",
        "operation": "upsert",
        "body": {"DisplayName": " Pat Doe ", "PrimaryEmailAddr": {"Address": "Pat@Example.com"}},
        "expected": {"currency": "USD", "total": "0", "tax": "0"},
        "critical_fields": ["DisplayName"],
        "links": {},
        "mapping_version": "test+golden",
    }
    document = parse_document("customers", record)
    assert not isinstance(document, Exception)

    assert planning_keys(document) == {
        ("Customer", "DisplayName", "pat doe"),
        ("Customer", "PrimaryEmailAddr", "pat@example.com"),
    }


def test_a_system_error_stops_the_run_after_the_requests_in_flight_are_recorded(
    mapped, make_config, run_target, monkeypatch
):
    # The first batch request fails with a system error once a later one has been answered:
    # the run stops, and what QuickBooks acknowledged in flight is in the ledger first.
    answered: list[str] = []
    later = threading.Event()
    lock = threading.Lock()
    original = QuickBooksClient.batch
    calls: list[int] = []

    def batch(
        client: QuickBooksClient, items: list[dict[str, Any]], *, request_id: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        with lock:
            calls.append(len(calls))
            first = len(calls) == 1
        if first:
            later.wait(HOLD_SECONDS)
            msg = "the connection was revoked"
            raise SystemFaultError(msg, code="revoked", guidance="Reconnect the company.")
        entries, tid = original(client, items, request_id=request_id)
        with lock:
            answered.extend(
                str(item["Customer"]["DisplayName"]) for item in items if "Customer" in item
            )
        later.set()
        return entries, tid

    monkeypatch.setattr(QuickBooksClient, "batch", batch)
    config = make_config(batch_size=BATCH)

    with pytest.raises(SystemExit):
        run_target(config, mapped.lines(_records(mapped), {"bookmark": 1}))

    assert answered  # a later request was answered while the first one was out
    database = config["database_url"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(database)) as connection:
        recorded = {
            row[0] for row in connection.execute("SELECT external_id FROM ledger WHERE qbo_id")
        }
    names = {f"Test Customer {n}": f"customer:shopify:demo:{n}" for n in range(200)}
    assert {names[name] for name in answered} <= recorded
