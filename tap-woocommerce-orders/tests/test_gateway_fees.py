"""Processor fees read from the Stripe and PayPal Payments plugins' order meta."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tap_woocommerce_orders.gateway_fees import (
    FeeAndNet,
    payment_fee,
    refund_fee,
    refund_fee_facts,
)
from tap_woocommerce_orders.wc_values import SourceValueError

D = Decimal


def order(method: str, meta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rows = [{"id": i, "key": k, "value": v} for i, (k, v) in enumerate(meta.items())]
    return {"payment_method": method, "currency": "USD", "meta_data": rows, **extra}


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def paypal(gross: str, fee: str, net: str, currency: str = "USD") -> dict[str, Any]:
    return {
        "gross_amount": {"currency_code": currency, "value": gross},
        "paypal_fee": {"currency_code": currency, "value": fee},
        "net_amount": {"currency_code": currency, "value": net},
    }


def test_stripe_fee_and_net_in_the_order_currency() -> None:
    meta = {"_stripe_fee": "3.20", "_stripe_net": "96.80", "_stripe_currency": "USD"}
    assert payment_fee(order("stripe", meta), D("100.00"), "USD") == FeeAndNet(
        usd("3.20"), usd("96.80")
    )


def test_stripe_net_after_a_refund_is_the_charge_net_not_the_meta() -> None:
    # update_fees added the 10.00 refund to _stripe_net; the payment's net is still 96.80.
    meta = {"_stripe_fee": "3.20", "_stripe_net": "86.80", "_stripe_currency": "USD"}
    refunds = [{"id": 7, "total": "-10.00"}]
    fee = payment_fee(order("stripe", meta, refunds=refunds), D("100.00"), "USD")
    assert fee == FeeAndNet(usd("3.20"), usd("96.80"))


def test_stripe_settlement_in_another_currency_keeps_stripes_own_net() -> None:
    meta = {"_stripe_fee": "2.95", "_stripe_net": "88.05", "_stripe_currency": "eur"}
    fee = payment_fee(order("stripe", meta), D("100.00"), "USD")
    assert fee.fee == {"amount": "2.95", "currency": "EUR"}
    assert fee.net == {"amount": "88.05", "currency": "EUR"}
    refunded = order("stripe", meta, refunds=[{"id": 7, "total": "-10.00"}])
    assert payment_fee(refunded, D("100.00"), "USD").net is None  # unknowable, not guessed


def test_legacy_stripe_meta_names_are_read() -> None:
    meta = {"Stripe Fee": "0.59", "Net Revenue From Stripe": "9.41"}
    assert payment_fee(order("stripe", meta), D("10.00"), "USD") == FeeAndNet(
        usd("0.59"), usd("9.41")
    )


def test_paypal_breakdown_and_legacy_fee() -> None:
    meta = {"_ppcp_paypal_fees": paypal("100.00", "3.98", "96.02")}
    assert payment_fee(order("ppcp-gateway", meta), D("100.00"), "USD") == FeeAndNet(
        usd("3.98"), usd("96.02")
    )
    legacy = {"PayPal Transaction Fee": "3.98"}
    assert payment_fee(order("ppcp-gateway", legacy), D("100.00"), "USD") == FeeAndNet(
        usd("3.98"), usd("96.02")
    )


def test_gateways_without_fee_meta_have_unknown_fees() -> None:
    assert payment_fee(order("bacs", {}), D("10.00"), "USD") == FeeAndNet()
    assert payment_fee(order("stripe", {}), D("10.00"), "USD") == FeeAndNet()


def test_a_fee_that_is_not_an_amount_names_the_meta_key() -> None:
    with pytest.raises(SourceValueError, match="meta _stripe_fee"):
        payment_fee(order("stripe", {"_stripe_fee": "n/a"}), D("10.00"), "USD")


def test_stripe_refunds_get_no_fee_back() -> None:
    meta = {"_stripe_fee": "3.20", "_stripe_net": "86.80", "_stripe_currency": "USD"}
    facts = refund_fee_facts(order("stripe", meta), {"7": D("10.00")})
    assert refund_fee(facts, "7", D("10.00"), "USD") == FeeAndNet(usd("0.00"), usd("10.00"))


def test_paypal_returned_fee_is_shared_between_refunds_and_adds_up() -> None:
    meta = {
        "_ppcp_paypal_fees": paypal("100.00", "3.98", "96.02"),
        "_ppcp_paypal_refund_fees": paypal("30.00", "1.05", "28.95"),
    }
    facts = refund_fee_facts(order("ppcp-gateway", meta), {"11": D("10.00"), "9": D("20.00")})
    first = refund_fee(facts, "9", D("20.00"), "USD")
    second = refund_fee(facts, "11", D("10.00"), "USD")
    assert first == FeeAndNet(usd("-0.70"), usd("19.30"))
    assert second == FeeAndNet(usd("-0.35"), usd("9.65"))


def test_refund_fee_unknown_without_meta() -> None:
    facts = refund_fee_facts(order("ppcp-gateway", {}), {"9": D("20.00")})
    assert refund_fee(facts, "9", D("20.00"), "USD") == FeeAndNet()
