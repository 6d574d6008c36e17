"""posting_mode_guard: an order is in QuickBooks once, per order or in a summary.

Pure decisions first, then the mapper's own output (map-quickbooks on the payout golden case:
orders 1001 and 1002 paid at checkout, 1003 invoiced and paid by two transactions, a refund of
1002, payout 7001) delivered to the QuickBooks emulator while `posting_mode` switches between
runs: every order is counted once in QuickBooks' totals and the payout's one Deposit still
clears to the cent.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest

from kconnector_sandbox.qbo.admin_client import strict_report
from map_quickbooks.mapping import map_record_result
from map_quickbooks.posting import SummaryPosting
from map_quickbooks.rules import Settings
from target_quickbooks import posting_mode_guard as guard
from target_quickbooks.contract import Expected, MappedDocument, Operation
from target_quickbooks.store import open_store
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

GOLDEN = Path(__file__).parents[2] / "transforms" / "tests" / "golden" / "payout_deposit"
STORE = "shopify:kc-test.myshopify.com"
PAYOUT = f"{STORE}:7001"
SUMMARY = f"{PAYOUT}#summary_sales"
SUMMARY_REFUNDS = f"{PAYOUT}#summary_refunds"
SUMMARY_CUSTOMER = f"customer:summary:{STORE}"
ORDERS_TOTAL = Decimal("10.85") + Decimal("54.25")  # 1001 and 1002 (SalesReceipts)
REFUND_TOTAL = Decimal("27.13")
PAYOUT_NET = Decimal("38.71")
WRITES = ("POST /v3/company/{realmId}/batch",)


# ---------------------------------------------------------------- pure decisions


def doc(external_id, entity="SalesReceipt", *, source_id=None, facts=None, links=None):
    return MappedDocument(
        stream="x",
        external_id=external_id,
        source_id=source_id or external_id.split("#", 1)[0],
        source_updated_at="2026-03-05T00:00:00Z",
        entity=entity,
        operation=Operation.UPSERT,
        body=MappingProxyType({"CustomerRef": {"by": "external_id", "value": "x#customer"}}),
        expected=Expected("USD", Decimal(1), Decimal(0)),
        critical_fields=(),
        links=MappingProxyType(links or {}),
        mapping_version="t",
        record=MappingProxyType({}),
        source_facts=facts,
    )


def entry(external_id, entity="SalesReceipt", facts=None, status=LedgerStatus.ACTIVE):
    return LedgerEntry("r", external_id, entity, "1", "0", "h", status, source_facts=facts)


def cover(orders=("o:1", "o:2"), refunds=(), refund_orders=(), external_id="p:1#summary_sales"):
    return guard.SummaryCover(external_id, "customer:summary:s", orders, refunds, refund_orders)


def test_a_summary_with_an_order_already_posted_per_order_is_superseded():
    summary = cover()
    posted = guard.posted_per_order(summary, [entry("o:2#sales_receipt"), entry("o:1#customer")])
    assert posted == ["o:2#sales_receipt"]
    decision = guard.decide_summary(doc(summary.external_id), summary, posted, guard.Coverage())
    assert decision.action is guard.Action.SUPERSEDED
    assert "o:2#sales_receipt" in decision.message


def test_a_summary_whose_orders_another_summary_covers_is_superseded_and_its_own_is_written():
    coverage = guard.Coverage()
    coverage.add(cover(orders=("o:1",), external_id="day:1#summary_sales"))
    overlapping = cover(orders=("o:1", "o:3"))
    decision = guard.decide_summary(doc(overlapping.external_id), overlapping, [], coverage)
    assert decision.action is guard.Action.SUPERSEDED
    again = cover(orders=("o:1",), external_id="day:1#summary_sales")
    assert guard.decide_summary(doc(again.external_id), again, [], coverage).action is (
        guard.Action.WRITE
    )


def test_a_refund_document_of_a_covered_refund_is_covered_and_of_a_covered_order_redirected():
    coverage = guard.Coverage()
    coverage.add(cover(refunds=("s:r1",), refund_orders=("o:1",)))
    covered = guard.decide_document(
        doc("o:1#refund:r1", "RefundReceipt", source_id="s:r1"), coverage, {}
    )
    assert covered.action is guard.Action.COVERED
    later = guard.decide_document(
        doc("o:1#refund:r2", "RefundReceipt", source_id="s:r2"), coverage, {}
    )
    assert later.action is guard.Action.REDIRECT
    customer = entry("customer:summary:s", "Customer")
    (alias,) = guard.summary_customer_aliases(
        [later], coverage, {"customer:summary:s": customer}, "r"
    )
    assert (alias.external_id, alias.entity, alias.qbo_id) == ("o:1#customer", "Customer", "1")
    assert guard.summary_customer_aliases([later], coverage, {"o:1#customer": customer}, "r") == []
    assert guard.decide_document(doc("o:1#invoice"), coverage, {}).action is guard.Action.COVERED
    assert guard.decide_document(doc("o:9#sales_receipt"), coverage, {}).action is (
        guard.Action.WRITE
    )


def test_one_deposit_per_payout_whichever_role_came_first():
    per_order, summary = doc("p:1#deposit", "Deposit"), doc("p:1#summary_deposit", "Deposit")
    summary_in = {"p:1#summary_deposit": entry("p:1#summary_deposit", "Deposit")}
    assert guard.decide_document(per_order, guard.Coverage(), summary_in).action is (
        guard.Action.COVERED
    )
    per_order_in = {"p:1#deposit": entry("p:1#deposit", "Deposit")}
    assert guard.decide_document(summary, guard.Coverage(), per_order_in).action is (
        guard.Action.SUPERSEDED
    )
    failed = dataclasses.replace(per_order, operation=Operation.DELETE)
    deleted = guard.decide_document(failed, guard.Coverage(), summary_in)
    assert deleted.action is guard.Action.REDIRECT
    assert deleted.document.external_id == "p:1#summary_deposit"
    assert deleted.document.operation is Operation.DELETE
    waiting = doc("p:1#summary_deposit", "Deposit", links={"clears:1": "p:1#summary_sales"})
    assert guard.decide_document(waiting, guard.Coverage(), {}).action is guard.Action.SUPERSEDED
    cleared = {"p:1#summary_sales": entry("p:1#summary_sales")}
    assert guard.decide_document(waiting, guard.Coverage(), cleared).action is guard.Action.WRITE


# ---------------------------------------------------------------- the mapper's output, delivered


def mapped_records(posting_mode, keep=None, payout_status=None):
    """map-quickbooks' records for the golden input (as `MapQuickBooks` emits them)."""
    spec = json.loads((GOLDEN / "input.json").read_text(encoding="utf-8"))
    for item in spec["records"]:
        if item["stream"] == "payouts" and payout_status is not None:
            item["record"]["status"] = payout_status
    rules = Settings.from_config({**spec.get("config", {}), "posting_mode": posting_mode})
    posting = SummaryPosting(rules)
    seen = {}
    out = []
    for item in spec["records"]:
        if keep is not None and item["record"]["id"] not in keep:
            continue
        result = map_record_result(item["record"], item["stream"], rules, seen)
        if result.order_facts is not None:
            seen[result.order_facts[0]] = result.order_facts[1]
        out.extend(posting.take(item["stream"], item["record"], result))
    out.extend(posting.finish())
    return [(r.stream, r.record) for r in out]


