"""`target-quickbooks-ops` end to end against the QuickBooks emulator."""

from __future__ import annotations

import copy
import csv
import json
import socket
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from target_quickbooks.operations.cli import main
from target_quickbooks.store import open_store

AFTER_EVERY_EDIT = "2099-01-01T00:00:00Z"
WRITE_ROUTES = ("POST /v3/company/{realmId}/batch", "POST /v3/company/{realmId}/salesreceipt")


@pytest.fixture
def ops(tmp_path):
    """(config) -> invoke(*args) -> click Result, with the config written as the target's file."""

    def bind(config):
        path = tmp_path / "target.json"
        path.write_text(json.dumps(config))

        def invoke(*args):
            return CliRunner().invoke(main, ["--config", str(path), *args])

        return invoke

    return bind


def receipts(emulator, realm):
    return {
        d["DocNumber"]: d
        for d in emulator.realms[realm].documents("SalesReceipt")
        if str(d.get("DocNumber", "")).startswith("KC")
    }


def conflicted(mapped, emulator, config, run_target):
    """Receipt KC1 synced with qty 1, then qty 5 in QuickBooks and qty 2 in the store."""
    run_target(config, mapped.lines([("sales_receipts", mapped.receipt(1, qty=1))], {"b": 1}))
    document = receipts(emulator, mapped.realm)["KC1"]
    lines = [copy.deepcopy(line) for line in document["Line"] if "SalesItemLineDetail" in line]
    lines[0]["SalesItemLineDetail"]["Qty"] = Decimal(5)
    lines[0]["Amount"] = Decimal("99.95")
    emulator.realms[mapped.realm].bookkeeper_edit("SalesReceipt", document["Id"], {"Line": lines})
    changed = mapped.receipt(1, qty=2, updated_at=AFTER_EVERY_EDIT)
    run_target(config, mapped.lines([("sales_receipts", changed)], {"b": 2}))
    return changed


def qty_of(document) -> Decimal:
    return document["Line"][0]["SalesItemLineDetail"]["Qty"]


def test_review_list_show_and_accept_store_writes_the_store_version_once(
    mapped, qbo, make_config, run_target, ops
):
    _, emulator = qbo
    config = make_config()
    changed = conflicted(mapped, emulator, config, run_target)
    invoke = ops(config)

    listed = invoke("--json", "review", "list")
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.output)
    assert item["conflict_fields"] == ["Line"]
    shown = invoke("review", "show", str(item["id"]))
    assert "Line[1]" in shown.output
    assert "x 5 @ 19.99" in shown.output

    resolved = invoke("review", "resolve", str(item["id"]), "--accept", "store")

    assert resolved.exit_code == 0, resolved.output
    document = receipts(emulator, mapped.realm)["KC1"]
    assert qty_of(document) == 2
    assert str(document["TotalAmt"]) == changed["expected"]["total"]
    assert json.loads(invoke("--json", "review", "list").output) == []
    again = invoke("review", "resolve", str(item["id"]), "--accept", "store")
    assert again.exit_code == 2
    assert "not open" in again.output
    # the pipeline re-run with the same record writes nothing
    emulator.log.clear()
    run_target(config, mapped.lines([("sales_receipts", changed)], {"b": 3}))
    assert not [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES]
    audit = json.loads(invoke("--json", "audit", "--operation", "resolve_review").output)
    assert [row["outcome"] for row in audit] == ["accept_store"]
    assert audit[0]["before"] is not None
    assert audit[0]["after"] is not None


def test_accept_quickbooks_keeps_the_bookkeeper_lines_and_later_store_changes_merge(
    mapped, qbo, make_config, run_target, ops
):
    _, emulator = qbo
    config = make_config()
    changed = conflicted(mapped, emulator, config, run_target)
    invoke = ops(config)
    (item,) = json.loads(invoke("--json", "review", "list").output)
    emulator.log.clear()

    resolved = invoke("review", "resolve", str(item["id"]), "--accept", "quickbooks")

    assert resolved.exit_code == 0, resolved.output
    assert not [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES]
    assert qty_of(receipts(emulator, mapped.realm)["KC1"]) == 5
    # the same record again: nothing to write; a note change later: merged, lines kept
    emulator.log.clear()
    run_target(config, mapped.lines([("sales_receipts", changed)], {"b": 3}))
    assert not [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES]
    noted = mapped.receipt(1, qty=2, updated_at=AFTER_EVERY_EDIT, note="store note")
    noted["source_updated_at"] = "2099-01-02T00:00:00Z"
    target, _ = run_target(config, mapped.lines([("sales_receipts", noted)], {"b": 4}))
    document = receipts(emulator, mapped.realm)["KC1"]
    assert qty_of(document) == 5
    assert document["PrivateNote"].startswith("store note\n[kc:")
    assert target.delivery.counts.merged == 1


