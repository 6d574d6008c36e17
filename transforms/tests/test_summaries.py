"""Summary posting (posting_mode payout_summary / daily_summary): cent-exact summaries.

A summary SalesReceipt is the sum of the per-order SalesReceipts it replaces: the same total,
tax, amount per item and tax code, per discount account, and per TaxRate (amount and net), to
the cent, for any generated set of orders in any tax mode.
"""

import copy
import importlib.util
import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from map_quickbooks import summaries
from map_quickbooks.mapping import map_record_result
from map_quickbooks.posting import SummaryPosting
from map_quickbooks.rules import Settings


def _load(name, filename):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


B = _load("map_quickbooks_tests_canonical_builder", "canonical_builder.py")
P = _load("map_quickbooks_tests_properties", "test_properties.py")
GOLDEN = Path(__file__).with_name("golden")
STORE = "shopify:kc-test.myshopify.com"

MODES = {
    name: Settings.from_config(
        {
            **config,
            "posting_mode": "payout_summary",
        }
    )
    for name, config in {
        "us": {},
        "codes": {"tax_mode": "tax_codes", "tax_code_map": P.TAX_CODE_MAP},
        "rates": {
            "tax_mode": "tax_codes",
            "tax_code_map": P.TAX_CODE_MAP,
            "tax_rate_map": P.TAX_RATE_MAP,
        },
        "reduced": {"discount_mode": "reduced_unit_price"},
    }.items()
}


def _d(text):
    return Decimal(str(text))


def _key(value):
    return json.dumps(value, sort_keys=True)


def _figures(bodies, expected):
    """Per account-like key, the amounts the documents book (what must add up)."""
    figures = defaultdict(Decimal)
    for body in bodies:
        for line in body["Line"]:
            kind = line["DetailType"]
            if kind == "SalesItemLineDetail":
                detail = line["SalesItemLineDetail"]
                key = _key(["item", detail["ItemRef"], detail["TaxCodeRef"]])
                figures[key] += _d(line["Amount"])
                if "TaxInclusiveAmt" in detail:
                    figures[key + ":gross"] += _d(detail["TaxInclusiveAmt"])
            elif kind == "DiscountLineDetail":
                figures[_key(["discount", line["DiscountLineDetail"]["DiscountAccountRef"]])] += _d(
                    line["Amount"]
                )
        detail = body["TxnTaxDetail"]
        figures["tax"] += _d(detail["TotalTax"])
        for tax_line in detail.get("TaxLine", []):
            rate = _key(["rate", tax_line["TaxLineDetail"]["TaxRateRef"]])
            figures[rate] += _d(tax_line["Amount"])
            figures[rate + ":net"] += _d(tax_line["TaxLineDetail"]["NetAmountTaxable"])
    for item in expected:
        figures["expected:total"] += _d(item["total"])
        figures["expected:tax"] += _d(item["tax"])
    return {k: v for k, v in figures.items() if v != 0}


def _candidates(records, rules):
    held = []
    for stream, record in records:
        result = map_record_result(record, stream, rules)
        item = summaries.held_of("order" if stream == "orders" else "refund", result.records, None)
        if item is not None:
            held.append(item)
    return held


