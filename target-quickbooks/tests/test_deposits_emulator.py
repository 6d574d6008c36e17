"""Deposits (the `deposits` stream) delivered to the QuickBooks emulator.

A payout's Deposit clears two SalesReceipts and a Payment from Undeposited Funds, takes a refund
back out of it and books the processor fee; it lands once, waits for the documents it links to,
and a bookkeeper's edit of one of its lines goes to review.
"""

from __future__ import annotations

import copy
import csv
import json
from decimal import Decimal

from click.testing import CliRunner

from target_quickbooks.operations.cli import main
from target_quickbooks.store import open_store

PAYOUT = "shopify:demo:77"
DEPOSIT = f"{PAYOUT}#deposit"
PAYMENT = "shopify:demo:3#payment:31"
REFUND = Decimal("-10.00")
FEE = Decimal("-2.35")
PAYMENT_AMOUNT = Decimal("15.00")
WRITE_ROUTES = ("POST /v3/company/{realmId}/batch", "POST /v3/company/{realmId}/deposit")


def payment_record():
    return {
        "external_id": PAYMENT,
        "source_id": "shopify:demo:3",
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "Payment",
        "operation": "upsert",
        "body": {
            "CustomerRef": {"by": "external_id", "value": "customer:shopify:demo:3"},
            "TotalAmt": str(PAYMENT_AMOUNT),
            "TxnDate": "2026-11-01",
            "PrivateNote": "shopify order 3, transaction 31",
        },
        "expected": {"currency": "USD", "total": str(PAYMENT_AMOUNT), "tax": "0"},
        "critical_fields": ["TotalAmt", "CustomerRef"],
        "links": {"customer": "customer:shopify:demo:3"},
        "mapping_version": "test+golden",
    }


def _linked(external_id, entity, amount):
    return {
        "Amount": str(amount),
        "LinkedTxn": [
            {
                "TxnId": {"by": "external_id", "value": external_id, "entity": entity},
                "TxnType": entity,
                "TxnLineId": "0",
            }
        ],
    }


def _account_line(amount, account, description):
    return {
        "Amount": str(amount),
        "DetailType": "DepositLineDetail",
        "Description": description,
        "DepositLineDetail": {"AccountRef": {"by": "name", "value": account}},
    }


def deposit_record(mapped, *, fee=FEE, updated_at="2026-11-02T10:00:00Z"):
    first = Decimal(mapped.receipt(1)["expected"]["total"])
    second = Decimal(mapped.receipt(2, qty=1)["expected"]["total"])
    charges = first + second + PAYMENT_AMOUNT
    net = charges + REFUND + fee
    return {
        "external_id": DEPOSIT,
        "source_id": PAYOUT,
        "source_updated_at": updated_at,
        "document_type": "Deposit",
        "operation": "upsert",
        "body": {
            "DepositToAccountRef": {"by": "name", "value": "Checking"},
            "TxnDate": "2026-11-02",
            "PrivateNote": "Shopify Payments payout 77",
            "Line": [
                _linked("shopify:demo:1#sales_receipt", "SalesReceipt", first),
                _linked("shopify:demo:2#sales_receipt", "SalesReceipt", second),
                _linked(PAYMENT, "Payment", PAYMENT_AMOUNT),
                _account_line(REFUND, "Undeposited Funds", "Refund 9001 of order 1"),
                _account_line(fee, "Bank Charges & Fees", "Shopify Payments fees"),
            ],
        },
        "expected": {"currency": "USD", "total": str(net), "tax": "0"},
        "critical_fields": ["DepositToAccountRef", "Line", "TotalAmt", "TxnDate"],
        "links": {},
        "mapping_version": "test+golden",
        "source": {
            "kind": "payout",
            "canonical_id": PAYOUT,
            "payout_source_id": "77",
            "platform": "shopify",
            "store": "demo",
            "gateway": "shopify_payments",
            "basis": "processor",
            "status": "paid",
            "timestamp": "2026-11-02T09:00:00-05:00",
            "store_timezone": "America/New_York",
            "local_date": "2026-11-02",
            "currency": "USD",
            "gross": str(charges + REFUND),
            "charges": str(charges),
            "refunds": str(REFUND),
            "adjustments": "0.00",
            "fees": str(-fee),
            "net": str(net),
        },
    }


def orders(mapped):
    return [
        ("customers", mapped.customer(3)),
        ("sales_receipts", mapped.receipt(1)),
        ("sales_receipts", mapped.receipt(2, qty=1)),
        ("payments", payment_record()),
    ]


def deposits_of(emulator, realm):
    return emulator.realms[realm].documents("Deposit")


