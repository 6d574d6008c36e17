"""Look-ups sized by the run: asked ahead, kept for the run, forgotten when written (lookups)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from target_quickbooks import delivery, target
from target_quickbooks.lookups import RunLookups

QUERY_ROUTE = "POST /v3/company/{realmId}/query"


class CountingQuickBooks:
    """Answers queries from a fixed set of customers; keeps every statement."""

    max_concurrency = 1

    def __init__(self, customers: list[dict[str, Any]]) -> None:
        self.customers = customers
        self.statements: list[str] = []

    def query(self, statement: str) -> list[dict[str, Any]]:
        self.statements.append(statement)
        folded = statement.casefold()  # QuickBooks compares strings without case
        return [
            c
            for c in self.customers
            if any(f"'{value}'".casefold() in folded for value in _values(c))
        ]


def _values(customer: dict[str, Any]) -> list[str]:
    """The customer's values a look-up asks by: DisplayName, and its e-mail when it has one."""
    email = (customer.get("PrimaryEmailAddr") or {}).get("Address")
    return [customer["DisplayName"], *([email] if email else [])]


def test_queued_names_go_in_the_next_query_and_answers_are_kept():
    client = CountingQuickBooks([{"Id": "7", "DisplayName": "Ada"}])
    lookups = RunLookups(client)  # type: ignore[arg-type]
    lookups.expect("Customer", "DisplayName", ["Bob", "ADA", "Cy"])

    first = lookups.select_in("Customer", "DisplayName", ["Dee"])
    later = lookups.select_in("Customer", "DisplayName", ["ada", "Bob", "Dee"])

    assert first == []
    assert [c["Id"] for c in later] == ["7"]  # QuickBooks compares names without case
    assert len(client.statements) == 1  # the queued names rode along with the first query
    assert all(f"'{name}'" in client.statements[0] for name in ("ADA", "Bob", "Cy", "Dee"))


def test_a_write_forgets_the_answers_it_may_change():
    client = CountingQuickBooks([])
    lookups = RunLookups(client)  # type: ignore[arg-type]
    assert lookups.select_in("Customer", "DisplayName", ["Ada"]) == []

    # A create of "Ada" went out (its answer may be lost): the next question asks again.
    lookups.forget("Customer", {"DisplayName": "Ada"})
    client.customers.append({"Id": "9", "DisplayName": "Ada"})
    found = lookups.select_in("Customer", "DisplayName", ["Ada"])

    assert [c["Id"] for c in found] == ["9"]
    assert len(client.statements) == 2


def test_an_answer_that_a_write_overtook_is_not_kept():
    # The engine plans while writes are in flight: a create of "Ada" is acknowledged (and
    # forgets "Ada") while a query asking for "Ada" is out; that query's answer predates the
    # create and must not be kept for the run.
    client = CountingQuickBooks([])
    lookups = RunLookups(client)  # type: ignore[arg-type]
    asked = client.query

    def query_overtaken(statement: str) -> list[dict[str, Any]]:
        answer = asked(statement)
        client.customers.append({"Id": "9", "DisplayName": "Ada"})
        lookups.forget("Customer", {"DisplayName": "Ada"})
        return answer

    client.query = query_overtaken  # type: ignore[method-assign]
    assert lookups.select_in("Customer", "DisplayName", ["Ada"]) == []
    client.query = asked  # type: ignore[method-assign]

    found = lookups.select_in("Customer", "DisplayName", ["Ada"])

    assert [c["Id"] for c in found] == ["9"]
    assert len(client.statements) == 2


def test_an_update_forgets_the_answer_for_a_value_its_document_no_longer_holds():
    old, new = {"Address": "ada@old.example"}, {"Address": "ada@new.example"}
    client = CountingQuickBooks([{"Id": "7", "DisplayName": "Ada", "PrimaryEmailAddr": old}])
    lookups = RunLookups(client)  # type: ignore[arg-type]
    found = lookups.select_in("Customer", "PrimaryEmailAddr", ["ada@old.example"])
    assert [c["Id"] for c in found] == ["7"]

    # The update names only the new e-mail; the answer for the old one held customer 7.
    lookups.forget("Customer", {"Id": "7", "SyncToken": "1", "PrimaryEmailAddr": new})
    client.customers[0] = {"Id": "7", "DisplayName": "Ada", "PrimaryEmailAddr": new}

    assert lookups.select_in("Customer", "PrimaryEmailAddr", ["ada@old.example"]) == []
    assert len(client.statements) == 2


def test_without_remembering_each_call_asks_for_its_own_values_30_at_a_time():
    client = CountingQuickBooks([])
    lookups = RunLookups(client, remember=False)  # type: ignore[arg-type]
    lookups.expect("Customer", "DisplayName", ["Queued"])

    lookups.select_in("Customer", "DisplayName", [f"n{n}" for n in range(31)])
    lookups.select_in("Customer", "DisplayName", ["n1"])

    assert len(client.statements) == 3
    assert not any("Queued" in statement for statement in client.statements)


def _orders(mapped, orders: int, customers: int) -> list[tuple[str, dict[str, Any]]]:
    """As the mapper emits them: each order re-emits its customer, then its receipt."""
    records: list[tuple[str, dict[str, Any]]] = []
    for n in range(orders):
        records.append(("customers", mapped.customer(n % customers)))
        records.append(("sales_receipts", mapped.receipt(n, customer=n % customers)))
    return records


def _reads(emulator) -> int:
    """Metered reads: queries and reads by Id."""
    log = emulator.log.by_route
    return log.get(QUERY_ROUTE, 0) + sum(n for r, n in log.items() if r.startswith("GET "))


# Half the issue's goal of 0.1 reads per order in a backfill (this mix: 20 reads run-sized, 65
# per wave, for 640 orders of 290 customers).
AT_MOST = 0.05


@pytest.mark.parametrize(
    ("tuning", "within"),
    [(delivery.DeliveryTuning(), True), (delivery.BEFORE_ISSUE_18, False)],
    ids=["run-sized", "per-wave"],
)
def test_a_backfill_reads_at_most_one_query_per_twenty_orders(  # noqa: PLR0913, PLR0917 - fixtures
    mapped, make_config, run_target, qbo, monkeypatch, tuning, within
):
    _, emulator = qbo
    monkeypatch.setattr(
        target, "DeliveryEngine", functools.partial(delivery.DeliveryEngine, tuning=tuning)
    )
    orders = 640
    emulator.log.clear()

    run, _ = run_target(make_config(), mapped.lines(_orders(mapped, orders, 290), {"b": 1}))

    counts = run.delivery.counts
    assert counts.created == orders + 290
    assert counts.adopted == 0
    # The engine before run-sized look-ups (one query per wave, field and 30 values) misses.
    assert (_reads(emulator) / orders <= AT_MOST) is within, _reads(emulator)