def test_resolve_with_an_edited_body_writes_that_body(  # noqa: PLR0913, PLR0917 - pytest fixtures
    mapped, qbo, make_config, run_target, ops, tmp_path
):
    _, emulator = qbo
    config = make_config()
    conflicted(mapped, emulator, config, run_target)
    invoke = ops(config)
    (item,) = json.loads(invoke("--json", "review", "list").output)
    shown = json.loads(invoke("--json", "review", "show", str(item["id"])).output)
    body = shown["store"]
    body["Line"][0]["SalesItemLineDetail"]["Qty"] = "3"
    body["Line"][0]["Amount"] = "59.97"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(body))

    resolved = invoke("review", "resolve", str(item["id"]), "--edited", str(edited))

    assert resolved.exit_code == 0, resolved.output
    assert qty_of(receipts(emulator, mapped.realm)["KC1"]) == 3
    audit = json.loads(invoke("--json", "audit", "--operation", "resolve_review").output)
    assert [row["outcome"] for row in audit] == ["edited"]


def test_retry_after_creating_the_missing_item_delivers_the_order_once(
    mapped, qbo, make_config, run_target, ops
):
    _, emulator = qbo
    config = make_config()
    invoke = ops(config)
    records = [
        ("sales_receipts", mapped.receipt(1)),
        ("sales_receipts", mapped.receipt(2, sku="NEW-1")),
    ]
    run_target(config, mapped.lines(records, {"b": 1}))
    (letter,) = json.loads(invoke("--json", "errors", "list").output)
    assert letter["error_code"] == "TQB-UNRESOLVED-REF"
    assert "NEW-1" in invoke("errors", "show", str(letter["id"])).output
    assert invoke("status", "--offline").exit_code == 1

    still = invoke("retry", str(letter["id"]))
    assert still.exit_code == 1
    assert "still failing" in still.output

    company = emulator.realms[mapped.realm]
    widget = next(i for i in company.documents("Item") if i.get("Sku") == "WID-001")
    company.create(
        "Item",
        {
            "Name": "New gadget",
            "Sku": "NEW-1",
            "Type": "NonInventory",
            "UnitPrice": Decimal("19.99"),
            "IncomeAccountRef": widget["IncomeAccountRef"],
        },
    )
    done = invoke("errors", "retry", "--all")

    assert done.exit_code == 0, done.output
    assert set(receipts(emulator, mapped.realm)) == {"KC1", "KC2"}
    assert json.loads(invoke("--json", "errors", "list").output) == []
    assert invoke("status", "--offline").exit_code == 0
    emulator.log.clear()
    nothing = invoke("retry", "--all")  # nothing open: nothing written
    assert nothing.exit_code == 0, nothing.output
    assert not [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES]
    retries = json.loads(invoke("--json", "audit", "--operation", "retry").output)
    assert [row["outcome"] for row in retries] == ["still_failing", "resolved"]


def test_status_exit_codes_healthy_attention_and_revoked(mapped, qbo, make_config, run_target, ops):
    served, emulator = qbo
    config = make_config()
    invoke = ops(config)
    run_target(config, mapped.lines([("sales_receipts", mapped.receipt(1))], {"b": 1}))

    healthy = invoke("--json", "status")
    assert healthy.exit_code == 0, healthy.output
    report = json.loads(healthy.output)
    assert report["token"]["check"] == "ok"
    assert {"entity": "SalesReceipt", "status": "active", "count": 1, "records": 1} in report[
        "documents"
    ]

    conflicted(mapped, emulator, config, run_target)
    attention = invoke("status")
    assert attention.exit_code == 1
    assert "open reviews" in attention.output

    requests.post(f"{served.url}/__admin/realms/{mapped.realm}/revoke", timeout=5)
    revoked = invoke("--json", "status")
    assert revoked.exit_code == 2
    assert json.loads(revoked.output)["token"]["check"] == "revoked"


def test_status_counts_quickbooks_documents_not_ledger_rows(mapped, make_config, run_target, ops):
    config = make_config()
    records = [
        ("customers", mapped.customer(7)),
        ("sales_receipts", mapped.receipt(1, customer=7)),
        ("sales_receipts", mapped.receipt(2, customer=7)),
    ]
    run_target(config, mapped.lines(records, {"b": 1}))

    result = ops(config)("--json", "status", "--offline")

    documents = json.loads(result.output)["documents"]
    # One QuickBooks customer, written from one store record (the orders' aliases are not).
    assert {"entity": "Customer", "status": "active", "count": 1, "records": 1} in documents
    assert {"entity": "SalesReceipt", "status": "active", "count": 2, "records": 2} in documents
    table = ops(config)("status", "--offline")
    assert "Store records -> QuickBooks documents" in table.output


