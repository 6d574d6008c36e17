"""A payout's QuickBooks Deposit: lines, accounts, totals, statuses and the residual."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from map_quickbooks.contract import document_schema
from map_quickbooks.mapping import map_record_result
from map_quickbooks.rules import Settings

STORE = "shopify:kc-test.myshopify.com"


def _orders(builder, specs):
    """Orders mapped first (as a tap emits them), their facts remembered for the payout."""
    seen = {}
    for spec in specs:
        order, _ = builder.build_order(spec)
        result = map_record_result(order, "orders", Settings.from_config({}), seen)
        seen[result.order_facts[0]] = result.order_facts[1]
    return seen


def _deposit(record, settings, seen=None):
    result = map_record_result(record, "payouts", settings, seen)
    assert [r.stream for r in result.records] == ["deposits"], result.records
    return result.records[0].record


def _lines_total(body):
    return sum((Decimal(line["Amount"]) for line in body["Line"]), Decimal(0))


def test_paid_payout_clears_receipts_and_payments_books_refunds_and_fees(builder):
    seen = _orders(
        builder,
        [
            builder.OrderSpec(source_id="1001"),
            builder.OrderSpec(source_id="1002", lines=[builder.LineSpec(2, 2500)]),
            builder.OrderSpec(source_id="1003", payment="partial"),  # Invoice + Payments
        ],
    )
    payout = builder.build_payout(
        [
            builder.PayoutItem("charge", "10.85", "0.61", "1001", "T1"),
            builder.PayoutItem("charge", "54.25", "1.87", "1002", "T1"),
            builder.PayoutItem("charge", "3.62", "0.40", "1003", "T1"),
            builder.PayoutItem("refund", "-5.00", "0", "1002", "R1", refund_source_id="9001"),
        ]
    )
    record = _deposit(payout, Settings.from_config({}), seen)
    body = record["body"]
    links = [line["LinkedTxn"][0] for line in body["Line"] if "LinkedTxn" in line]
    # The body names each order's receipt with the transaction's Payment as its fallback,
    # whether or not the order came through the same run (the target links whichever it holds)
    assert [(link["TxnId"]["value"], link["TxnId"]["fallback"]["value"]) for link in links] == [
        (f"{STORE}:1001#sales_receipt", f"{STORE}:1001#payment:T1"),
        (f"{STORE}:1002#sales_receipt", f"{STORE}:1002#payment:T1"),
        (f"{STORE}:1003#sales_receipt", f"{STORE}:1003#payment:T1"),
    ]
    # ... and its links name the exact documents of orders of the same run: written first.
    assert record["links"] == {
        "payout": f"{STORE}:7001",
        "clears:1": f"{STORE}:1001#sales_receipt",
        "clears:2": f"{STORE}:1002#sales_receipt",
        "clears:3": f"{STORE}:1003#payment:T1",
    }
    refund, fees = body["Line"][3], body["Line"][4]
    assert refund["Amount"] == "-5.00"
    assert refund["DepositLineDetail"]["AccountRef"]["value"] == "Undeposited Funds"
    assert "refund shopify:kc-test.myshopify.com:9001" in refund["Description"]
    assert fees["Amount"] == "-2.88"
    assert fees["DepositLineDetail"]["AccountRef"]["value"] == "Bank Charges & Fees"
    assert fees["DepositLineDetail"]["AccountRef"]["on_missing"] == "create"
    assert body["TotalAmt"] == payout["net"]["amount"] == "60.84"
    assert _lines_total(body) == Decimal("60.84")
    assert body["DepositToAccountRef"]["value"] == "Checking"
    assert body["TxnDate"] == "2026-03-05"  # issued 15:15 UTC: still the 5th in New York
    assert body["PrivateNote"] == "Shopify Payments payout 7001"
    assert record["external_id"] == f"{STORE}:7001#deposit"
    assert record["expected"] == {"currency": "USD", "total": "60.84", "tax": "0.00"}
    assert {"Line", "TotalAmt", "DepositToAccountRef"} <= set(record["critical_fields"])


def test_deposit_source_block_carries_the_payout_figures_and_fits_the_contract(builder):
    payout = builder.build_payout(
        [
            builder.PayoutItem("charge", "100.00", "3.20", "1001"),
            builder.PayoutItem("chargeback", "-20.00", "15.00", "1002"),
            builder.PayoutItem("adjustment", "1.50", "0", description="Fee credit"),
        ]
    )
    record = _deposit(payout, Settings.from_config({}))
    assert record["source"] == {
        "kind": "payout",
        "canonical_id": f"{STORE}:7001",
        "payout_source_id": "7001",
        "platform": "shopify",
        "store": "kc-test.myshopify.com",
        "gateway": "shopify_payments",
        "basis": "processor",
        "status": "paid",
        "timestamp": "2026-03-05T15:15:04Z",
        "store_timezone": "America/New_York",
        "local_date": "2026-03-05",
        "currency": "USD",
        "gross": "81.50",
        "charges": "100.00",
        "refunds": "-20.00",
        "adjustments": "1.50",
        "fees": "18.20",
        "net": "63.30",
    }
    Draft202012Validator(document_schema()).validate(record)


def test_order_of_an_earlier_run_is_linked_by_receipt_with_its_payment_as_fallback(builder):
    payout = builder.build_payout([builder.PayoutItem("charge", "10.00", "0.50", "1001", "T9")])
    link = _deposit(payout, Settings.from_config({}))["body"]["Line"][0]["LinkedTxn"][0]
    assert link["TxnId"] == {
        "by": "external_id",
        "value": f"{STORE}:1001#sales_receipt",
        "entity": "SalesReceipt",
        "fallback": {
            "by": "external_id",
            "value": f"{STORE}:1001#payment:T9",
            "entity": "Payment",
        },
    }
    assert link["TxnType"] == "SalesReceipt"
    assert link["TxnLineId"] == "0"


def test_reserves_adjustments_and_failed_payout_returns_go_to_their_accounts(builder):
    payout = builder.build_payout(
        [
            builder.PayoutItem("charge", "50.00", "1.75", "1001"),
            builder.PayoutItem("reserve", "-10.00", description="Rolling reserve"),
            builder.PayoutItem("adjustment", "-2.00", description="Correction"),
            builder.PayoutItem("payout_failure", "30.00"),
            builder.PayoutItem("dispute_reversal", "20.00", "-15.00", "1002"),
        ]
    )
    settings = Settings.from_config(
        {"payout_reserve_account": "Shopify Reserve", "payout_adjustment_account": "Misc"}
    )
    lines = _deposit(payout, settings)["body"]["Line"]
    accounts = [
        (line["Amount"], line["DepositLineDetail"]["AccountRef"]["value"]) for line in lines[1:]
    ]
    assert accounts == [
        ("-10.00", "Shopify Reserve"),
        ("-2.00", "Misc"),
        ("30.00", "Undeposited Funds"),
        ("20.00", "Undeposited Funds"),
        ("13.25", "Bank Charges & Fees"),  # fees 1.75 - 15.00 returned: a credit
    ]
    assert lines[1]["Description"] == "Reserve BT2: Rolling reserve"
    assert lines[1]["DepositLineDetail"]["AccountRef"]["create"]["AccountType"] == (
        "Other Current Asset"
    )


def test_charge_without_an_order_is_a_residual_dead_letter(builder):
    payout = builder.build_payout(
        [
            builder.PayoutItem("charge", "40.00", "1.46", "1001"),
            builder.PayoutItem("charge", "12.34", "0.66"),  # a charge the store links to no order
        ]
    )
    result = map_record_result(payout, "payouts", Settings.from_config({}))
    [dead] = result.records
    assert dead.stream == "dead_letters"
    assert dead.record["error_code"] == "MAP-DEPOSIT-RESIDUAL"
    assert dead.record["external_id"] == f"{STORE}:7001#deposit"
    assert "a residual of 12.34 USD" in dead.record["message"]
    assert "BT2" in dead.record["message"]
    assert "Sync the orders" in dead.record["guidance"]


def test_charge_of_an_order_that_recorded_no_money_is_a_residual(builder):
    # The order was seen but holds no such transaction (a skipped or voided order's charge).
    seen = _orders(builder, [builder.OrderSpec(source_id="1001", payment="pending")])
    payout = builder.build_payout([builder.PayoutItem("charge", "10.85", "0.61", "1001", "T1")])
    [dead] = map_record_result(payout, "payouts", Settings.from_config({}), seen).records
    assert dead.record["error_code"] == "MAP-DEPOSIT-RESIDUAL"


def test_scheduled_payout_waits_and_failed_or_canceled_payouts_delete_their_deposit(builder):
    items = [builder.PayoutItem("charge", "10.00", "0.50", "1001", "T1")]
    scheduled = map_record_result(
        builder.build_payout(items, status="scheduled"), "payouts", Settings.from_config({})
    )
    assert scheduled.records == ()
    assert "booked once the payout is paid" in scheduled.skipped
    for status in ("failed", "canceled"):
        record = _deposit(builder.build_payout(items, status=status), Settings.from_config({}))
        assert record["operation"] == "delete"
    in_transit = _deposit(
        builder.build_payout(items, status="in_transit"), Settings.from_config({})
    )
    assert in_transit["operation"] == "upsert"


def test_failed_payout_with_an_unlinkable_charge_still_deletes(builder):
    items = [builder.PayoutItem("charge", "10.00", "0.50")]
    record = _deposit(builder.build_payout(items, status="failed"), Settings.from_config({}))
    assert record["operation"] == "delete"


def test_bank_account_per_gateway_and_clearing_account_lines(builder):
    settings = Settings.from_config(
        {
            "payout_bank_account": {"stripe": "Stripe Bank"},
            "deposit_account_map": {"stripe": "Stripe Clearing"},
        }
    )
    payout = builder.build_payout(
        [builder.PayoutItem("charge", "25.00", "1.03", "1001", "ch_1")],
        gateway="stripe",
        basis="estimate",
        source_id="stripe-2026-03-05",
    )
    body = _deposit(payout, settings)["body"]
    assert body["DepositToAccountRef"]["value"] == "Stripe Bank"
    # Money recorded straight into a clearing account cannot be linked: it is moved from there.
    assert body["Line"][0]["DepositLineDetail"]["AccountRef"]["value"] == "Stripe Clearing"
    assert "estimate" in body["PrivateNote"]
    shopify = builder.build_payout([builder.PayoutItem("charge", "5.00", "0.20", "1001")])
    assert _deposit(shopify, settings)["body"]["DepositToAccountRef"]["value"] == "Checking"
    single = Settings.from_config({"payout_bank_account": "Main Bank"})
    assert _deposit(shopify, single)["body"]["DepositToAccountRef"]["value"] == "Main Bank"


def test_payout_outside_the_home_currency_without_multicurrency_is_a_dead_letter(builder):
    payout = builder.build_payout(
        [builder.PayoutItem("charge", "10.00", "0.5", "1001")], currency="EUR"
    )
    settings = Settings.from_config({"home_currency": "USD"})
    [dead] = map_record_result(payout, "payouts", settings).records
    assert dead.record["error_code"] == "MAP-CURRENCY-NOT-HOME"
    multi = Settings.from_config({"home_currency": "USD", "multicurrency": True})
    body = _deposit(payout, multi)["body"]
    assert body["CurrencyRef"] == {"by": "id", "value": "EUR", "entity": "Currency"}


@pytest.mark.parametrize("bank", [[], "", 3])
def test_payout_bank_account_must_be_a_name_or_a_map(bank):
    with pytest.raises(Exception, match="payout_bank_account"):
        Settings.from_config({"payout_bank_account": bank})


_TYPES = st.sampled_from(
    [
        "charge",
        "refund",
        "chargeback",
        "adjustment",
        "reserve",
        "dispute_reversal",
        "payout_failure",
        "other",
    ]
)
_CENTS = st.integers(min_value=-50_000, max_value=50_000)


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    items=st.lists(st.tuples(_TYPES, _CENTS, _CENTS), min_size=1, max_size=12),
    currency=st.sampled_from(["USD", "JPY", "EUR"]),
)
def test_any_booked_payout_deposit_lines_sum_to_its_net(builder, items, currency):
    unit = Decimal(1).scaleb(-2 if currency != "JPY" else 0)
    specs = [
        builder.PayoutItem(
            kind,
            str(abs(amount) * unit if kind == "charge" else amount * unit),
            str(fee * unit),
            f"{1000 + i}",
            f"T{i}",
        )
        for i, (kind, amount, fee) in enumerate(items)
    ]
    payout = builder.build_payout(specs, currency=currency)
    settings = Settings.from_config({"multicurrency": True, "home_currency": "USD"})
    record = _deposit(payout, settings)
    assert _lines_total(record["body"]) == Decimal(payout["net"]["amount"])
    assert record["body"]["TotalAmt"] == payout["net"]["amount"]


def test_a_payout_mapped_again_without_its_orders_gives_the_same_deposit(builder):
    # A payout is re-read for its status in later runs, without its orders: the same body,
    # so the target writes nothing (its hash is of the body; links only order the writes).
    specs = [
        builder.OrderSpec(source_id="1001"),
        builder.OrderSpec(source_id="1003", payment="partial"),
        builder.OrderSpec(source_id="1004", payment="gift_card_split"),
    ]
    card = builder.build_order(specs[2])[0]["transactions"][1]["amount"]["amount"]
    payout = builder.build_payout(
        [
            builder.PayoutItem("charge", "10.85", "0.61", "1001", "T1"),
            builder.PayoutItem("charge", "3.62", "0.40", "1003", "T1"),
            builder.PayoutItem("charge", card, "0.30", "1004", "T2"),
        ]
    )
    settings = Settings.from_config({})
    first = _deposit(payout, settings, _orders(builder, specs))
    again = _deposit(payout, settings)
    assert first["body"] == again["body"]
    assert again["links"] == {"payout": f"{STORE}:7001"}
    assert first["links"]["clears:3"] == f"{STORE}:1004#payment:T2"


def test_split_tender_order_is_cleared_tender_by_tender(builder):
    # Paid at checkout by a gift card and a card: an Invoice and one Payment per tender, so the
    # payout's card charge clears exactly its own Payment (docs/mapping.md, "Document type").
    spec = builder.OrderSpec(source_id="1001", payment="gift_card_split")
    order, _ = builder.build_order(spec)
    card = order["transactions"][1]
    seen = _orders(builder, [spec])
    payout = builder.build_payout(
        [builder.PayoutItem("charge", card["amount"]["amount"], "0.30", "1001", "T2")]
    )
    record = _deposit(payout, Settings.from_config({}), seen)
    [line, _fees] = record["body"]["Line"]
    assert line["LinkedTxn"][0]["TxnId"]["fallback"]["value"] == f"{STORE}:1001#payment:T2"
    assert record["links"]["clears:1"] == f"{STORE}:1001#payment:T2"
    assert line["Amount"] == card["amount"]["amount"]


def test_charges_clearing_one_receipt_make_one_line_of_their_sum(builder):
    # A receipt is deposited whole: two balance transactions of the one payment of a
    # SalesReceipt in one payout become a single linked line, at the first charge's place.
    seen = _orders(builder, [builder.OrderSpec(source_id="1001")])
    payout = builder.build_payout(
        [
            builder.PayoutItem("charge", "5.00", "0.20", "1001", "T1"),
            builder.PayoutItem("refund", "-1.00", "0", "1001", "R1", refund_source_id="9001"),
            builder.PayoutItem("charge", "5.85", "0.30", "1001", "T1"),
        ]
    )
    body = _deposit(payout, Settings.from_config({}), seen)["body"]
    linked = [line for line in body["Line"] if "LinkedTxn" in line]
    assert len(linked) == 1
    assert "LinkedTxn" in body["Line"][0]
    assert linked[0]["Amount"] == "10.85"  # the receipt's total
    assert linked[0]["LinkedTxn"][0]["TxnId"]["value"] == f"{STORE}:1001#sales_receipt"
    assert _lines_total(body) == Decimal(body["TotalAmt"])
