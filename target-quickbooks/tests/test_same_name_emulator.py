"""Two people, one name: who gets which DisplayName does not depend on arrival order.

docs/mapping.md, "Two people, one name". Each case delivers the same people's customers and
orders in another order (one run, or split across runs) and must leave QuickBooks with the
same DisplayName per person.
"""

from __future__ import annotations

import pytest

from target_quickbooks import payloads

US_REALM = "9130357600000001"  # the emulator's seeded US company
NAME = "Ana López"


def _person(mapped, n: int, name: str = NAME) -> list[tuple[str, dict]]:
    """A person's customer and one order of theirs (customer n, order 100 + n)."""
    return [
        ("customers", mapped.customer(n, name=name)),
        ("sales_receipts", mapped.receipt(100 + n, customer=n)),
    ]


def _suffixed(n: int, name: str = NAME) -> str:
    return payloads.unique_name("Customer", name, f"doc:customer:shopify:demo:{n}")


def _names(emulator) -> dict[str, str]:
    """DisplayName by the person's e-mail, for every customer with an e-mail."""
    names: dict[str, str] = {}
    for customer in emulator.realms[US_REALM].documents("Customer"):
        email = (customer.get("PrimaryEmailAddr") or {}).get("Address")
        if email:
            names[str(email).lower()] = customer["DisplayName"]
    return names


def _deliver(mapped, make_config, run_target, runs: list[list[int]]):
    for people in runs:
        records = [record for n in people for record in _person(mapped, n)]
        target, _ = run_target(make_config(), mapped.lines(records, {"b": 1}))
        assert target.delivery.counts.dead_lettered == 0


@pytest.mark.parametrize(
    "runs",
    [[[1, 2]], [[2, 1]], [[1], [2]], [[2], [1]]],
    ids=["one-run", "one-run-reversed", "two-runs", "two-runs-reversed"],
)
def test_two_people_with_one_name_get_the_same_names_in_any_order(
    mapped, qbo, make_config, run_target, runs
):
    _, emulator = qbo
    _deliver(mapped, make_config, run_target, runs)

    names = _names(emulator)
    assert names["customer1@example.com"] == _suffixed(1)
    assert names["customer2@example.com"] == _suffixed(2)
    assert _suffixed(1) != _suffixed(2)
    receipts = list(emulator.realms[US_REALM].documents("SalesReceipt"))
    customers = {c["Id"]: c for c in emulator.realms[US_REALM].documents("Customer")}
    for n in (1, 2):
        (receipt,) = [r for r in receipts if r.get("DocNumber") == f"KC{100 + n}"]
        owner = customers[receipt["CustomerRef"]["value"]]
        assert owner["PrimaryEmailAddr"]["Address"] == f"customer{n}@example.com"


@pytest.mark.parametrize(
    "runs",
    [[[1, 2], [3]], [[3], [1, 2]], [[1], [3], [2]], [[3, 2, 1]]],
    ids=["pair-then-third", "third-then-pair", "one-by-one", "one-run"],
)
def test_a_third_person_with_the_name_never_takes_the_plain_name(
    mapped, qbo, make_config, run_target, runs
):
    _, emulator = qbo
    _deliver(mapped, make_config, run_target, runs)

    names = _names(emulator)
    assert [names[f"customer{n}@example.com"] for n in (1, 2, 3)] == [
        _suffixed(1),
        _suffixed(2),
        _suffixed(3),
    ]
    assert NAME not in names.values()


def test_one_person_keeps_the_plain_name_and_updates_keep_it(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    _deliver(mapped, make_config, run_target, [[1], [1]])
    assert _names(emulator)["customer1@example.com"] == NAME


def test_the_renamed_customer_updates_later_without_a_conflict(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    _deliver(mapped, make_config, run_target, [[1], [2]])
    changed = mapped.customer(1, name=NAME)
    changed["source_updated_at"] = "2026-11-02T10:00:00Z"
    changed["body"]["PrimaryPhone"] = {"FreeFormNumber": "555-0101"}
    target, _ = run_target(make_config(), mapped.lines([("customers", changed)], {"b": 1}))

    assert target.delivery.counts.updated == 1
    assert target.delivery.counts.dead_lettered == 0
    assert _names(emulator)["customer1@example.com"] == _suffixed(1)
    renames = target.store.audit.entries(US_REALM, "customer:shopify:demo:1")
    assert [r["outcome"] for r in renames if r["operation"] == "rename"] == ["renamed"]


def test_a_name_of_the_bookkeepers_is_never_changed(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    # "Cool Cars" is a seeded customer (no K-Connector marker); two people share the name.
    records = [record for n in (2, 1) for record in _person(mapped, n, name="Cool Cars")]
    run_target(make_config(), mapped.lines(records, {"b": 1}))

    names = {c["DisplayName"] for c in emulator.realms[US_REALM].documents("Customer")}
    assert "Cool Cars" in names
    assert _suffixed(1, "Cool Cars") in names
    assert _suffixed(2, "Cool Cars") in names
