"""Two people, one name: a name once given is never changed (against the QuickBooks emulator).

docs/mapping.md, "Two people, one name". The first K-Connector person with a name gets the plain
name; anyone later with it gets their own ``"<name> (kc-xxxxxx)"``, and nobody is renamed, so a
customer is written once however many namesakes follow.
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


def _customer(emulator, n: int) -> dict:
    """The QuickBooks customer of person n (found by its e-mail)."""
    (customer,) = [
        c
        for c in emulator.realms[US_REALM].documents("Customer")
        if (c.get("PrimaryEmailAddr") or {}).get("Address") == f"customer{n}@example.com"
    ]
    return customer


def _names(emulator, people) -> list[str]:
    return [_customer(emulator, n)["DisplayName"] for n in people]


@pytest.fixture
def deliver(mapped, make_config, run_target):
    """Runs of the target, one per list of people (their customers, then their orders)."""

    def run(runs: list[list[int]], name: str = NAME, **config):
        target = None
        for people in runs:
            records = [record for n in people for record in _person(mapped, n, name)]
            target, _ = run_target(make_config(**config), mapped.lines(records, {"b": 1}))
            assert target.delivery.counts.dead_lettered == 0
        return target

    return run


def _customer_writes(target, n: int) -> list[dict]:
    """The audit's acknowledged writes of person n's customer (creates, updates, renames)."""
    rows = target.store.audit.entries(US_REALM, f"customer:shopify:demo:{n}")
    return [row for row in rows if row["request_id"] and row["outcome"] != "failed"]


def _as_created(customer: dict) -> bool:
    """Whether QuickBooks holds the customer as it was created (never written since)."""
    meta = customer["MetaData"]
    return customer["SyncToken"] == "0" and meta["LastUpdatedTime"] == meta["CreateTime"]


def _marked(n: int, name: str) -> dict:
    """A K-Connector customer as QuickBooks holds it (our marker in its Notes)."""
    return {
        "DisplayName": name,
        "PrimaryEmailAddr": {"Address": f"customer{n}@example.com"},
        "Notes": payloads.marker(f"customer:shopify:demo:{n}"),
    }


@pytest.mark.parametrize(("first", "second"), [(1, 2), (2, 1)])
def test_in_one_run_the_first_to_arrive_gets_the_plain_name(qbo, deliver, first, second):
    _, emulator = qbo
    target = deliver([[first, second]])

    assert _names(emulator, [first, second]) == [NAME, _suffixed(second)]
    # Each order belongs to its own person, and each customer was written once.
    receipts = list(emulator.realms[US_REALM].documents("SalesReceipt"))
    for n in (first, second):
        (receipt,) = [r for r in receipts if r.get("DocNumber") == f"KC{100 + n}"]
        assert receipt["CustomerRef"]["value"] == _customer(emulator, n)["Id"]
        assert _as_created(_customer(emulator, n))
        assert len(_customer_writes(target, n)) == 1


def test_the_first_keeps_its_plain_name_when_a_namesake_arrives_in_a_later_run(qbo, deliver):
    _, emulator = qbo
    first_run = deliver([[1]])
    before = _customer(emulator, 1)
    audited = len(first_run.store.audit.entries(US_REALM, "customer:shopify:demo:1"))
    assert before["DisplayName"] == NAME

    target = deliver([[2]])

    assert _names(emulator, [1, 2]) == [NAME, _suffixed(2)]
    # The first customer is not written again: not a byte changed in QuickBooks, no audit row.
    assert _customer(emulator, 1) == before
    assert _as_created(_customer(emulator, 1))
    assert len(target.store.audit.entries(US_REALM, "customer:shopify:demo:1")) == audited
    assert target.delivery.counts.created == 2  # customer 2 and its receipt
    assert target.delivery.counts.updated == 0


@pytest.mark.parametrize(
    ("runs", "plain"),
    [([[1, 2], [3]], 1), ([[3], [1, 2]], 3), ([[2], [3], [1]], 2), ([[3, 2, 1]], 3)],
    ids=["pair-then-third", "third-then-pair", "one-by-one", "one-run"],
)
def test_of_three_namesakes_only_the_first_has_the_plain_name(qbo, deliver, runs, plain):
    _, emulator = qbo
    target = deliver(runs)

    expected = [NAME if n == plain else _suffixed(n) for n in (1, 2, 3)]
    assert _names(emulator, [1, 2, 3]) == expected
    assert len(set(expected)) == 3
    for n in (1, 2, 3):
        assert _as_created(_customer(emulator, n))
        assert len(_customer_writes(target, n)) == 1


def test_namesakes_of_a_bookkeepers_customer_are_suffixed_without_a_refusal(qbo, deliver):
    _, emulator = qbo
    # "Cool Cars" is a seeded customer (no K-Connector marker); two people share the name.
    (cool_cars,) = [
        c
        for c in emulator.realms[US_REALM].documents("Customer")
        if c["DisplayName"] == "Cool Cars"
    ]
    emulator.log.clear()
    # Single writes (no batch requests), so that a refusal shows as an HTTP 400.
    deliver([[2, 1]], name="Cool Cars", use_batch_api=False)

    assert _names(emulator, [2, 1]) == [_suffixed(2, "Cool Cars"), _suffixed(1, "Cool Cars")]
    assert emulator.realms[US_REALM].read("Customer", cool_cars["Id"]) == cool_cars
    # The look-up saw the name taken: no create was sent under it to be refused (6240).
    assert emulator.log.by_status.get(400, 0) == 0


def test_a_name_a_vendor_holds_is_refused_and_the_newcomer_takes_its_suffix(qbo, deliver):
    _, emulator = qbo
    company = emulator.realms[US_REALM]
    # The emulator serves no Vendor entity; QuickBooks keeps DisplayNames unique across
    # customers, vendors and employees, which the emulator's shared "party" names model.
    company._names[("party", NAME.casefold())] = ("Vendor", "901")
    emulator.log.clear()
    # Single writes (no batch requests), so that a refusal shows as an HTTP 400.
    target = deliver([[1, 2]], use_batch_api=False)

    assert _names(emulator, [1, 2]) == [_suffixed(1), _suffixed(2)]
    assert emulator.log.by_status[400] == 1  # QuickBooks refused person 1's plain name (6240)
    for n in (1, 2):
        assert len(_customer_writes(target, n)) == 1


def test_in_a_company_named_under_the_previous_rule_a_newcomer_is_suffixed(qbo, deliver):
    _, emulator = qbo
    company = emulator.realms[US_REALM]
    # Under the previous rule every namesake had its suffix, and nobody the plain name.
    before = [company.create("Customer", _marked(n, _suffixed(n))) for n in (1, 2)]

    deliver([[3]])

    assert _names(emulator, [1, 2, 3]) == [_suffixed(1), _suffixed(2), _suffixed(3)]
    assert [company.read("Customer", c["Id"]) for c in before] == before


@pytest.mark.parametrize("held", [NAME, "suffixed"])
def test_a_person_recovered_after_a_lost_ledger_keeps_its_own_name(qbo, deliver, tmp_path, held):
    _, emulator = qbo
    company = emulator.realms[US_REALM]
    shown = NAME if held == NAME else _suffixed(1)
    # A crash lost the ledger: QuickBooks holds person 1 with our marker, the new database
    # knows nobody. Person 1 is itself, not a namesake of itself, even arriving after 2.
    own = company.create("Customer", _marked(1, shown))

    fresh = f"sqlite:///{tmp_path / 'after-crash.db'}"
    target = deliver([[2, 1]], database_url=fresh)

    assert _customer(emulator, 1)["Id"] == own["Id"]
    assert _names(emulator, [1, 2]) == [shown, _suffixed(2)]
    assert target.delivery.counts.adopted == 1


def test_a_customer_an_order_creates_follows_the_same_rule(
    qbo, deliver, mapped, make_config, run_target
):
    _, emulator = qbo
    deliver([[1]])
    before = _customer(emulator, 1)
    # Person 2 has no customers record: the order's reference creates the customer.
    receipt = mapped.receipt(102, customer=2)
    receipt["body"]["CustomerRef"] |= {
        "on_missing": "create",
        "create": mapped.customer(2, name=NAME)["body"],
    }
    receipt["links"] = {}
    target, _ = run_target(make_config(), mapped.lines([("sales_receipts", receipt)], {"b": 2}))

    assert target.delivery.counts.dead_lettered == 0
    assert _names(emulator, [1, 2]) == [NAME, _suffixed(2)]
    assert _customer(emulator, 1) == before
