"""Concurrent edits: QuickBooks (the bookkeeper) and the store change the same document.

The bookkeeper edits through the emulator's "edit as a bookkeeper" switch (bumps SyncToken and
LastUpdatedTime like a save in the QuickBooks UI); the store's edit arrives as a newer record.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from target_quickbooks.store import open_store
from target_quickbooks.store.audit import AuditFilter

RECEIPT = "shopify:demo:1#sales_receipt"
BEFORE_ANY_EDIT = "2026-11-02T00:00:00Z"  # after the first sync, before the bookkeeper's edit
AFTER_EVERY_EDIT = "2099-01-01T00:00:00Z"  # later than any edit made in QuickBooks here
WRITE_ROUTES = ("POST /v3/company/{realmId}/batch", "POST /v3/company/{realmId}/salesreceipt")


def accepted_writes(emulator) -> list[dict]:
    """Writes QuickBooks accepted (single writes: a refused one answers 400)."""
    return [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES and r["status"] == 200]


def note_of(document) -> str:
    """The note without K-Connector's marker."""
    return str(document.get("PrivateNote", "")).split("\n[kc:")[0]


def receipt(mapped, *, qty=1, updated_at="2026-11-01T10:00:00Z", **fields):
    record = mapped.receipt(1, qty=qty, updated_at=updated_at)
    record["body"].update(
        {
            "BillEmail": {"Address": "first@example.com"},
            "CustomerMemo": {"value": "Thank you"},
            "ShipAddr": {"Line1": "1 First St", "City": "Bayshore"},
        }
    )
    record["body"].update(fields)
    return record


def the_receipt(emulator, realm):
    (document,) = [
        d
        for d in emulator.realms[realm].documents("SalesReceipt")
        if "[kc:" in str(d.get("PrivateNote")) or d.get("DocNumber") == "KC1"
    ]
    return document


def sync(run_target, config, mapped, record, bookmark):
    return run_target(config, mapped.lines([("sales_receipts", record)], {"b": bookmark}))


def bookkeeper_changes_lines(emulator, realm, qty):
    document = the_receipt(emulator, realm)
    lines = [copy.deepcopy(line) for line in document["Line"] if "SalesItemLineDetail" in line]
    lines[0]["SalesItemLineDetail"]["Qty"] = Decimal(qty)
    lines[0]["Amount"] = Decimal("19.99") * qty
    emulator.realms[realm].bookkeeper_edit("SalesReceipt", document["Id"], {"Line": lines})


@pytest.mark.parametrize(
    ("store_updated_at", "winner"),
    [(AFTER_EVERY_EDIT, "store"), (BEFORE_ANY_EDIT, "quickbooks")],
)
def test_non_critical_edits_on_both_sides_merge_last_write_wins_field_by_field(  # noqa: PLR0913, PLR0917 - fixtures and cases
    mapped, qbo, make_config, run_target, store_updated_at, winner
):
    _, emulator = qbo
    config = make_config()
    sync(run_target, config, mapped, receipt(mapped), 1)
    document = the_receipt(emulator, mapped.realm)
    emulator.realms[mapped.realm].bookkeeper_edit(
        "SalesReceipt",
        document["Id"],
        {
            "PrivateNote": "bookkeeper note",
            "CustomerMemo": {"value": "bookkeeper memo"},
            "BillEmail": {"Address": "bookkeeper@example.com"},
        },
    )

    changed = receipt(
        mapped,
        updated_at=store_updated_at,
        PrivateNote="store note",
        CustomerMemo={"value": "store memo"},
        ShipAddr={"Line1": "2 Store Ave", "City": "Bayshore"},
    )
    target, states = sync(run_target, config, mapped, changed, 2)

    document = the_receipt(emulator, mapped.realm)
    # both changed: the later write wins, field by field
    assert note_of(document) == f"{winner} note".replace("quickbooks", "bookkeeper")
    assert document["CustomerMemo"] == {
        "value": f"{winner} memo".replace("quickbooks", "bookkeeper")
    }
    # one side changed: that side, whatever the clocks say
    assert document["BillEmail"] == {"Address": "bookkeeper@example.com"}
    assert document["ShipAddr"] == {"Line1": "2 Store Ave", "City": "Bayshore"}
    # critical fields untouched by either side keep the store's amounts
    assert str(document["TotalAmt"]) == changed["expected"]["total"]
    assert target.delivery.counts.merged == 1
    assert target.delivery.counts.conflicts == 0
    store = open_store(config["database_url"])
    assert store.reviews.open_count(mapped.realm) == 0
    assert store.dead_letters.open_letters(mapped.realm) == []
    (merge_row,) = store.audit.query(mapped.realm, AuditFilter(operation="merge"))
    assert merge_row["outcome"] == "merged"
    assert "PrivateNote: lww-" in merge_row["message"]
    assert states == [{"b": 2}]


