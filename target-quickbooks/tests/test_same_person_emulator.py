"""One person, one customer: an unknown customer id with a known e-mail adopts that customer."""

from __future__ import annotations

US_REALM = "9130357600000001"  # the emulator's seeded US company


def _customers(emulator) -> list[dict]:
    return list(emulator.realms[US_REALM].documents("Customer"))


def test_same_email_under_another_id_updates_the_existing_customer(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    account = mapped.customer(5, name="Ana López")
    run_target(make_config(), mapped.lines([("customers", account)], {"b": 1}))
    before = len(_customers(emulator))

    # The same buyer, by e-mail, from another store (or under the rules version 5 id).
    other = mapped.customer(6, name="Ana Lopez")
    other["external_id"] = "customer:email:customer5@example.com"
    other["body"]["PrimaryEmailAddr"] = {"Address": "Customer5@Example.com"}
    target, _ = run_target(make_config(), mapped.lines([("customers", other)], {"b": 1}))

    customers = _customers(emulator)
    assert len(customers) == before
    (ana,) = [
        c for c in customers if "customer5@example.com" in str(c.get("PrimaryEmailAddr")).lower()
    ]
    assert ana["DisplayName"] == "Ana López"
    assert "[kc:customer:email:customer5@example.com" in ana["Notes"]
    assert target.delivery.counts.adopted == 1
    assert not [c for c in customers if "(kc-" in c["DisplayName"]]
