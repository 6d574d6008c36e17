"""map_record: determinism, dead letters, filters, items, discounts, numbers, currencies."""

import copy
import json
import os
import subprocess
import sys

import pytest

from kconnector_canonical.examples import load
from map_quickbooks.mapping import map_record, map_record_result
from map_quickbooks.rules import Settings


def _dump(records):
    return json.dumps(
        [{"stream": r.stream, "record": r.record} for r in records], sort_keys=True
    ).encode()


def _body(records, stream):
    return next(r.record["body"] for r in records if r.stream == stream)


def test_same_input_twice_gives_identical_bytes(default_settings):
    first = _dump(map_record(load("shopify_order"), "orders", default_settings))
    second = _dump(map_record(load("shopify_order"), "orders", default_settings))
    assert first == second


def test_output_does_not_depend_on_the_interpreter_hash_seed():
    script = (
        "import json;from kconnector_canonical.examples import load;"
        "from map_quickbooks.mapping import map_record;from map_quickbooks.rules import Settings;"
        "s=Settings.from_config({'tax_mode':'tax_codes','tax_code_map':{'MwSt. 19%':'S'}});"
        "print(json.dumps([r.record for r in map_record(load('woocommerce_order'),'orders',s)]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_input_record_is_not_modified(default_settings):
    record = load("shopify_order")
    before = copy.deepcopy(record)
    map_record(record, "orders", default_settings)
    assert record == before


def test_invalid_record_becomes_one_dead_letter_with_every_problem(default_settings):
    record = load("shopify_order")
    record["currency"] = "usd"
    del record["name"]
    [dead] = map_record(record, "orders", default_settings)
    assert dead.stream == "dead_letters"
    assert dead.record["error_code"] == "MAP-INVALID-RECORD"
    assert dead.record["external_id"] == "shopify:kc-demo.myshopify.com:5301234567890#order"
    assert "name: is required" in dead.record["message"]
    assert "currency" in dead.record["message"]
    assert dead.record["record"] == record


def test_record_that_is_not_even_an_object_shape_still_dead_letters(default_settings):
    [dead] = map_record({"schema_version": 1, "hello": "world"}, "orders", default_settings)
    assert dead.record["external_id"].startswith("invalid:orders:")
    assert dead.record["source_id"] is None


def test_record_from_a_newer_schema_version_asks_for_an_upgrade(default_settings):
    record = load("shopify_order")
    record["schema_version"] = 99
    [dead] = map_record(record, "orders", default_settings)
    assert dead.record["error_code"] == "MAP-UNSUPPORTED-VERSION"
    assert "upgrade" in dead.record["guidance"].lower()


def test_test_order_is_skipped_and_counted_as_such(default_settings):
    record = load("shopify_order")
    record["test"] = True
    result = map_record_result(record, "orders", default_settings)
    assert (result.records, result.skipped) == ((), "test order")
    kept = map_record(record, "orders", Settings.from_config({"skip_test_orders": False}))
    assert [r.stream for r in kept] == ["customers", "sales_receipts"]


@pytest.mark.parametrize(
    "config",
    [
        {"statuses": ["paid"]},
        {"channels": ["pos"]},
        {"created_after": "2026-03-03T00:00:00Z"},
        {"created_before": "2026-03-01T00:00:00Z"},
    ],
)
def test_filters_skip_orders_outside_them(config):
    result = map_record_result(load("shopify_order"), "orders", Settings.from_config(config))
    assert result.records == ()
    assert result.skipped


def test_filters_keep_orders_inside_them():
    config = {"statuses": ["partially_refunded"], "channels": ["web"]}
    assert map_record(load("shopify_order"), "orders", Settings.from_config(config))


def test_doc_number_template_and_prefix():
    settings = Settings.from_config({"doc_number_prefix": "SH-"})
    assert (
        _body(map_record(load("shopify_order"), "orders", settings), "sales_receipts")["DocNumber"]
        == "SH-1042"
    )


def test_doc_number_over_21_characters_is_a_dead_letter():
    settings = Settings.from_config({"doc_number_prefix": "A-VERY-LONG-PREFIX-"})
    [dead] = map_record(load("shopify_order"), "orders", settings)
    assert dead.record["error_code"] == "MAP-DOCNUMBER-TOO-LONG"
    assert "doc_number_prefix" in dead.record["guidance"]


def test_other_currency_without_multicurrency_is_a_dead_letter():
    settings = Settings.from_config({"home_currency": "USD"})
    [dead] = map_record(load("woocommerce_refund"), "refunds", settings)
    assert dead.record["error_code"] == "MAP-CURRENCY-NOT-HOME"


def test_multicurrency_documents_carry_the_store_currency():
    settings = Settings.from_config({"multicurrency": True, "home_currency": "USD"})
    body = _body(map_record(load("woocommerce_order"), "orders", settings), "sales_receipts")
    assert body["CurrencyRef"] == {"by": "id", "entity": "Currency", "value": "EUR"}
    assert "ExchangeRate" not in body  # QuickBooks applies its rate for the TxnDate


def test_item_map_names_the_item_and_policies_set_what_happens_when_missing():
    mapped = Settings.from_config({"item_map": {"TEE-BLK-M": "T-shirt"}})
    line = _body(map_record(load("shopify_order"), "orders", mapped), "sales_receipts")["Line"][0]
    assert line["SalesItemLineDetail"]["ItemRef"]["value"] == "T-shirt"
    default = Settings.from_config({"unmatched_item_policy": "default_item"})
    line = _body(map_record(load("shopify_order"), "orders", default), "sales_receipts")["Line"][1]
    ref = line["SalesItemLineDetail"]["ItemRef"]
    assert (ref["by"], ref["value"], ref["on_missing"]) == ("name", "Sticker pack", "default")
    assert ref["default"]["value"] == "Sales"
    strict = Settings.from_config({"unmatched_item_policy": "error"})
    line = _body(map_record(load("shopify_order"), "orders", strict), "sales_receipts")["Line"][0]
    ref = line["SalesItemLineDetail"]["ItemRef"]
    assert (ref["by"], ref["on_missing"]) == ("sku", "error")
    assert ref["guidance"].startswith("MAP-UNKNOWN-SKU")


def test_reduced_unit_price_mode_has_no_discount_line():
    settings = Settings.from_config({"discount_mode": "reduced_unit_price"})
    body = _body(map_record(load("shopify_order"), "orders", settings), "sales_receipts")
    assert [x["DetailType"] for x in body["Line"]] == ["SalesItemLineDetail"] * 3
    assert body["Line"][0]["Amount"] == "80.00"
    assert body["Line"][0]["SalesItemLineDetail"]["UnitPrice"] == "40.00"


def test_refund_without_money_back_is_a_credit_memo_applied_to_the_invoice(default_settings):
    refund = load("shopify_refund")
    refund["transactions"] = []
    [memo] = map_record(refund, "refunds", default_settings)
    assert memo.stream == "credit_memos"
    assert memo.record["links"]["applies_to"] == (
        "shopify:kc-demo.myshopify.com:5301234567890#invoice"
    )
    assert "DepositToAccountRef" not in memo.record["body"]


def test_refund_worth_nothing_emits_nothing(default_settings):
    refund = load("woocommerce_refund")
    refund["adjustments"] = []
    refund["transactions"] = []
    for key in ("adjustments", "total"):
        refund["totals"][key]["amount"] = "0.00"
    result = map_record_result(refund, "refunds", default_settings)
    assert (result.records, result.skipped) == ((), "refund worth nothing")


def test_refund_returning_more_than_its_value_is_a_dead_letter(default_settings):
    refund = load("shopify_refund")
    refund["transactions"][0]["amount"]["amount"] = "50.00"
    [dead] = map_record(refund, "refunds", default_settings)
    assert dead.record["error_code"] == "MAP-REFUND-EXCEEDS-PAID"
    assert dead.record["external_id"] == (
        "shopify:kc-demo.myshopify.com:5301234567890#refund:920000000001"
    )


def _refunded_goods_item(refund, settings):
    [receipt] = map_record(refund, "refunds", settings)
    goods = receipt.record["body"]["Line"][0]["SalesItemLineDetail"]["ItemRef"]
    return goods["by"], goods["value"]


@pytest.mark.parametrize(
    ("mode", "restock_type", "expected"),
    [
        ("original_when_restocked", "return", ("sku", "TEE-BLK-M")),
        ("original_when_restocked", "cancel", ("sku", "TEE-BLK-M")),
        ("original_when_restocked", "no_restock", ("name", "Refunds")),
        ("original_when_restocked", None, ("name", "Refunds")),
        ("original", "no_restock", ("sku", "TEE-BLK-M")),
        ("original", None, ("sku", "TEE-BLK-M")),
        ("refund_item", "return", ("name", "Refunds")),
    ],
)
def test_refunded_goods_credit_their_own_item_as_refund_goods_item_says(
    mode, restock_type, expected
):
    refund = load("shopify_refund")
    refund["line_items"][0]["restock_type"] = restock_type
    settings = Settings.from_config({"refund_goods_item": mode})
    assert _refunded_goods_item(refund, settings) == expected


def test_a_refunded_line_without_sku_or_title_credits_the_refund_item():
    refund = load("shopify_refund")
    refund["line_items"][0]["sku"] = None
    refund["line_items"][0]["title"] = ""
    settings = Settings.from_config({"refund_goods_item": "original"})
    assert _refunded_goods_item(refund, settings) == ("name", "Refunds")


def test_a_refunded_line_with_only_a_title_is_found_by_name():
    refund = load("shopify_refund")
    refund["line_items"][0]["sku"] = None
    assert _refunded_goods_item(refund, Settings.from_config({})) == ("name", "Logo Tee")
