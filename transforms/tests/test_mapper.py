"""The Singer mapper: schemas once, records in dependency order, STATE passed through, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from singer_sdk.exceptions import ConfigValidationError

from kconnector_canonical.examples import load
from map_quickbooks import mapper as mapper_module
from map_quickbooks.contract import DOCUMENT_STREAMS, dead_letter_schema, document_schema
from map_quickbooks.mapper import MapQuickBooks

PIPELINE = Path(__file__).with_name("data") / "pipeline.singer"


def _messages(iterable):
    return [message.to_dict() for message in iterable]


@pytest.fixture
def mapper():
    return MapQuickBooks(config={})


def test_output_schemas_are_emitted_once_for_every_stream(mapper):
    first = _messages(mapper.map_schema_message({"stream": "orders", "schema": {}}))
    second = _messages(mapper.map_schema_message({"stream": "refunds", "schema": {}}))
    assert [m["stream"] for m in first] == [*DOCUMENT_STREAMS, "dead_letters"]
    assert all(m["key_properties"] == ["external_id"] for m in first)
    assert second == []


def test_state_passes_through_unchanged(mapper):
    value = {"bookmarks": {"orders": {"replication_key_value": "2026-03-05T14:01:12Z"}}}
    assert _messages(mapper.map_state_message({"type": "STATE", "value": value})) == [
        {"type": "STATE", "value": value}
    ]


def test_order_record_emits_customer_before_its_sales_receipt(mapper):
    messages = _messages(
        mapper.map_record_message({"stream": "orders", "record": load("shopify_order")})
    )
    records = [m for m in messages if m["type"] == "RECORD"]
    assert [m["stream"] for m in records] == ["customers", "sales_receipts"]
    assert records[1]["record"]["links"]["customer"] == records[0]["record"]["external_id"]


def test_every_output_record_matches_its_published_schema(mapper):
    documents = Draft202012Validator(document_schema())
    dead = Draft202012Validator(dead_letter_schema())
    invalid = load("shopify_order")
    invalid["totals"]["total"]["amount"] = "1.00"
    inputs = [
        ("orders", load("shopify_order")),
        ("refunds", load("shopify_refund")),
        ("orders", load("woocommerce_order")),
        ("refunds", load("woocommerce_refund")),
        ("orders", invalid),
    ]
    streams = []
    for stream, record in inputs:
        for message in _messages(mapper.map_record_message({"stream": stream, "record": record})):
            if message["type"] != "RECORD":
                continue
            streams.append(message["stream"])
            validator = dead if message["stream"] == "dead_letters" else documents
            assert list(validator.iter_errors(message["record"])) == []
    assert "dead_letters" in streams
    assert "refund_receipts" in streams


def test_records_of_other_streams_are_ignored(mapper):
    assert _messages(mapper.map_record_message({"stream": "products", "record": {}})) == []


def test_refund_larger_than_the_seen_order_paid_becomes_a_dead_letter(mapper):
    order = load("shopify_order")
    refund = load("shopify_refund")
    for part in (refund["transactions"][0], order["transactions"][1]):
        part["amount"]["amount"] = "200.00"
    refund["line_items"][0]["subtotal"]["amount"] = "196.60"
    refund["totals"]["items"]["amount"] = "196.60"
    refund["totals"]["total"]["amount"] = "200.00"
    order["totals"]["refunded"]["amount"] = "200.00"
    list(mapper.map_record_message({"stream": "orders", "record": order}))
    messages = _messages(mapper.map_record_message({"stream": "refunds", "record": refund}))
    records = [m for m in messages if m["type"] == "RECORD"]
    assert [m["stream"] for m in records] == ["dead_letters"]
    assert records[0]["record"]["error_code"] == "MAP-REFUND-EXCEEDS-PAID"


def test_the_refund_guard_remembers_only_the_most_recent_orders(mapper, monkeypatch):
    # Memory stays flat however many orders a run reads: the oldest facts are dropped.
    monkeypatch.setattr(mapper_module, "ORDERS_REMEMBERED", 3)
    ids = []
    for number in range(5):
        order = load("shopify_order")
        order["source_id"] = str(5301234567000 + number)
        order["id"] = f"shopify:kc-demo.myshopify.com:{order['source_id']}"
        ids.append(order["id"])
        list(mapper.map_record_message({"stream": "orders", "record": order}))
    remembered = list(mapper._orders_seen)
    assert len(remembered) == 3
    assert remembered == ids[2:]


def test_unsafe_rule_is_rejected_at_start_naming_the_setting():
    config = {"document_type_rules": [{"when": "().__class__.__bases__", "type": "invoice"}]}
    with pytest.raises(ConfigValidationError) as caught:
        MapQuickBooks(config=config)
    assert "document_type_rules[0].when" in str(caught.value)


def test_config_outside_the_declared_schema_is_rejected():
    with pytest.raises(ConfigValidationError) as caught:
        MapQuickBooks(config={"tax_mode": "vat"})
    assert "tax_mode" in " ".join(caught.value.errors)


def test_cli_maps_a_singer_file_and_passes_state_through(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"store_timezone": "America/New_York"}), encoding="utf-8")
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("map-quickbooks")),  # the installed entry point
            "--config",
            str(config),
            "--input",
            str(PIPELINE),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    kinds = [(m["type"], m.get("stream")) for m in messages]
    schemas = [stream for kind, stream in kinds if kind == "SCHEMA"]
    assert schemas == [*DOCUMENT_STREAMS, "dead_letters"]
    records = [stream for kind, stream in kinds if kind == "RECORD"]
    assert records == ["customers", "sales_receipts", "refund_receipts", "dead_letters"]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    inputs = [json.loads(line) for line in PIPELINE.read_text(encoding="utf-8").splitlines()]
    assert states == [m["value"] for m in inputs if m["type"] == "STATE"]
    # STATE stays where it was: after the records of the input lines before it.
    assert kinds.index(("STATE", None)) == kinds.index(("RECORD", "sales_receipts")) + 1
    assert "event=record_skipped" in completed.stderr
    assert "code=MAP-INVALID-RECORD" in completed.stderr


def test_payout_after_its_order_in_one_input_becomes_a_deposit_linking_its_receipt(mapper):
    order, payout = load("shopify_order"), load("shopify_payout")
    _messages(mapper.map_record_message({"stream": "orders", "record": order}))
    messages = _messages(mapper.map_record_message({"stream": "payouts", "record": payout}))
    records = [m for m in messages if m["type"] == "RECORD"]
    assert [m["stream"] for m in records] == ["deposits"]
    deposit = records[0]["record"]
    Draft202012Validator(document_schema()).validate(deposit)
    link = deposit["body"]["Line"][0]["LinkedTxn"][0]
    assert link["TxnId"]["value"] == f"{order['id']}#sales_receipt"
    # The order was seen: the Deposit's links name its document, so the target writes it first
    # (the body stays as a later run without the order maps it).
    assert deposit["links"]["clears:1"] == f"{order['id']}#sales_receipt"
    assert deposit["body"]["TotalAmt"] == payout["net"]["amount"]
    assert mapper.counts["deposits"] == 1