GROUP = summaries.Group(f"{STORE}:7001", "Shopify Payments payout 7001", "2026-03-05", "t")


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    specs=st.lists(P.order_specs(), min_size=1, max_size=5),
    mode=st.sampled_from(list(MODES)),
)
def test_a_summary_books_exactly_what_its_per_order_documents_book(specs, mode):
    rules = MODES[mode]
    records = []
    for number, spec in enumerate(specs):
        P._normalise(spec)
        spec.source_id = str(2000 + number)
        order, refunds = B.build_order(spec)
        records.append(("orders", order))
        records.extend(("refunds", refund) for refund in refunds)
    held = _candidates(records, rules)
    made, found = summaries.summarise(GROUP, held, rules)
    for summary in found:
        per_order = [h.receipt.record for h in summary.covered]
        summed = summary.record.record
        assert _figures([summed["body"]], [summed["expected"]]) == _figures(
            [r["body"] for r in per_order], [r["expected"] for r in per_order]
        )
        assert _d(summed["expected"]["total"]) == sum(_d(r["expected"]["total"]) for r in per_order)
        if summed["body"].get("GlobalTaxCalculation") != "TaxInclusive":
            assert P._document_total(summed["body"]) == _d(summed["expected"]["total"])
        source = summed["source"]
        assert source["kind"] == "summary"
        assert sorted(source["covers_orders"] + source["covers_refunds"]) == sorted(
            h.source_id for h in summary.covered
        )
    covered = [h.source_id for s in found for h in s.covered]
    assert sorted(covered) == sorted(h.source_id for h in held)
    assert all(
        r.record["document_type"] in {"Customer", "SalesReceipt", "RefundReceipt"} for r in made
    )


def _golden_payout_run(posting_mode):
    spec = json.loads((GOLDEN / "payout_deposit" / "input.json").read_text(encoding="utf-8"))
    rules = Settings.from_config({**spec.get("config", {}), "posting_mode": posting_mode})
    posting = SummaryPosting(rules)
    seen = {}
    out = []
    for item in spec["records"]:
        result = map_record_result(item["record"], item["stream"], rules, seen)
        if result.order_facts is not None:
            seen[result.order_facts[0]] = result.order_facts[1]
        out.extend(posting.take(item["stream"], item["record"], result))
    out.extend(posting.finish())
    return {r.record["external_id"]: r.record for r in out}, [r.record["external_id"] for r in out]


def test_payout_summary_replaces_the_settled_receipts_and_the_deposit_clears_the_summary():
    by_id, order = _golden_payout_run("payout_summary")
    summary = by_id[f"{STORE}:7001#summary_sales"]
    assert summary["source"]["covers_orders"] == [f"{STORE}:1001", f"{STORE}:1002"]
    assert summary["expected"] == {"currency": "USD", "total": "65.10", "tax": "5.10"}
    assert (
        summary["body"]["CustomerRef"]["value"] == f"customer:summary:{STORE.replace(':', ':', 1)}"
    )
    refunds = by_id[f"{STORE}:7001#summary_refunds"]
    assert refunds["source"]["covers_refunds"] == [f"{STORE}:910020"]
    deposit = by_id[f"{STORE}:7001#summary_deposit"]
    linked = [line for line in deposit["body"]["Line"] if "LinkedTxn" in line]
    assert [(line["Amount"], line["LinkedTxn"][0]["TxnId"]["value"]) for line in linked] == [
        ("65.10", f"{STORE}:7001#summary_sales"),
        ("3.62", f"{STORE}:1003#sales_receipt"),
    ]
    assert sum(_d(line["Amount"]) for line in deposit["body"]["Line"]) == _d("38.71")
    assert deposit["body"]["TotalAmt"] == "38.71"
    # The per-order documents follow their summary, linked to it (the target writes one or the
    # other), and the per-order Deposit names the summary Deposit it stands in for.
    for order_id in ("1001", "1002"):
        alternative = by_id[f"{STORE}:{order_id}#sales_receipt"]
        assert alternative["links"]["summary"] == f"{STORE}:7001#summary_sales"
        assert order.index(f"{STORE}:{order_id}#sales_receipt") > order.index(
            f"{STORE}:7001#summary_sales"
        )
    per_order = by_id[f"{STORE}:7001#deposit"]
    assert per_order["links"]["summary_deposit"] == f"{STORE}:7001#summary_deposit"
    # The Invoice order paid by two transactions is not summarised.
    assert f"{STORE}:1003#invoice" in by_id
    assert "summary" not in by_id[f"{STORE}:1003#invoice"]["links"]


def test_per_order_mode_holds_nothing_back():
    by_id, _ = _golden_payout_run("per_order")
    assert not any("#summary" in external_id for external_id in by_id)