@pytest.fixture
def company(qbo, make_config, run_target, mapped):
    served, emulator = qbo
    config = make_config()

    def run(posting_mode, keep=None, payout_status=None):
        records = mapped_records(posting_mode, keep, payout_status)
        emulator.log.clear()
        target, states = run_target(config, mapped.lines(records, {"run": posting_mode}))
        assert target.delivery.counts.dead_lettered == 0
        assert states == [{"run": posting_mode}]
        return [r for r in emulator.log.recent if r["route"] in WRITES or "POST" in r["route"]]

    def totals():
        realm = emulator.realms[mapped.realm]

        def total(entity):
            return sum((Decimal(str(d["TotalAmt"])) for d in realm.documents(entity)), Decimal(0))

        deposits = realm.documents("Deposit")
        return {
            "sales": total("SalesReceipt"),
            "refunds": total("RefundReceipt"),
            "invoices": total("Invoice"),
            "deposits": [Decimal(str(d["TotalAmt"])) for d in deposits],
        }

    def ledger():
        with_store = open_store(config["database_url"])
        try:
            return {e.external_id: e for e in with_store.ledger.documents(mapped.realm)}
        finally:
            with_store.close()

    yield run, totals, ledger
    assert strict_report(served.url) == []


EXPECTED = {
    "sales": ORDERS_TOTAL,
    "refunds": REFUND_TOTAL,
    "invoices": Decimal("10.85"),
    "deposits": [PAYOUT_NET],
}


def test_summary_then_per_order_then_summary_counts_every_order_once(company):
    run, totals, ledger = company
    run("payout_summary")
    assert totals() == EXPECTED
    books = ledger()
    assert SUMMARY in books
    assert f"{PAYOUT}#summary_deposit" in books
    assert f"{STORE}:1001#sales_receipt" not in books
    assert f"{PAYOUT}#deposit" not in books

    run("per_order")  # the same orders read again after the switch: covered, nothing written
    assert totals() == EXPECTED
    assert f"{STORE}:1001#sales_receipt" not in ledger()

    run("payout_summary")
    assert totals() == EXPECTED