def test_status_against_a_closed_port_answers_unreachable_within_seconds(make_config, ops):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    # The delivery backoff of a sync run would wait 2 + 4 + 8 s before giving up.
    config = make_config(
        api_url=f"http://127.0.0.1:{closed}",
        max_attempts=4,
        min_backoff_seconds=2,
        max_backoff_seconds=30,
    )
    invoke = ops(config)

    started = time.monotonic()
    result = invoke("--json", "status")
    elapsed = time.monotonic() - started

    assert elapsed < 5, elapsed
    assert result.exit_code == 2, result.output
    token = json.loads(result.output)["token"]
    assert token["check"] == "unreachable"
    assert "network failure" in token["detail"]
    table = invoke("status")
    assert table.exit_code == 2
    assert "unreachable" in table.output


def test_audit_rows_for_every_operation_of_a_run_carry_before_and_after(
    mapped, make_config, run_target, ops
):
    config = make_config()
    invoke = ops(config)
    run_target(config, mapped.lines([("sales_receipts", mapped.receipt(1, qty=1))], {"b": 1}))
    changed = mapped.receipt(1, qty=2, updated_at="2026-11-02T00:00:00Z")
    run_target(config, mapped.lines([("sales_receipts", changed)], {"b": 2}))
    run_target(config, mapped.lines([("sales_receipts", changed)], {"b": 3}))

    rows = json.loads(
        invoke("--json", "audit", "--external-id", "shopify:demo:1#sales_receipt").output
    )

    assert [(r["operation"], r["outcome"]) for r in rows] == [
        ("create", "created"),
        ("update", "updated"),
        ("upsert", "unchanged"),
    ]
    create, update, _ = rows
    assert create["before"] is None
    assert create["after"]["Id"] == update["qbo_id"]
    assert create["request_id"]
    assert update["before"]["SyncToken"] == "0"
    assert update["after"]["SyncToken"] == "1"
    assert json.loads(invoke("--json", "audit", "--outcome", "created").output)[0]["qbo_id"]
    assert json.loads(invoke("--json", "audit", "--since", "2099-01-01").output) == []
    assert json.loads(invoke("--json", "audit", "--entity", "Customer").output) == []
    table = invoke("audit", "--operation", "token_refresh")
    assert table.exit_code == 0
    assert "rotated" in table.output


def test_reconcile_writes_csv_and_html_and_lists_the_document_that_differs(  # noqa: PLR0913, PLR0917 - pytest fixtures
    mapped, qbo, make_config, run_target, ops, tmp_path
):
    _, emulator = qbo
    config = make_config()
    invoke = ops(config)
    records = [("sales_receipts", mapped.receipt(n)) for n in range(3)]
    run_target(config, mapped.lines(records, {"b": 1}))
    document = receipts(emulator, mapped.realm)["KC2"]
    lines = [copy.deepcopy(line) for line in document["Line"] if "SalesItemLineDetail" in line]
    lines[0]["SalesItemLineDetail"]["Qty"] = Decimal(1)
    lines[0]["Amount"] = Decimal("19.99")
    emulator.realms[mapped.realm].bookkeeper_edit("SalesReceipt", document["Id"], {"Line": lines})

    result = invoke("--json", "reconcile", "--output-dir", str(tmp_path / "report"))

    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    (day,) = report["days"]
    assert (day["day"], day["entity"], day["documents"], day["differing"]) == (
        "2026-11-01",
        "SalesReceipt",
        3,
        1,
    )
    (differing,) = report["differing"]
    assert differing["external_id"] == "shopify:demo:2#sales_receipt"
    with (tmp_path / "report" / f"reconcile-{mapped.realm}.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["matches"] for row in rows] == ["yes", "yes", "no"]
    assert rows[0]["store_total"] == records[0][1]["expected"]["total"]
    page = (tmp_path / "report" / f"reconcile-{mapped.realm}.html").read_text()
    assert "<svg" in page
    assert "<script" not in page
    assert "shopify:demo:2#sales_receipt" in page


def with_store_figures(record, day, *, txn_date=None):
    """A mapped receipt carrying its order's `source` block (sold on `day`, store-local)."""
    record = copy.deepcopy(record)
    order_id = record["source_id"]
    total = record["expected"]["total"]
    record["source"] = {
        "kind": "order",
        "canonical_id": order_id,
        "order_id": order_id,
        "timestamp": f"{day}T23:30:00Z",
        "store_timezone": "UTC",
        "local_date": day,
        "currency": "USD",
        "total": total,
        "tax": record["expected"]["tax"],
        "amount_paid": total,
        "amount_refunded": "0.00",
    }
    if txn_date is not None:
        record["body"]["TxnDate"] = txn_date
    return record


def test_reconcile_shows_a_wrong_txn_date_as_two_store_days_off_by_the_same_amount(
    mapped, make_config, run_target, ops, tmp_path
):
    config = make_config()
    invoke = ops(config)
    right = with_store_figures(mapped.receipt(1), "2026-11-01")
    # The mapper dated this one a day late; QuickBooks holds exactly what it was sent.
    late = with_store_figures(mapped.receipt(2), "2026-11-01", txn_date="2026-11-02")
    run_target(
        config, mapped.lines([("sales_receipts", right), ("sales_receipts", late)], {"b": 1})
    )
    store = open_store(config["database_url"])
    try:
        kept = store.ledger.get(mapped.realm, late["external_id"])
    finally:
        store.close()
    assert kept is not None
    assert kept.source_facts == late["source"]

    result = invoke("--json", "reconcile", "--output-dir", str(tmp_path / "report"))

    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["differing"] == []  # each document equals what the mapper expected
    amount = late["expected"]["total"]
    assert [
        (d["day"], d["kind"], d["records"], d["documents"], d["difference"])
        for d in report["store_days"]
    ] == [
        ("2026-11-01", "sales", 2, 1, f"-{amount}"),
        ("2026-11-02", "sales", 0, 1, amount),
    ]
    assert report["over_refunds"] == []
    with Path(report["store_days_csv"]).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["day"], r["difference"], r["matches"]) for r in rows] == [
        ("2026-11-01", f"-{amount}", "no"),
        ("2026-11-02", amount, "no"),
    ]
    page = (tmp_path / "report" / f"reconcile-{mapped.realm}.html").read_text()
    assert "per store-local day" in page
    table = invoke("reconcile", "--output-dir", str(tmp_path / "report"))
    assert table.exit_code == 1
    assert "store-local day" in table.output


