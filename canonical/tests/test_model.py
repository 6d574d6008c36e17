from decimal import Decimal

from kconnector_canonical import Money, Order, Refund, singer_schema
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
    for stream in ("orders", "refunds"):
        text = repr(singer_schema(stream))
        assert "$ref" not in text
        assert "$defs" not in text
    money = singer_schema("orders")["properties"]["totals"]["properties"]["total"]
    assert money["properties"]["amount"]["type"] == "string"
