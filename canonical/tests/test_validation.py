import copy

import pytest

from kconnector_canonical import InvalidRecordError, ensure_valid, validate, validation
from kconnector_canonical.examples import EXAMPLES, load


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_records_are_valid(name):
    assert validate(load(name)) == []


def fields(record, stream=None):
    return {problem.field for problem in validate(record, stream)}


def test_missing_id_is_named():
    order = load("shopify_order")
    del order["id"]
    assert fields(order) == {"id"}


def test_float_money_is_rejected_with_the_decimal_string_hint():
    order = load("woocommerce_order")
    order["line_items"][0]["unit_price"]["amount"] = 24.0
    problems = validate(order)
    assert [p.field for p in problems] == ["line_items[0].unit_price.amount"]
    assert "decimal string" in problems[0].message


def test_unknown_financial_status_is_rejected():
    order = load("shopify_order")
    order["financial_status"] = "shipped"
    problems = validate(order)
    assert [p.field for p in problems] == ["financial_status"]
    assert "'shipped'" in problems[0].message


def test_negative_quantity_is_rejected():
    order = load("shopify_order")
    order["line_items"][1]["quantity"] = -1
    assert fields(order) == {"line_items[1].quantity"}


@pytest.mark.parametrize(
    "stamp",
    ["2026-03-02 15:15:04", "2026-03-02T15:15:04+01:00", "2026-03-02T15:15:04", "yesterday"],
)
def test_timestamp_not_in_utc_rfc3339_is_rejected(stamp):
    order = load("shopify_order")
    order["updated_at"] = stamp
    problems = validate(order)
    assert [p.field for p in problems] == ["updated_at"]


def test_impossible_calendar_date_is_rejected():
    order = load("shopify_order")
    order["created_at"] = "2026-02-30T10:00:00Z"
    problems = validate(order)
    assert [p.field for p in problems] == ["created_at"]
    assert "real date" in problems[0].message


@pytest.mark.parametrize("code", ["usd", "US", "DOLLARS"])
def test_malformed_currency_code_is_rejected(code):
    order = load("shopify_order")
    order["currency"] = code
    assert "currency" in fields(order)


def test_unknown_iso_currency_code_is_rejected():
    order = load("shopify_order")
    order["currency"] = "XQZ"
    problems = validate(order)
    assert [p.field for p in problems] == ["currency"]
    assert "ISO 4217" in problems[0].message


def test_amount_in_another_currency_than_the_order_is_rejected():
    order = load("shopify_order")
    order["shipping_lines"][0]["price"]["currency"] = "CAD"
    assert fields(order) == {"shipping_lines[0].price.currency"}


def test_identity_must_be_platform_store_source_id():
    order = load("shopify_order")
    order["id"] = "shopify:kc-demo.myshopify.com:999"
    assert fields(order) == {"id"}


def test_line_total_that_does_not_reconcile_is_rejected():
    order = load("shopify_order")
    order["line_items"][0]["total"]["amount"] = "80.01"
    assert "line_items[0].total.amount" in fields(order)


def test_order_total_that_does_not_reconcile_is_rejected():
    order = load("woocommerce_order")
    order["totals"]["total"]["amount"] = "55.56"
    problems = validate(order)
    assert [p.field for p in problems] == ["totals.total.amount"]
    assert "subtotal + shipping + fees" in problems[0].message


def test_tax_exclusive_total_adds_tax_and_inclusive_does_not():
    order = load("woocommerce_order")
    order["prices_include_tax"] = False
    assert "totals.total.amount" in fields(order)


def test_discount_allocation_must_point_at_a_discount():
    order = load("shopify_order")
    order["line_items"][0]["discount_allocations"][0]["discount_index"] = 3
    assert fields(order) == {"line_items[0].discount_allocations[0].discount_index"}


def test_unknown_field_is_rejected_naming_it():
    order = load("shopify_order")
    order["totalPrice"] = "1.00"
    problems = validate(order)
    assert len(problems) == 1
    assert "totalPrice" in problems[0].message


def test_guest_checkout_is_valid():
    order = load("shopify_order")
    order["customer"].update(source_id=None, is_guest=True, email=None)
    assert validate(order) == []


def test_refund_total_must_reconcile():
    refund = load("shopify_refund")
    refund["totals"]["tax"]["amount"] = "3.41"
    assert {"totals.tax.amount", "totals.total.amount"} <= fields(refund)


def test_refund_order_id_must_match_its_order_source_id():
    refund = load("woocommerce_refund")
    refund["order_id"] = "woocommerce:shop.example.de:1"
    assert fields(refund) == {"order_id"}


def test_validate_reports_every_problem_not_just_the_first():
    order = load("shopify_order")
    del order["id"]
    order["currency"] = "usd"
    order["line_items"][0]["quantity"] = -2
    assert fields(order) >= {"id", "currency", "line_items[0].quantity"}


def test_ensure_valid_raises_with_all_problems():
    order = load("shopify_order")
    bad = copy.deepcopy(order)
    bad["status"] = "lost"
    with pytest.raises(InvalidRecordError) as info:
        ensure_valid(bad)
    assert [p.field for p in info.value.problems] == ["status"]
    ensure_valid(order)


