"""The `source` block: the store's own figures on every document of an order or refund."""

import copy
import json
from pathlib import Path

from jsonschema import Draft202012Validator

from map_quickbooks.contract import document_schema
from map_quickbooks.mapping import map_record
from map_quickbooks.rules import Settings
from map_quickbooks.source_facts import store_local_date

CASE = Path(__file__).with_name("golden") / "partial_refund" / "input.json"


def _records() -> tuple[dict, list[dict]]:
    spec = json.loads(CASE.read_text(encoding="utf-8"))
    records = [item["record"] for item in spec["records"]]
    return records[0], records[1:]


def test_order_documents_carry_the_store_figures_and_the_stores_own_day():
    order, _ = _records()
    order = copy.deepcopy(order)
    # 02:30 UTC on the 3rd is still the 2nd in New York; the mapping settings say Tokyo.
    order["created_at"] = "2026-03-03T02:30:00Z"
    order["store_timezone"] = "America/New_York"
    settings = Settings.from_config({"store_timezone": "Asia/Tokyo"})

    outputs = map_record(order, "orders", settings)

    sources = {o.record["document_type"]: o.record.get("source") for o in outputs}
    assert sources["Customer"] is None
    facts = sources["SalesReceipt"]
    assert facts == {
        "kind": "order",
        "canonical_id": order["id"],
        "order_id": order["id"],
        "timestamp": "2026-03-03T02:30:00Z",
        "store_timezone": "America/New_York",
        "local_date": "2026-03-02",
        "currency": "USD",
        "total": order["totals"]["total"]["amount"],
        "tax": order["totals"]["tax"]["amount"],
        "amount_paid": "132.37",
        "amount_refunded": "79.92",
    }


def test_refund_documents_carry_the_refund_figures_in_the_refunds_own_zone():
    _, refunds = _records()
    refund = copy.deepcopy(refunds[0])
    refund["processed_at"] = "2026-03-07T05:00:00Z"
    refund["store_timezone"] = "America/Los_Angeles"
    settings = Settings.from_config({"store_timezone": "UTC"})

    (output,) = map_record(refund, "refunds", settings)

    facts = output.record["source"]
    assert facts["kind"] == "refund"
    assert facts["canonical_id"] == refund["id"]
    assert facts["order_id"] == refund["order_id"]
    assert facts["local_date"] == "2026-03-06"  # Los Angeles, not the settings' UTC
    assert facts["total"] == refund["totals"]["total"]["amount"]
    assert facts["amount_paid"] is None
    assert facts["amount_refunded"] == "36.16"


def test_every_document_with_a_source_block_meets_the_output_contract():
    order, refunds = _records()
    settings = Settings.from_config({})
    validator = Draft202012Validator(document_schema())
    outputs = [*map_record(order, "orders", settings)]
    for refund in refunds:
        outputs.extend(map_record(refund, "refunds", settings))

    assert [o.record for o in outputs if "source" in o.record]
    for output in outputs:
        assert list(validator.iter_errors(output.record)) == []


def test_store_local_date_uses_the_offset_when_the_zone_is_unknown():
    assert store_local_date("2026-03-06T23:00:00-05:00", "Mars/Olympus") == "2026-03-06"
    assert store_local_date("2026-03-07T04:00:00Z", None) == "2026-03-07"
