"""Gateway fee meta: what the Stripe and PayPal Payments plugins write on orders, to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kconnector_sandbox.woocommerce.data_generator import generate_store
from kconnector_sandbox.woocommerce.gateway_fees import (
    FEE_SCHEDULES,
    PAYPAL,
    PAYPAL_FEES_KEY,
    PAYPAL_REFUND_FEES_KEY,
    STRIPE,
    STRIPE_CURRENCY_KEY,
    STRIPE_FEE_KEY,
    STRIPE_NET_KEY,
)
from kconnector_sandbox.woocommerce.order_documents import refunded_amount
from kconnector_sandbox.woocommerce.store_profiles import profile_by_key


def meta(order: dict[str, Any], key: str) -> Any:
    values = [row["value"] for row in order["meta_data"] if row["key"] == key]
    assert len(values) <= 1, f"{key} written twice"
    return values[0] if values else None


def test_fee_schedules_round_half_up_to_the_cent() -> None:
    # 2.9 % of 10.00 + 0.30 = 0.59; 3.49 % of 10.00 + 0.49 = 0.839 -> 0.84
    assert FEE_SCHEDULES[STRIPE].charge_fee(Decimal("10.00")) == Decimal("0.59")
    assert FEE_SCHEDULES[PAYPAL].charge_fee(Decimal("10.00")) == Decimal("0.84")
    # 2.9 % of 5.00 + 0.30 = 0.445 -> 0.45 (half up, not banker's 0.44)
    assert FEE_SCHEDULES[STRIPE].charge_fee(Decimal("5.00")) == Decimal("0.45")


def test_seeded_store_mixes_gateways_and_writes_their_fee_meta() -> None:
    data = generate_store(3, 80, profile_by_key("us"))
    methods = {order["payment_method"] for order in data.orders.values()}
    assert {STRIPE, PAYPAL, "cod"} <= methods
    checked = 0
    for order in data.orders.values():
        paid = bool(order["transaction_id"])
        total = Decimal(order["total"])
        refunds = [r for r in data.refunds.get(order["id"], []) if r["refunded_payment"]]
        refunded = sum((Decimal(r["amount"]) for r in refunds), Decimal(0))
        if order["payment_method"] == STRIPE and paid:
            fee = Decimal(meta(order, STRIPE_FEE_KEY))
            assert fee == FEE_SCHEDULES[STRIPE].charge_fee(total)  # Stripe keeps it on refunds
            assert Decimal(meta(order, STRIPE_NET_KEY)) == total - fee - refunded
            assert meta(order, STRIPE_CURRENCY_KEY) == "USD"
            checked += 1
        elif order["payment_method"] == PAYPAL and paid:
            breakdown = meta(order, PAYPAL_FEES_KEY)
            fee = FEE_SCHEDULES[PAYPAL].charge_fee(total)
            assert breakdown == {
                "gross_amount": {"currency_code": "USD", "value": order["total"]},
                "paypal_fee": {"currency_code": "USD", "value": f"{fee:.2f}"},
                "net_amount": {"currency_code": "USD", "value": f"{total - fee:.2f}"},
            }
            refund_breakdown = meta(order, PAYPAL_REFUND_FEES_KEY)
            if refunds:
                gross = Decimal(refund_breakdown["gross_amount"]["value"])
                returned = Decimal(refund_breakdown["paypal_fee"]["value"])
                assert gross == refunded == refunded_amount(order)
                assert Decimal(refund_breakdown["net_amount"]["value"]) == gross - returned
                assert 0 < returned < fee
            else:
                assert refund_breakdown is None
            checked += 1
        else:
            assert meta(order, STRIPE_FEE_KEY) is None
            assert meta(order, PAYPAL_FEES_KEY) is None
    assert checked > 30  # most paid orders of the 80 go through Stripe or PayPal