def test_daily_summary_groups_the_days_orders_and_refunds():
    by_id, _ = _golden_payout_run("daily_summary")
    sales = [r for i, r in by_id.items() if i.endswith("#summary_sales")]
    refunds = [r for i, r in by_id.items() if i.endswith("#summary_refunds")]
    assert [(s["source"]["local_date"], s["expected"]["total"]) for s in sales] == [
        ("2026-03-02", "65.10")
    ]
    assert [(s["source"]["local_date"], s["expected"]["total"]) for s in refunds] == [
        ("2026-03-06", "27.13")
    ]
    # The payout settles the whole day's summary, so its Deposit links it.
    deposit = by_id[f"{STORE}:7001#summary_deposit"]
    linked = [
        line["LinkedTxn"][0]["TxnId"]["value"]
        for line in deposit["body"]["Line"]
        if "LinkedTxn" in line
    ]
    assert linked[0] == sales[0]["external_id"]


def test_an_order_its_payout_does_not_settle_in_full_stays_per_order():
    spec = json.loads((GOLDEN / "payout_deposit" / "input.json").read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    for item in spec["records"]:
        if item["stream"] == "payouts":
            payout = item["record"]
            charge = next(t for t in payout["transactions"] if t.get("order_id") == f"{STORE}:1001")
            charge["amount"]["amount"] = "5.85"  # the other 5.00 comes in a later payout
            charge["net"]["amount"] = str(_d("5.85") - _d(charge["fee"]["amount"]))
            payout["net"]["amount"] = "33.71"
            payout["totals"]["gross"]["amount"] = "36.59"
            payout["totals"]["net"]["amount"] = "33.71"
    rules = Settings.from_config({**spec.get("config", {}), "posting_mode": "payout_summary"})
    posting = SummaryPosting(rules)
    out = []
    for item in spec["records"]:
        result = map_record_result(item["record"], item["stream"], rules)
        out.extend(posting.take(item["stream"], item["record"], result))
    out.extend(posting.finish())
    by_id = {r.record["external_id"]: r.record for r in out}
    receipt = by_id[f"{STORE}:1001#sales_receipt"]
    assert "summary" not in receipt["links"]
    summaries_of_1001 = [
        r for r in by_id.values() if f"{STORE}:1001" in r.get("source", {}).get("covers_orders", [])
    ]
    assert summaries_of_1001 == []
    assert by_id[f"{STORE}:7001#summary_sales"]["source"]["covers_orders"] == [f"{STORE}:1002"]
    deposit = by_id[f"{STORE}:7001#summary_deposit"]
    assert sum(_d(line["Amount"]) for line in deposit["body"]["Line"]) == _d("33.71")


def test_cli_in_summary_mode_emits_the_summary_then_the_held_state_last(tmp_path):
    spec = json.loads((GOLDEN / "payout_deposit" / "input.json").read_text(encoding="utf-8"))
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({**spec.get("config", {}), "posting_mode": "payout_summary"}), encoding="utf-8"
    )
    lines = [
        {"type": "SCHEMA", "stream": stream, "schema": {}, "key_properties": ["id"]}
        for stream in ("orders", "refunds", "payouts")
    ]
    for number, item in enumerate(spec["records"]):
        lines.append({"type": "RECORD", "stream": item["stream"], "record": item["record"]})
        lines.append({"type": "STATE", "value": {"bookmark": number}})
    singer_input = tmp_path / "input.singer"
    singer_input.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("map-quickbooks")),
            "--config",
            str(config),
            "--input",
            str(singer_input),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    # One STATE, the input's last, after every record: no STATE passes a record held back.
    assert states == [{"bookmark": len(spec["records"]) - 1}]
    assert messages[-1]["type"] == "STATE"
    ids = [m["record"]["external_id"] for m in messages if m["type"] == "RECORD"]
    assert f"{STORE}:7001#summary_sales" in ids
    assert f"{STORE}:7001#summary_deposit" in ids