def test_per_order_then_summary_then_per_order_counts_every_order_once(company):
    run, totals, ledger = company
    run("per_order")
    assert totals() == EXPECTED
    run("payout_summary")  # every order already in QuickBooks: the summary is superseded
    assert totals() == EXPECTED
    books = ledger()
    assert SUMMARY not in books
    assert f"{PAYOUT}#summary_deposit" not in books
    run("per_order")
    assert totals() == EXPECTED


def test_a_summary_with_one_order_already_posted_falls_back_to_per_order_documents(company):
    run, totals, ledger = company
    run("per_order", keep={f"{STORE}:1001"})
    assert totals()["sales"] == Decimal("10.85")
    run("payout_summary")
    assert totals() == EXPECTED
    books = ledger()
    assert SUMMARY not in books
    assert f"{STORE}:1002#sales_receipt" in books
    assert f"{PAYOUT}#deposit" in books


def test_daily_summary_then_per_order_counts_every_order_once(company):
    run, totals, ledger = company
    run("daily_summary")
    assert totals() == EXPECTED
    books = ledger()
    assert [e for e in books if e.endswith("#summary_sales")]
    assert [e for e in books if e.endswith("#summary_refunds")]
    assert f"{PAYOUT}#summary_deposit" in books
    run("per_order")
    assert totals() == EXPECTED


def test_a_payout_failing_after_its_summary_deposit_deletes_that_deposit(company):
    run, totals, ledger = company
    run("payout_summary")
    assert totals()["deposits"] == [PAYOUT_NET]
    run("per_order", payout_status="failed")  # the bank returned it: no Deposit any more
    assert totals() == {**EXPECTED, "deposits": []}
    assert ledger()[f"{PAYOUT}#summary_deposit"].status is LedgerStatus.DELETED


US_REALM = "9130357600000001"  # the emulator's US company (conftest's realm)
CA_REALM = "9130357600000002"  # the emulator's Canadian company (GST, PST (BC))
CANADA = Path(__file__).parents[2] / "transforms" / "tests" / "golden" / "canada_tax_per_rate"


def test_a_daily_summary_with_tax_per_rate_is_accepted_and_reconciles(
    qbo, make_config, run_target, mapped
):
    served, emulator = qbo
    spec = json.loads((CANADA / "input.json").read_text(encoding="utf-8"))
    rules = Settings.from_config({**spec["config"], "posting_mode": "daily_summary"})
    posting = SummaryPosting(rules)
    order = next(r["record"] for r in spec["records"] if r["stream"] == "orders")
    out = []
    for number in range(3):  # three orders of one day: one summary
        record = json.loads(json.dumps(order).replace("2013", str(3000 + number)))
        result = map_record_result(record, "orders", rules)
        out.extend(posting.take("orders", record, result))
    out.extend(posting.finish())
    records = [(r.stream, r.record) for r in out]
    (summary,) = [r for s, r in records if r["external_id"].endswith("#summary_sales")]
    assert Decimal(summary["expected"]["total"]) == 3 * Decimal(order["totals"]["total"]["amount"])
    config = make_config(realm_id=CA_REALM, refresh_token=emulator.initial_refresh_tokens[CA_REALM])
    target, _ = run_target(config, mapped.lines(records, {"b": 1}))
    assert target.delivery.counts.dead_lettered == 0  # QuickBooks' totals are the expected ones
    (written,) = emulator.realms[CA_REALM].documents("SalesReceipt")
    assert Decimal(str(written["TotalAmt"])) == Decimal(summary["expected"]["total"])
    assert Decimal(str(written["TxnTaxDetail"]["TotalTax"])) == Decimal(summary["expected"]["tax"])
    assert strict_report(served.url) == []


def test_a_refund_of_a_summarised_order_in_a_later_run_goes_to_the_summary_customer(company, qbo):
    _, emulator = qbo
    run, totals, ledger = company
    run("payout_summary", keep={f"{STORE}:{n}" for n in ("1001", "1002", "1003", "7001")})
    assert totals()["sales"] == ORDERS_TOTAL
    run("per_order", keep={f"{STORE}:910020"})  # the refund of #1002 comes later
    assert totals() == EXPECTED
    (refund,) = emulator.realms[US_REALM].documents("RefundReceipt")
    customer = ledger()[SUMMARY_CUSTOMER]
    assert refund["CustomerRef"]["value"] == customer.qbo_id