def test_non_object_record_is_a_problem_not_a_crash():
    assert [p.field for p in validate(["not", "a", "record"])] == ["(record)"]


def test_transaction_fee_may_be_in_the_processors_settlement_currency():
    # Stripe charges the fee in the account's currency: an EUR order, a USD fee and net.
    order = load("woocommerce_order")
    order["transactions"][0]["fee"] = {"amount": "1.12", "currency": "USD"}
    order["transactions"][0]["net"] = {"amount": "50.61", "currency": "USD"}
    assert validate(order) == []


def test_transaction_fee_needs_an_iso_code_and_its_decimals():
    order = load("woocommerce_order")
    order["transactions"][0]["fee"] = {"amount": "1.123", "currency": "USD"}
    order["transactions"][0]["net"] = {"amount": "50", "currency": "XQZ"}
    problems = {p.field: p.message for p in validate(order)}
    assert set(problems) == {"transactions[0].fee.amount", "transactions[0].net.currency"}
    assert "decimals" in problems["transactions[0].fee.amount"]
    assert "ISO 4217" in problems["transactions[0].net.currency"]


def test_transaction_net_in_the_records_currency_must_be_amount_minus_fee():
    order = load("shopify_order")
    order["transactions"][0]["net"]["amount"] = "110.33"
    problems = validate(order)
    assert [p.field for p in problems] == ["transactions[0].net.amount"]
    assert "amount - fee" in problems[0].message


def test_transaction_fee_and_net_may_be_absent_or_null():
    order = load("shopify_order")
    del order["transactions"][0]["fee"]
    order["transactions"][0]["net"] = None
    assert validate(order) == []


def test_payout_stream_is_detected_from_the_record():
    payout = load("shopify_payout")
    assert validate(payout) == validate(payout, "payouts") == []


def test_payout_gross_must_be_the_sum_of_its_transactions():
    payout = load("shopify_payout")
    payout["transactions"][1]["amount"]["amount"] = "-43.41"
    payout["transactions"][1]["net"]["amount"] = "-43.41"
    problems = validate(payout, "payouts")
    assert [p.field for p in problems] == ["totals.gross.amount"]
    assert "sum of transactions' amount" in problems[0].message


def test_payout_fees_must_be_the_sum_of_its_transaction_fees():
    payout = load("shopify_payout")
    payout["totals"]["fees"]["amount"] = "3.50"
    assert fields(payout, "payouts") == {"totals.fees.amount", "totals.net.amount", "net.amount"}


def test_payout_net_must_be_gross_minus_fees():
    payout = load("shopify_payout")
    payout["net"]["amount"] = "70.52"
    problems = validate(payout, "payouts")
    assert [p.field for p in problems] == ["net.amount"]
    assert "gross - totals.fees" in problems[0].message


def test_payout_transaction_net_must_be_amount_minus_fee():
    payout = load("shopify_payout")
    payout["transactions"][0]["net"]["amount"] = "113.92"
    assert fields(payout, "payouts") == {"transactions[0].net.amount"}


def test_payout_amounts_are_all_in_the_payout_currency():
    # Unlike an order transaction's fee, a payout's amounts are the bank's: one currency.
    payout = load("shopify_payout")
    payout["transactions"][0]["fee"]["currency"] = "EUR"
    assert fields(payout, "payouts") == {"transactions[0].fee.currency"}


def test_payout_amounts_have_at_most_the_currency_decimals():
    payout = load("shopify_payout")
    payout["currency"] = "JPY"
    for money in _money_nodes(payout):
        money["currency"] = "JPY"
    problems = fields(payout, "payouts")
    assert "net.amount" in problems
    assert "transactions[0].fee.amount" in problems


def _money_nodes(node):
    if isinstance(node, dict):
        if set(node) == {"amount", "currency"}:
            yield node
            return
        for child in node.values():
            yield from _money_nodes(child)
    elif isinstance(node, list):
        for child in node:
            yield from _money_nodes(child)


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "sent"), ("basis", "guess"), ("gateway", ""), ("issued_at", "2026-03-06")],
)
def test_payout_vocabulary_and_shape_are_checked_naming_the_field(field, value):
    payout = load("shopify_payout")
    payout[field] = value
    assert fields(payout, "payouts") == {field}


def test_payout_transaction_type_is_checked():
    payout = load("shopify_payout")
    payout["transactions"][0]["type"] = "sale"
    assert fields(payout, "payouts") == {"transactions[0].type"}


def test_failed_payout_is_still_a_valid_record():
    payout = load("shopify_payout")
    payout["status"] = "failed"
    assert validate(payout, "payouts") == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_compiled_schema_check_agrees_with_jsonschema_on_every_mutation(name, mutations):
    # `validate` trusts the compiled check's "valid" and asks jsonschema only about the others:
    # the two must agree on every record, valid or not, or a bad record would pass unnamed.
    record = load(name)
    stream = validation.detect_stream(record)
    checked = 0
    for path, mutated in mutations(record):
        expected = not any(True for _ in validation._validator(stream).iter_errors(mutated))
        assert validation._fast_validator(stream).is_valid(mutated) is expected, path
        checked += 1
    assert checked > 50