def test_a_secret_never_appears_in_the_audit_log_logs_or_ops_output(  # noqa: PLR0913, PLR0917 - pytest fixtures
    mapped, qbo, make_config, run_target, ops, caplog
):
    served, emulator = qbo
    config = make_config()
    invoke = ops(config)
    records = [
        ("sales_receipts", mapped.receipt(1)),
        ("sales_receipts", mapped.receipt(2, sku="NOPE")),
    ]
    run_target(config, mapped.lines(records, {"b": 1}))
    conflicted(mapped, emulator, config, run_target)
    stored = open_store(config["database_url"]).tokens.load(mapped.realm)
    assert stored is not None
    secrets = {
        config["client_secret"],
        config["refresh_token"],
        stored.refresh_token,
        stored.access_token,
    }
    outputs = [
        invoke(*args).output
        for args in (
            ("--json", "audit", "--limit", "1000"),
            ("--json", "status"),
            ("status",),
            ("--json", "errors", "list"),
            ("--json", "review", "list"),
            ("retry", "--all"),
        )
    ]
    requests.post(f"{served.url}/__admin/realms/{mapped.realm}/revoke", timeout=5)
    outputs.append(invoke("--json", "status").output)
    outputs.append(invoke("retry", "--all").output)
    # a recognisable refresh token the emulator refuses: the refusal names no token
    canary = ops(make_config(refresh_token="CANARY-SECRET-7f3a9c", database_url="sqlite://"))
    outputs.append(canary("--json", "status").output)

    text = "\n".join(outputs) + caplog.text
    letters = open_store(config["database_url"]).dead_letters.open_letters(mapped.realm)
    text += json.dumps(letters, default=str)
    assert "CANARY-SECRET-7f3a9c" not in text
    for secret in secrets:
        assert secret
        assert secret not in text


def test_retry_of_an_unreconciled_document_compares_the_totals_again_without_writing(
    mapped, qbo, make_config, run_target, ops
):
    _, emulator = qbo
    config = make_config()
    invoke = ops(config)
    record = mapped.receipt(3)
    record["expected"].update({"total": "43.27", "tax": "3.29"})  # QuickBooks computes 43.28, 3.30
    run_target(config, mapped.lines([("sales_receipts", record)], {"b": 1}))
    (letter,) = json.loads(invoke("--json", "errors", "list").output)
    assert letter["error_code"] == "TQB-UNRECONCILED"
    assert invoke("retry", str(letter["id"])).exit_code == 1  # nothing fixed yet

    document = receipts(emulator, mapped.realm)["KC3"]
    emulator.realms[mapped.realm].bookkeeper_edit(
        "SalesReceipt", document["Id"], {"TxnTaxDetail": {"TotalTax": Decimal("3.29")}}
    )
    emulator.log.clear()
    fixed = invoke("retry", str(letter["id"]))

    assert fixed.exit_code == 0, fixed.output
    assert not [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES]
    assert json.loads(invoke("--json", "errors", "list").output) == []
    checks = json.loads(invoke("--json", "audit", "--operation", "reconcile").output)
    # the sync, the first retry, the retry after the fix
    assert [row["outcome"] for row in checks] == ["unreconciled", "unreconciled", "reconciled"]
