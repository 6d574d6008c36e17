"""One write per customer per run, unless it really changed (customer_writes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

CUSTOMER_ROUTE = "POST /v3/company/{realmId}/batch"


def _customer_of_order(mapped, n: int, *, city: str, phone: str | None = None) -> dict[str, Any]:
    """Customer 1 as order `n` re-emits it: that order's addresses and time."""
    record = mapped.customer(1)
    address = {"Line1": f"{n} Main St", "City": city, "PostalCode": "60601", "Country": "US"}
    record["body"] = {**record["body"], "BillAddr": address, "ShipAddr": address}
    if phone is not None:
        record["body"]["PrimaryPhone"] = {"FreeFormNumber": phone}
    updated_at = datetime(2026, 11, 1, 10, tzinfo=UTC) + timedelta(minutes=n)
    record["source_updated_at"] = updated_at.isoformat().replace("+00:00", "Z")
    return record


def _orders(mapped, cities: list[str], phone_from: int | None = None) -> list[Any]:
    """Orders of customer 1; from order `phone_from` on, the customer has a phone number."""
    records: list[tuple[str, dict[str, Any]]] = []
    for n, city in enumerate(cities):
        phone = "555-0100" if phone_from is not None and n >= phone_from else None
        records.append(("customers", _customer_of_order(mapped, n, city=city, phone=phone)))
        records.append(("sales_receipts", mapped.receipt(n, customer=1)))
    return records


def _ours(emulator, realm: str) -> list[dict[str, Any]]:
    customers = emulator.realms[realm].documents("Customer")
    return [d for d in customers if "[kc:" in str(d.get("Notes"))]


def test_a_customer_reemitted_with_each_order_is_written_once_per_run(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    # Each order carries its own addresses; early flushes (every 600 documents) would have
    # written the customer again after each flush that saw a new address.
    cities = ["Chicago", "Boston", "Denver"] * 300
    config = make_config()

    target, _ = run_target(config, mapped.lines(_orders(mapped, cities), {"bookmark": 1}))

    counts = target.delivery.counts
    assert counts.created == 1 + len(cities)
    assert counts.updated == 0
    assert counts.customer_resends >= 1
    assert len(_ours(emulator, mapped.realm)) == 1

    emulator.log.clear()
    rerun, _ = run_target(config, mapped.lines(_orders(mapped, cities), {"bookmark": 1}))

    assert rerun.delivery.counts.created + rerun.delivery.counts.updated == 0
    assert emulator.log.by_route.get(CUSTOMER_ROUTE, 0) == 0


def test_a_customer_that_really_changed_in_the_run_is_written_again(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    cities = ["Chicago", "Boston"] * 400
    records = _orders(mapped, cities, phone_from=700)

    target, _ = run_target(make_config(), mapped.lines(records, {"bookmark": 1}))

    assert target.delivery.counts.updated == 1  # the new phone, not the addresses
    (customer,) = _ours(emulator, mapped.realm)
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "555-0100"