def test_critical_edits_on_both_sides_are_queued_and_quickbooks_is_untouched(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config(use_batch_api=False)
    sync(run_target, config, mapped, receipt(mapped, qty=1), 1)
    bookkeeper_changes_lines(emulator, mapped.realm, qty=5)
    edited = copy.deepcopy(the_receipt(emulator, mapped.realm))
    emulator.log.clear()

    changed = receipt(mapped, qty=2, updated_at=AFTER_EVERY_EDIT)
    target, states = sync(run_target, config, mapped, changed, 2)

    assert accepted_writes(emulator) == []
    assert the_receipt(emulator, mapped.realm) == edited
    assert target.delivery.counts.conflicts == 1
    store = open_store(config["database_url"])
    (item,) = store.reviews.items(mapped.realm)
    assert item.external_id == RECEIPT
    assert item.conflict_fields == ("Line",)
    assert "Line[1]" in item.diff
    assert "x 5 @ 19.99" in item.diff
    assert "x 2 @ 19.99" in item.diff
    assert states == [{"b": 2}]

    # the same conflict again: not even a write attempt, and no second item
    emulator.log.clear()
    again, _ = sync(run_target, config, mapped, changed, 3)
    assert not [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES]
    (item_again,) = store.reviews.items(mapped.realm)
    assert (item_again.id, item_again.sightings) == (item.id, 2)
    assert again.delivery.counts.conflicts == 1


def _final_state(mapped, emulator, config, run_target, order):
    """Two documents: one with non-critical edits on both sides, one with critical ones."""
    first = [receipt(mapped, qty=1), mapped.receipt(2, qty=1)]
    run_target(config, mapped.lines([("sales_receipts", r) for r in first], {"b": 1}))
    documents = {d["DocNumber"]: d for d in emulator.realms[mapped.realm].documents("SalesReceipt")}
    emulator.realms[mapped.realm].bookkeeper_edit(
        "SalesReceipt", documents["KC1"]["Id"], {"PrivateNote": "bookkeeper note"}
    )
    lines = [
        copy.deepcopy(line) for line in documents["KC2"]["Line"] if "SalesItemLineDetail" in line
    ]
    lines[0]["SalesItemLineDetail"]["Qty"] = Decimal(4)
    lines[0]["Amount"] = Decimal("79.96")
    emulator.realms[mapped.realm].bookkeeper_edit(
        "SalesReceipt", documents["KC2"]["Id"], {"Line": lines}
    )
    changed = [
        receipt(mapped, updated_at=AFTER_EVERY_EDIT, PrivateNote="store note"),
        mapped.receipt(2, qty=3, updated_at=AFTER_EVERY_EDIT),
    ]
    records = [("sales_receipts", changed[index]) for index in order]
    run_target(config, mapped.lines(records, {"b": 2}))
    store = open_store(config["database_url"])
    final = {
        d["DocNumber"]: {k: v for k, v in d.items() if k not in {"Id", "MetaData", "SyncToken"}}
        for d in emulator.realms[mapped.realm].documents("SalesReceipt")
    }
    fingerprints = {item.fingerprint for item in store.reviews.items(mapped.realm)}
    return final, fingerprints


def test_the_same_scenario_in_another_order_gives_the_same_result(
    mapped, qbo, make_config, run_target, tmp_path
):
    _, emulator = qbo
    forward = _final_state(
        mapped,
        emulator,
        make_config(database_url=f"sqlite:///{tmp_path / 'a.db'}"),
        run_target,
        (0, 1),
    )
    emulator.reset()
    backward = _final_state(
        mapped,
        emulator,
        make_config(database_url=f"sqlite:///{tmp_path / 'b.db'}"),
        run_target,
        (1, 0),
    )

    assert forward == backward
    final, fingerprints = forward
    assert note_of(final["KC1"]) == "store note"
    assert final["KC2"]["Line"][0]["SalesItemLineDetail"]["Qty"] == Decimal(4)
    assert len(fingerprints) == 1


def test_a_document_that_keeps_changing_is_re_merged_a_bounded_number_of_times(
    mapped, qbo, make_config, run_target, monkeypatch
):
    from target_quickbooks.client import QuickBooksClient  # noqa: PLC0415 - patched here only

    _, emulator = qbo
    config = make_config(use_batch_api=False)
    sync(run_target, config, mapped, receipt(mapped), 1)
    document = the_receipt(emulator, mapped.realm)
    company = emulator.realms[mapped.realm]
    company.bookkeeper_edit("SalesReceipt", document["Id"], {"PrivateNote": "edited"})
    original_read = QuickBooksClient.read

    def read_then_someone_saves(self, entity, entity_id):
        found = original_read(self, entity, entity_id)
        company.bookkeeper_edit(entity, entity_id, {})  # a save right after our read
        return found

    monkeypatch.setattr(QuickBooksClient, "read", read_then_someone_saves)
    changed = receipt(mapped, updated_at=AFTER_EVERY_EDIT, ShipAddr={"Line1": "2 Store Ave"})
    emulator.log.clear()
    target, states = sync(run_target, config, mapped, changed, 2)

    attempts = [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES]
    assert [r["status"] for r in attempts] == [400, 400, 400, 400]  # first write + 3 re-merges
    assert the_receipt(emulator, mapped.realm)["ShipAddr"] == {
        "Line1": "1 First St",
        "City": "Bayshore",
    }
    store = open_store(config["database_url"])
    (letter,) = store.dead_letters.open_letters(mapped.realm)
    assert (letter["error_class"], letter["error_code"]) == ("transient", "TQB-RETRIES-EXHAUSTED")
    assert target.delivery.counts.merged == 3
    assert states == [{"b": 2}]
