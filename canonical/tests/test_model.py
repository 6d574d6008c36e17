from decimal import Decimal

from kconnector_canonical import STREAMS, Money, Order, Payout, Refund, singer_schema, validate
from kconnector_canonical.examples import load


def test_order_view_has_decimal_money_and_aware_timestamps():
    order = Order.from_record(load("shopify_order"))
    assert order.totals.total == Money(Decimal("113.92"), "USD")
    assert order.line_items[0].tax_lines[1].rate == Decimal("0.045")
    assert order.created_at.utcoffset() is not None
    assert order.customer.billing_address is not None
    assert order.customer.billing_address.city == "New York"


def test_refund_view_reads_adjustments():
    refund = Refund.from_record(load("woocommerce_refund"))
    assert refund.adjustments[0].kind == "amount_only"
    assert refund.totals.total.amount == Decimal("10.00")


def test_singer_schema_is_self_contained():
    for stream in STREAMS:
        text = repr(singer_schema(stream))
        assert "$ref" not in text
        assert "$defs" not in text
    money = singer_schema("orders")["properties"]["totals"]["properties"]["total"]
    assert money["properties"]["amount"]["type"] == "string"


def _untyped(node, path="$"):
    if isinstance(node, dict):
        declares = "properties" in node or "enum" in node
        if declares and "type" not in node and "anyOf" not in node:
            yield path
        for key, child in node.items():
            yield from _untyped(child, f"{path}.{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _untyped(child, f"{path}[{index}]")


def test_every_singer_schema_node_declares_its_type():
    # The SDK drops `const` and its tooling needs a `type` on every property.
    for stream in STREAMS:
        assert list(_untyped(singer_schema(stream))) == []
        assert "const" not in repr(singer_schema(stream))


def test_tax_line_without_a_rate_is_valid_and_reads_as_none():
    record = load("shopify_order")
    record["tax_lines"][0]["rate"] = None
    assert validate(record) == []
    assert Order.from_record(record).tax_lines[0].rate is None


def test_transaction_fee_and_net_read_as_money_or_none():
    order = Order.from_record(load("shopify_order"))
    sale, refund = order.transactions
    assert sale.fee == Money(Decimal("3.60"), "USD")
    assert sale.net == Money(Decimal("110.32"), "USD")
    assert refund.fee is None
    assert refund.net is None


def test_payout_view_reads_its_balance_transactions():
    payout = Payout.from_record(load("shopify_payout"))
    assert payout.settled
    assert payout.net == Money(Decimal("66.92"), "USD")
    assert [t.type for t in payout.transactions] == ["charge", "refund"]
    assert payout.transactions[1].amount.amount == Decimal("-43.40")
    assert payout.transactions[0].order_transaction_id == "6800000001"
    assert payout.issued_at.utcoffset() is not None
