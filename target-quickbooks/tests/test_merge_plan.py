"""Preparing a merge from the ledger and QuickBooks, and the write it leads to (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from target_quickbooks.merge import three_way_merge
from target_quickbooks.merge_plan import (
    diverged,
    merge_base,
    merged_payload,
    source_time,
    without_marker,
)
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

EXTERNAL_ID = "shopify:demo:1#sales_receipt"
MARKER = f"[kc:{EXTERNAL_ID} v0123456789ab]"
LINE = {
    "DetailType": "SalesItemLineDetail",
    "Amount": "20.00",
    "SalesItemLineDetail": {"ItemRef": {"value": "5"}, "Qty": "2", "UnitPrice": "10.00"},
}


def entry(*, pushed_body=None, snapshot=None) -> LedgerEntry:
    return LedgerEntry(
        "r",
        EXTERNAL_ID,
        "SalesReceipt",
        "7",
        "1",
        "h",
        LedgerStatus.ACTIVE,
        snapshot=snapshot,
        pushed_body=pushed_body,
    )


def quickbooks(**fields):
    document = {
        "Id": "7",
        "SyncToken": "3",
        "MetaData": {"LastUpdatedTime": "2026-11-20T09:00:00-08:00"},
        "PrivateNote": f"gift\n{MARKER}",
        "Line": [{**LINE, "Id": "1", "LineNum": 1, "Amount": Decimal("20.00")}],
        "TotalAmt": Decimal("21.65"),
    }
    document.update(fields)
    return document


def test_marker_is_removed_from_the_note_and_a_marker_only_note_disappears():
    assert without_marker("SalesReceipt", quickbooks(), EXTERNAL_ID)["PrivateNote"] == "gift"
    edited = quickbooks(PrivateNote=f"gift\n{MARKER} (checked)")
    assert without_marker("SalesReceipt", edited, EXTERNAL_ID)["PrivateNote"] == "gift (checked)"
    assert "PrivateNote" not in without_marker(
        "SalesReceipt", quickbooks(PrivateNote=MARKER), EXTERNAL_ID
    )
    assert without_marker("Item", {"Name": "x"}, EXTERNAL_ID) == {"Name": "x"}


def test_merge_base_is_the_pushed_body_or_the_snapshot_projected_on_our_fields():
    pushed = {"PrivateNote": "gift", "Line": [LINE]}
    assert merge_base(entry(pushed_body=pushed, snapshot=quickbooks()), pushed) == pushed
    base = merge_base(entry(snapshot=quickbooks()), pushed)
    assert set(base) == {"PrivateNote", "Line"}  # TotalAmt, Id, MetaData are QuickBooks' own
    assert base["PrivateNote"] == "gift"


def test_divergence_means_quickbooks_holds_edits_we_did_not_push():
    pushed = {"PrivateNote": "gift", "Line": [LINE]}
    assert not diverged(entry(pushed_body=pushed, snapshot=quickbooks()))
    edited = quickbooks(PrivateNote=f"gift wrap\n{MARKER}")
    assert diverged(entry(pushed_body=pushed, snapshot=edited))
    assert not diverged(entry(snapshot=edited))  # no base known: nothing to compare


def test_transaction_merge_is_a_full_update_with_quickbooks_kept_fields():
    base = {"PrivateNote": "gift", "Line": [LINE], "TxnDate": "2026-11-01"}
    ours = {**base, "TxnDate": "2026-11-02"}
    theirs = without_marker("SalesReceipt", quickbooks(PrivateNote=f"gift!\n{MARKER}"), EXTERNAL_ID)
    theirs["TxnDate"] = "2026-11-01"
    result = three_way_merge(
        base,
        theirs,
        ours,
        critical_fields=("Line",),
        theirs_updated_at=datetime(2026, 11, 20, tzinfo=UTC),
        ours_updated_at=source_time("2026-11-21T00:00:00Z"),
        entity="SalesReceipt",
    )

    payload = merged_payload(
        "SalesReceipt", result, ours, theirs, EXTERNAL_ID, sync_token="3", version="beef" * 3
    )

    assert payload["TxnDate"] == "2026-11-02"
    assert payload["PrivateNote"] == f"gift!\n[kc:{EXTERNAL_ID} vbeefbeefbeef]"
    assert payload["Line"][0]["Amount"] == Decimal("20.00")
    assert (payload["Id"], payload["SyncToken"], payload["sparse"]) == ("7", "3", False)


def test_transaction_merge_keeps_fields_only_the_bookkeeper_set():
    base = {"PrivateNote": "gift", "Line": [LINE], "TxnDate": "2026-11-01"}
    ours = {**base, "PrivateNote": "gift, wrapped"}
    theirs = without_marker(
        "SalesReceipt",
        quickbooks(
            PrivateNote=f"gift\n{MARKER}",
            TxnDate="2026-11-01",
            CustomerMemo={"value": "Thank you"},
            ClassRef={"value": "3"},
        ),
        EXTERNAL_ID,
    )
    result = three_way_merge(
        base,
        theirs,
        ours,
        critical_fields=("Line",),
        theirs_updated_at=datetime(2026, 11, 20, tzinfo=UTC),
        ours_updated_at=source_time("2026-11-21T00:00:00Z"),
        entity="SalesReceipt",
    )

    payload = merged_payload(
        "SalesReceipt", result, ours, theirs, EXTERNAL_ID, sync_token="3", version="beef" * 3
    )

    assert payload["PrivateNote"].startswith("gift, wrapped")
    assert payload["CustomerMemo"] == {"value": "Thank you"}
    assert payload["ClassRef"] == {"value": "3"}
    assert payload["Line"][0]["Id"] == "1"  # QuickBooks' own lines, untouched by the merge


def test_customer_merge_is_a_sparse_update_of_the_changed_fields_only():
    base = {"DisplayName": "Ann", "PrimaryPhone": {"FreeFormNumber": "1"}, "Title": "Ms"}
    ours = {**base, "PrimaryPhone": {"FreeFormNumber": "2"}}
    theirs = {
        **base,
        "Id": "58",
        "SyncToken": "4",
        "Title": "Dr",
        "Notes": f"[kc:{EXTERNAL_ID} v0123456789ab]",
    }
    clean = without_marker("Customer", theirs, EXTERNAL_ID)
    result = three_way_merge(
        base,
        clean,
        ours,
        critical_fields=("DisplayName",),
        theirs_updated_at=datetime(2026, 11, 20, tzinfo=UTC),
        ours_updated_at=datetime(2026, 11, 21, tzinfo=UTC),
        entity="Customer",
    )

    payload = merged_payload(
        "Customer", result, ours, clean, EXTERNAL_ID, sync_token="4", version="a" * 12
    )

    assert payload == {
        "PrimaryPhone": {"FreeFormNumber": "2"},
        "Notes": f"[kc:{EXTERNAL_ID} v{'a' * 12}]",
        "Id": "58",
        "SyncToken": "4",
        "sparse": True,
    }
