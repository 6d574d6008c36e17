"""Which document an order becomes, and that it stays so as its transactions grow."""

import copy
from decimal import Decimal

from kconnector_canonical import Order
from map_quickbooks.document_type import decide
from map_quickbooks.mapping import map_record_result
from map_quickbooks.rules import Settings


def _order(builder, **changes):
    spec = builder.OrderSpec(**changes)
    return builder.build_order(spec)[0]


def _decide(record, config=None):
    return decide(Order.from_record(record), Settings.from_config(config or {}))


def test_order_paid_at_checkout_is_a_sales_receipt(builder):
    decision = _decide(_order(builder, payment="checkout"))
    assert (decision.kind, decision.void) == ("sales_receipt", False)


def test_pending_order_is_an_invoice(builder):
    assert _decide(_order(builder, payment="pending")).kind == "invoice"


def test_partially_paid_at_checkout_is_an_invoice(builder):
    assert _decide(_order(builder, payment="partial")).kind == "invoice"


def test_pending_order_stays_an_invoice_when_its_capture_arrives_later(builder):
    pending = _order(builder, payment="pending")
    paid_later = _order(builder, payment="later")
    assert _decide(pending).kind == _decide(paid_later).kind == "invoice"


def test_sales_receipt_stays_one_after_a_refund_is_added(builder):
    spec = builder.OrderSpec(refunds=[{"units": [1]}])
    refunded, _ = builder.build_order(spec)
    assert refunded["financial_status"] == "refunded"
    assert _decide(refunded).kind == "sales_receipt"


def test_payment_just_outside_the_window_makes_an_invoice(builder):
    record = _order(builder, payment="checkout")
    record["transactions"][0]["processed_at"] = "2026-03-02T16:15:05Z"  # created 15:15:04
    assert _decide(record).kind == "invoice"
    assert _decide(record, {"paid_at_checkout_window_minutes": 61}).kind == "sales_receipt"


def test_cancelled_unpaid_order_voids_its_invoice(builder):
    decision = _decide(_order(builder, payment="pending", status="cancelled"))
    assert (decision.kind, decision.void) == ("invoice", True)


def test_rule_by_gateway_overrides_the_document_type(builder):
    record = _order(builder, payment="checkout")
    config = {"document_type_rules": [{"when": "gateway == 'shopify_payments'", "type": "invoice"}]}
    assert _decide(record, config).kind == "invoice"


def test_rule_by_tag_and_channel_overrides_the_document_type(builder):
    record = _order(builder, payment="pending")
    record = copy.deepcopy(record)
    record["tags"] = ["cash-sale"]
    record["source_name"] = "pos"
    rule = {"when": "'cash-sale' in tags and channel == 'pos'", "type": "sales_receipt"}
    assert _decide(record, {"document_type_rules": [rule]}).kind == "sales_receipt"
    record["source_name"] = "web"
    assert _decide(record, {"document_type_rules": [rule]}).kind == "invoice"


def test_zero_total_order_is_a_sales_receipt(builder):
    record = _order(
        builder,
        lines=[builder.LineSpec(1, 1000, discount="fixed", discount_minor=1000)],
        tax_set="none",
        payment="pending",
    )
    assert record["totals"]["total"]["amount"] == "0.00"
    assert _decide(record).kind == "sales_receipt"


def _two_captures(builder):
    """An order paid at checkout by two captures on one gateway (a split authorization)."""
    record = copy.deepcopy(_order(builder, payment="checkout"))
    first = record["transactions"][0]
    total = Decimal(first["amount"]["amount"])
    part = (total / 2).quantize(Decimal("0.01"))
    second = copy.deepcopy(first)
    first.update(kind="capture", amount={**first["amount"], "amount": str(part)})
    second.update(
        transaction_id="T2", kind="capture", amount={**first["amount"], "amount": str(total - part)}
    )
    record["transactions"].append(second)
    return record


def test_split_tender_at_checkout_is_an_invoice_with_one_payment_per_tender(builder):
    record = _order(builder, payment="gift_card_split")
    decision = _decide(record)
    assert (decision.kind, decision.reason) == ("invoice", "paid at checkout by 2 payments")
    documents = map_record_result(record, "orders", Settings.from_config({})).records
    bodies = [(r.record["document_type"], r.record["external_id"]) for r in documents]
    order_id = record["id"]
    assert bodies == [
        ("Customer", documents[0].record["external_id"]),
        ("Invoice", f"{order_id}#invoice"),
        ("Payment", f"{order_id}#payment:T1"),
        ("Payment", f"{order_id}#payment:T2"),
    ]
    amounts = [Decimal(r.record["body"]["TotalAmt"]) for r in documents[2:]]
    assert amounts == [Decimal(t["amount"]["amount"]) for t in record["transactions"]]
    assert sum(amounts) == Decimal(record["totals"]["total"]["amount"])
    methods = [r.record["body"]["PaymentMethodRef"]["value"] for r in documents[2:]]
    assert methods == ["Gift Card", "Shopify Payments"]


def test_two_captures_at_checkout_make_an_invoice(builder):
    assert _decide(_two_captures(builder)).kind == "invoice"


def test_single_tender_at_checkout_stays_a_sales_receipt(builder):
    decision = _decide(_order(builder, payment="gift_card"))
    assert (decision.kind, decision.reason) == ("sales_receipt", "paid at checkout")


def test_rule_can_keep_split_tenders_on_a_sales_receipt(builder):
    record = _order(builder, payment="gift_card_split")
    rule = {"when": "paid_at_checkout and checkout_payments > 1", "type": "sales_receipt"}
    assert _decide(record, {"document_type_rules": [rule]}).kind == "sales_receipt"
    assert _decide(_order(builder, payment="partial"), {"document_type_rules": [rule]}).kind == (
        "invoice"
    )