def test_deposit_linking_receipts_and_a_payment_lands_once_and_reruns_write_nothing(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    records = [*orders(mapped), ("deposits", deposit_record(mapped))]
    target, states = run_target(config, mapped.lines(records, {"b": 1}))

    (deposit,) = deposits_of(emulator, mapped.realm)
    expected = Decimal(deposit_record(mapped)["expected"]["total"])
    assert Decimal(str(deposit["TotalAmt"])) == expected
    realm = emulator.realms[mapped.realm]
    linked = {
        (link["TxnType"], link["TxnId"])
        for line in deposit["Line"]
        for link in line.get("LinkedTxn", [])
    }
    receipts = {("SalesReceipt", d["Id"]) for d in realm.documents("SalesReceipt")}
    payments = {("Payment", d["Id"]) for d in realm.documents("Payment")}
    assert linked == receipts | payments
    assert target.delivery.counts.dead_lettered == 0
    assert states == [{"b": 1}]

    emulator.log.clear()
    again, _ = run_target(config, mapped.lines(records, {"b": 2}))
    assert not [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES]
    assert len(deposits_of(emulator, mapped.realm)) == 1
    assert again.delivery.counts.dead_lettered == 0


def test_deposit_arriving_before_its_orders_waits_and_lands_after_them(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    records = [("deposits", deposit_record(mapped)), *orders(mapped)]
    target, _ = run_target(config, mapped.lines(records, {"b": 1}))

    (deposit,) = deposits_of(emulator, mapped.realm)
    assert Decimal(str(deposit["TotalAmt"])) == Decimal(deposit_record(mapped)["expected"]["total"])
    assert target.delivery.counts.dead_lettered == 0


def test_bookkeeper_edit_of_a_deposit_line_goes_to_review(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    config = make_config(use_batch_api=False)
    run_target(
        config, mapped.lines([*orders(mapped), ("deposits", deposit_record(mapped))], {"b": 1})
    )
    realm = emulator.realms[mapped.realm]
    (deposit,) = deposits_of(emulator, mapped.realm)
    lines = copy.deepcopy(deposit["Line"])
    lines[-1]["Amount"] = Decimal("-3.00")  # the bookkeeper books the fee the bank statement shows
    edited = realm.bookkeeper_edit("Deposit", deposit["Id"], {"Line": lines})
    edited = copy.deepcopy(edited)
    emulator.log.clear()

    changed = deposit_record(mapped, fee=Decimal("-2.40"), updated_at="2099-01-01T00:00:00Z")
    target, _ = run_target(config, mapped.lines([("deposits", changed)], {"b": 2}))

    assert not [r for r in emulator.log.recent if r["route"] in WRITE_ROUTES and r["status"] == 200]
    (current,) = deposits_of(emulator, mapped.realm)
    assert current == edited
    assert target.delivery.counts.conflicts == 1
    (item,) = open_store(config["database_url"]).reviews.items(mapped.realm)
    assert item.external_id == DEPOSIT
    assert "Line" in item.conflict_fields


def reconcile(config, tmp_path):
    path = tmp_path / "target.json"
    path.write_text(json.dumps(config))
    args = ["--config", str(path), "--json", "reconcile", "--output-dir", str(tmp_path / "r")]
    return CliRunner().invoke(main, args)


def test_reconcile_checks_payout_deposit_and_cleared_documents_three_ways(
    mapped, qbo, make_config, run_target, tmp_path
):
    _, emulator = qbo
    config = make_config()
    run_target(
        config, mapped.lines([*orders(mapped), ("deposits", deposit_record(mapped))], {"b": 1})
    )

    clean = reconcile(config, tmp_path)
    assert clean.exit_code == 0, clean.output
    (payout,) = json.loads(clean.output)["payouts"]
    assert payout["matches"] is True
    assert Decimal(str(payout["residual"])) == 0

    # A bookkeeper deletes the Deposit's fee line: QuickBooks' Deposit is 2.35 above the payout.
    realm = emulator.realms[mapped.realm]
    (deposit,) = deposits_of(emulator, mapped.realm)
    realm.bookkeeper_edit("Deposit", deposit["Id"], {"Line": copy.deepcopy(deposit["Line"][:-1])})

    off = reconcile(config, tmp_path)
    assert off.exit_code == 1, off.output
    report = json.loads(off.output)
    (payout,) = report["payouts"]
    assert Decimal(str(payout["residual"])) == -FEE
    (gateway,) = report["payout_gateways"]
    assert (gateway["gateway"], gateway["differing"]) == ("shopify_payments", 1)
    assert Decimal(str(gateway["residual"])) == -FEE
    with (tmp_path / "r" / f"reconcile-{mapped.realm}-payouts.csv").open() as handle:
        (row,) = csv.DictReader(handle)
    assert (row["payout"], row["matches"], row["residual"]) == (PAYOUT, "no", str(-FEE))
    page = (tmp_path / "r" / f"reconcile-{mapped.realm}.html").read_text()
    assert PAYOUT in page


def ops_cli(config, tmp_path, *args):
    path = tmp_path / "target.json"
    path.write_text(json.dumps(config))
    return CliRunner().invoke(main, ["--config", str(path), *args])


def test_deposit_run_before_its_orders_is_kept_and_retried_once_they_are_in_quickbooks(
    mapped, qbo, make_config, run_target, tmp_path
):
    _, emulator = qbo
    config = make_config()
    run_target(config, mapped.lines([("deposits", deposit_record(mapped))], {"b": 1}))
    assert deposits_of(emulator, mapped.realm) == []
    (letter,) = json.loads(ops_cli(config, tmp_path, "--json", "errors", "list").output)
    assert letter["external_id"] == DEPOSIT
    assert letter["error_code"] == "TQB-MISSING-DEPENDENCY"

    run_target(config, mapped.lines(orders(mapped), {"b": 2}))
    retried = ops_cli(config, tmp_path, "retry", str(letter["id"]))

    assert retried.exit_code == 0, retried.output
    (deposit,) = deposits_of(emulator, mapped.realm)
    assert Decimal(str(deposit["TotalAmt"])) == Decimal(deposit_record(mapped)["expected"]["total"])
