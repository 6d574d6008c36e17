"""Delivery against the QuickBooks emulator: exactly once, updates, recovery, data errors."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa

from target_quickbooks.store import open_store

if TYPE_CHECKING:
    from pathlib import Path
from target_quickbooks.store.schema import audit_log, dead_letters

US_REALM = "9130357600000001"
WRITE_ROUTES = ("POST /v3/company/{realmId}/batch", "POST /v3/company/{realmId}/salesreceipt")


def writes(emulator) -> int:
    return sum(emulator.log.by_route.get(route, 0) for route in WRITE_ROUTES) + sum(
        count
        for route, count in emulator.log.by_route.items()
        if route.startswith("POST /v3/company/{realmId}/customer")
    )


def ours(emulator, entity: str = "SalesReceipt") -> list[dict]:
    return [
        d
        for d in emulator.realms[US_REALM].documents(entity)
        if "[kc:" in str(d.get("PrivateNote") or d.get("Notes") or "")
    ]


def test_mapped_documents_land_once_with_expected_totals(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    customers = [("customers", mapped.customer(c)) for c in range(20)]
    receipts = [
        ("sales_receipts", mapped.receipt(n, qty=1 + n % 3, customer=n % 20)) for n in range(1000)
    ]
    records = customers + receipts
    target, states = run_target(make_config(), mapped.lines(records, {"bookmark": 1000}))

    landed = ours(emulator)
    assert len(landed) == 1000
    assert len({d["DocNumber"] for d in landed}) == 1000
    expected = {r["body"]["DocNumber"]: r["expected"] for _, r in receipts}
    for document in landed:
        want = expected[document["DocNumber"]]
        assert document["TotalAmt"] == Decimal(want["total"])
        assert document["TxnTaxDetail"]["TotalTax"] == Decimal(want["tax"])
    assert len(ours(emulator, "Customer")) == 20
    assert states == [{"bookmark": 1000}]
    assert target.delivery.counts.created == 1020
    assert emulator.minor_versions == {"75": sum(emulator.minor_versions.values())}


def test_rerun_of_the_same_input_makes_no_writes(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    records = [("customers", mapped.customer(1))] + [
        ("sales_receipts", mapped.receipt(n, customer=1)) for n in range(40)
    ]
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    emulator.log.clear()

    target, states = run_target(config, mapped.lines(records, {"bookmark": 1}))

    assert writes(emulator) == 0
    assert target.delivery.counts.unchanged == 41
    assert len(ours(emulator)) == 40
    assert states == [{"bookmark": 1}]


def test_updated_orders_become_updates_with_current_sync_tokens(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    first = [("sales_receipts", mapped.receipt(n, qty=1)) for n in range(30)]
    run_target(config, mapped.lines(first, {"bookmark": 1}))
    before = {d["DocNumber"]: d["SyncToken"] for d in ours(emulator)}

    changed = [
        ("sales_receipts", mapped.receipt(n, qty=3, updated_at="2026-11-02T10:00:00Z"))
        for n in range(10)
    ]
    target, _ = run_target(config, mapped.lines(changed, {"bookmark": 2}))

    after = {d["DocNumber"]: d for d in ours(emulator)}
    assert len(after) == 30
    assert target.delivery.counts.updated == 10
    for n in range(10):
        document = after[f"KC{n}"]
        assert int(document["SyncToken"]) == int(before[f"KC{n}"]) + 1
        assert document["TotalAmt"] == Decimal("64.92")
    assert all(after[f"KC{n}"]["SyncToken"] == before[f"KC{n}"] for n in range(10, 30))


def test_unknown_sku_dead_letters_that_order_and_the_others_land(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    records = [("sales_receipts", mapped.receipt(n)) for n in range(5)]
    records.append(("sales_receipts", mapped.receipt(99, sku="NOPE-404")))
    _, states = run_target(config, mapped.lines(records, {"bookmark": 7}))

    assert {d["DocNumber"] for d in ours(emulator)} == {f"KC{n}" for n in range(5)}
    store = open_store(config["database_url"])
    letters = store.dead_letters.open_letters(mapped.realm)
    assert len(letters) == 1
    letter = letters[0]
    assert letter["external_id"] == "shopify:demo:99#sales_receipt"
    assert letter["error_class"] == "data"
    assert letter["error_code"] == "TQB-UNRESOLVED-REF"
    assert "NOPE-404" in letter["guidance"]
    assert letter["field"] == "body.Line[0].SalesItemLineDetail.ItemRef"
    assert states == [{"bookmark": 7}]


def test_invalid_tax_code_is_a_data_error_with_quickbooks_guidance(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    bad = mapped.receipt(7)
    bad["body"]["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"by": "id", "value": "9999"}
    records = [("sales_receipts", mapped.receipt(1)), ("sales_receipts", bad)]
    run_target(config, mapped.lines(records, {"bookmark": 1}))

    assert {d["DocNumber"] for d in ours(emulator)} == {"KC1"}
    store = open_store(config["database_url"])
    (letter,) = store.dead_letters.open_letters(mapped.realm)
    assert letter["external_id"] == "shopify:demo:7#sales_receipt"
    assert letter["error_class"] == "data"
    assert letter["error_code"] == "2500"
    assert letter["guidance"]


def test_lost_ledger_finds_existing_documents_instead_of_duplicating(
    mapped, qbo, make_config, run_target, tmp_path: Path
):
    _, emulator = qbo
    records = [("customers", mapped.customer(3))] + [
        ("sales_receipts", mapped.receipt(n, customer=3)) for n in range(12)
    ]
    run_target(make_config(), mapped.lines(records, {"bookmark": 1}))
    emulator.log.clear()

    fresh = make_config(database_url=f"sqlite:///{tmp_path / 'other.db'}")
    target, _ = run_target(fresh, mapped.lines(records, {"bookmark": 1}))

    assert len(ours(emulator)) == 12
    assert len(ours(emulator, "Customer")) == 1
    assert target.delivery.counts.adopted == 13
    assert target.delivery.counts.created == 0
    # Their marker carries the content version: nothing needed rewriting.
    assert writes(emulator) == 0


def test_mapper_dead_letters_are_stored_and_counted(mapped, make_config, run_target):
    config = make_config()
    letter = {
        "external_id": "shopify:demo:5#sales_receipt",
        "source_id": "shopify:demo:5",
        "source_stream": "orders",
        "source_updated_at": "2026-11-01T10:00:00Z",
        "error_class": "data",
        "error_code": "MAP-UNKNOWN-SKU",
        "field": "line_items[0].sku",
        "message": "SKU X-1 has no mapping",
        "guidance": "Add a mapping rule for SKU X-1, then retry.",
        "record": {"id": "shopify:demo:5"},
    }
    target, states = run_target(config, mapped.lines([("dead_letters", letter)], {"b": 1}))

    assert target.delivery.counts.mapper_dead_letters == 1
    engine = sa.create_engine(config["database_url"])
    with engine.connect() as connection:
        rows = connection.execute(sa.select(dead_letters)).mappings().all()
    assert [(r["stream"], r["error_code"], r["error_class"]) for r in rows] == [
        ("dead_letters", "MAP-UNKNOWN-SKU", "data")
    ]
    assert states == [{"b": 1}]


def test_every_write_is_audited_with_request_id_and_intuit_tid(mapped, make_config, run_target):
    config = make_config()
    records = [("sales_receipts", mapped.receipt(n)) for n in range(3)]
    run_target(config, mapped.lines(records, {"bookmark": 1}))

    engine = sa.create_engine(config["database_url"])
    with engine.connect() as connection:
        rows = (
            connection.execute(sa.select(audit_log).where(audit_log.c.outcome == "created"))
            .mappings()
            .all()
        )
    assert len(rows) == 3
    assert all(len(r["request_id"]) == 36 for r in rows)
    assert all(r["intuit_tid"] for r in rows)
    assert all(r["after"]["Id"] == r["qbo_id"] for r in rows)


def test_total_mismatch_is_recorded_with_both_figures_never_accepted(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    record = mapped.receipt(3)
    record["expected"]["total"] = "43.27"  # the store says one cent less than QuickBooks computes
    target, _ = run_target(config, mapped.lines([("sales_receipts", record)], {"b": 1}))

    assert len(ours(emulator)) == 1  # written once, not retried into duplicates
    assert target.delivery.counts.unreconciled == 1
    (letter,) = open_store(config["database_url"]).dead_letters.open_letters(mapped.realm)
    assert letter["error_code"] == "TQB-UNRECONCILED"
    assert "43.27" in letter["message"]
    assert "43.28" in letter["message"]
    audit = open_store(config["database_url"]).audit.entries(mapped.realm, record["external_id"])
    assert [row["outcome"] for row in audit] == ["created", "unreconciled"]


def test_void_and_delete_operations_use_the_ledger_ids(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    config = make_config()
    run_target(
        config,
        mapped.lines([("sales_receipts", mapped.receipt(n)) for n in (1, 2)], {"b": 1}),
    )
    voided = mapped.receipt(1, updated_at="2026-11-02T00:00:00Z")
    voided["operation"] = "void"
    deleted = mapped.receipt(2, updated_at="2026-11-02T00:00:00Z")
    deleted["operation"] = "delete"
    absent = mapped.receipt(3)
    absent["operation"] = "void"
    target, _ = run_target(
        config,
        mapped.lines(
            [("sales_receipts", voided), ("sales_receipts", deleted), ("sales_receipts", absent)],
            {"b": 2},
        ),
    )

    remaining = {d["DocNumber"]: d for d in ours(emulator)}
    assert set(remaining) == {"KC1"}
    assert remaining["KC1"]["TotalAmt"] == Decimal(0)
    counts = target.delivery.counts
    assert (counts.voided, counts.deleted, counts.absent) == (1, 1, 1)


def test_single_requests_when_the_batch_endpoint_is_off(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    config = make_config(use_batch_api=False)
    records = [("sales_receipts", mapped.receipt(n)) for n in range(4)]
    run_target(config, mapped.lines(records, {"b": 1}))

    assert emulator.log.by_route.get("POST /v3/company/{realmId}/batch", 0) == 0
    assert emulator.log.by_route["POST /v3/company/{realmId}/salesreceipt"] == 4
    assert len(ours(emulator)) == 4


def test_documents_wait_for_a_dependency_that_arrives_later(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    # batch_size 2 makes the target flush early every 40 records, before the customer arrives.
    config = make_config(batch_size=2)
    records = [("sales_receipts", mapped.receipt(n, customer=8)) for n in range(45)]
    records.append(("customers", mapped.customer(8)))
    target, _ = run_target(config, mapped.lines(records, {"b": 1}))

    assert len(ours(emulator)) == 45
    assert target.delivery.counts.dead_lettered == 0
    (customer,) = ours(emulator, "Customer")
    assert {d["CustomerRef"]["value"] for d in ours(emulator)} == {customer["Id"]}


def test_taken_customer_name_gets_a_deterministic_suffix(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    record = mapped.customer(4, name="Cool Cars")  # a seeded customer already has this name
    run_target(make_config(), mapped.lines([("customers", record)], {"b": 1}))

    (customer,) = ours(emulator, "Customer")
    assert customer["DisplayName"].startswith("Cool Cars (kc-")
    emulator.log.clear()
    run_target(make_config(), mapped.lines([("customers", record)], {"b": 1}))
    assert writes(emulator) == 0


def test_dead_letter_is_resolved_when_a_later_run_delivers_the_record(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    record = mapped.receipt(11, sku="LATE-SKU")
    run_target(config, mapped.lines([("sales_receipts", record)], {"b": 1}))
    assert len(open_store(config["database_url"]).dead_letters.open_letters(mapped.realm)) == 1

    company = emulator.realms[mapped.realm]
    company.create(
        "Item",
        {
            "Name": "Late",
            "Sku": "LATE-SKU",
            "Type": "NonInventory",
            "IncomeAccountRef": {"value": "1"},
        },
    )
    run_target(config, mapped.lines([("sales_receipts", record)], {"b": 2}))

    assert open_store(config["database_url"]).dead_letters.open_letters(mapped.realm) == []
    assert len(ours(emulator)) == 1


def test_update_committed_but_not_recorded_is_recognised_not_conflicted(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    run_target(config, mapped.lines([("sales_receipts", mapped.receipt(4, qty=1))], {"b": 1}))
    store = open_store(config["database_url"])
    before_update = store.ledger.get(mapped.realm, "shopify:demo:4#sales_receipt")
    changed = [("sales_receipts", mapped.receipt(4, qty=3, updated_at="2026-11-02T00:00:00Z"))]
    run_target(config, mapped.lines(changed, {"b": 2}))
    (document,) = ours(emulator)
    # A crash right after QuickBooks committed the update: the ledger never heard of it.
    store.ledger.put_many([before_update])
    emulator.log.clear()

    # Re-run in another batch composition, so the batch requestid cannot replay the answer.
    rerun = [*changed, ("sales_receipts", mapped.receipt(5))]
    target, _ = run_target(config, mapped.lines(rerun, {"b": 2}))

    again = {d["DocNumber"]: d for d in ours(emulator)}
    assert again["KC4"]["SyncToken"] == document["SyncToken"]
    assert len(again) == 2
    counts = target.delivery.counts
    assert (counts.created, counts.updated, counts.conflicts, counts.dead_lettered) == (1, 1, 0, 0)
    # The stale SyncToken was answered by one re-read, and no second update was sent.
    assert emulator.log.by_route["GET /v3/company/{realmId}/salesreceipt/{id}"] == 1
    entry = store.ledger.get(mapped.realm, "shopify:demo:4#sales_receipt")
    assert entry is not None
    assert entry.sync_token == document["SyncToken"]


def test_retry_after_a_fix_in_quickbooks_is_not_answered_by_the_old_refusal(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    record = mapped.receipt(21)
    record["body"]["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"by": "id", "value": "GST"}
    record["expected"] = {"currency": "USD", "total": "39.98", "tax": "0.00"}  # an untaxed code
    lines = mapped.lines([("sales_receipts", record)], {"b": 1})
    run_target(config, lines)
    (letter,) = open_store(config["database_url"]).dead_letters.open_letters(mapped.realm)
    assert letter["error_code"] == "2500"

    # The bookkeeper adds the missing tax code; the same record is sent again.
    emulator.realms[mapped.realm].seed("TaxCode", {"Id": "GST", "Name": "GST"})
    target, _ = run_target(config, lines)

    assert target.delivery.counts.created == 1
    assert open_store(config["database_url"]).dead_letters.open_letters(mapped.realm) == []
    (document,) = ours(emulator)
    assert document["DocNumber"] == "KC21"
    request_ids = [r["requestid"] for r in emulator.log.recent if r["requestid"]]
    assert len(set(request_ids)) == 2  # the retry used a fresh id, not the refused one's


def test_updates_of_a_suffixed_customer_keep_its_unique_name(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    config = make_config()
    record = mapped.customer(4, name="Cool Cars")
    run_target(config, mapped.lines([("customers", record)], {"b": 1}))
    changed = mapped.customer(4, name="Cool Cars")
    changed["source_updated_at"] = "2026-11-02T10:00:00Z"
    changed["body"]["PrimaryEmailAddr"] = {"Address": "new@example.com"}
    target, _ = run_target(config, mapped.lines([("customers", changed)], {"b": 2}))

    (customer,) = ours(emulator, "Customer")
    assert customer["DisplayName"].startswith("Cool Cars (kc-")
    assert customer["PrimaryEmailAddr"]["Address"] == "new@example.com"
    assert (target.delivery.counts.updated, target.delivery.counts.dead_lettered) == (1, 0)
