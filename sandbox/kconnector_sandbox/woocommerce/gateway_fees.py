"""The processor fee meta that payment gateway plugins write on WooCommerce orders (pure).

WooCommerce has no payout API; the gateways record their fees as order meta, which the REST API
shows in `meta_data`. The emulator writes exactly what the two common plugins write:

- WooCommerce Stripe Gateway (`WC_Stripe_Helper::update_stripe_fee` / `update_stripe_net` /
  `update_stripe_currency`, called from `WC_Stripe_Payment_Gateway::update_fees` with the
  charge's balance transaction): `_stripe_fee`, `_stripe_net` as 2-decimal strings
  (`format_balance_fee`: `number_format($fee / 100, 2, '.', '')`) and `_stripe_currency` as the
  upper-case ISO code of the Stripe balance. On a refund `update_fees` ADDS the refund's balance
  transaction fee and net to the order's meta (so `_stripe_net` goes down by the refunded
  amount, `_stripe_fee` only by a returned fee), and the order gets `_stripe_refund_id`.
  https://github.com/woocommerce/woocommerce-gateway-stripe/blob/develop/includes/class-wc-stripe-helper.php
  https://github.com/woocommerce/woocommerce-gateway-stripe/blob/develop/includes/abstracts/abstract-wc-stripe-payment-gateway.php
- WooCommerce PayPal Payments (`FeesUpdater::update`, `PayPalGateway::FEES_META_KEY`):
  `_ppcp_paypal_fees` = the capture's `seller_receivable_breakdown->to_array()`, i.e.
  `{"gross_amount": {"currency_code", "value"}, "paypal_fee": {...}, "net_amount": {...}}`,
  plus the legacy `PayPal Transaction Fee` (the fee as a string). After refunds,
  `RefundFeesUpdater` writes `_ppcp_paypal_refund_fees` (`REFUND_FEES_META_KEY`): the SUM over
  the order's refunds of their `seller_payable_breakdown` (`gross_amount`, `paypal_fee` returned,
  `net_amount`), in the same shape.
  https://github.com/woocommerce/woocommerce-paypal-payments/blob/trunk/modules/ppcp-wc-gateway/src/Helper/FeesUpdater.php
  https://github.com/woocommerce/woocommerce-paypal-payments/blob/trunk/modules/ppcp-wc-gateway/src/Helper/RefundFeesUpdater.php

Fee schedules (data, below): Stripe's US card price 2.9 % + 0.30 (https://stripe.com/pricing),
PayPal's US checkout rate 3.49 % + 0.49 (https://www.paypal.com/us/business/paypal-business-fees),
each rounded half up to the cent. Stripe does not return its fee on a refund
(https://support.stripe.com/questions/understanding-fees-for-refunded-payments). PayPal's refund
policy differs by market; the emulator returns the percentage part in proportion to the refunded
amount and keeps the fixed part, so a refund carries a non-zero `paypal_fee` to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.woocommerce.tax_math import ZERO, money, round_cents

if TYPE_CHECKING:
    from kconnector_sandbox.woocommerce.order_documents import Document, IdSequence

STRIPE = "stripe"
PAYPAL = "ppcp-gateway"
STRIPE_FEE_KEY = "_stripe_fee"
STRIPE_NET_KEY = "_stripe_net"
STRIPE_CURRENCY_KEY = "_stripe_currency"
STRIPE_REFUND_ID_KEY = "_stripe_refund_id"
PAYPAL_FEES_KEY = "_ppcp_paypal_fees"
PAYPAL_REFUND_FEES_KEY = "_ppcp_paypal_refund_fees"
PAYPAL_LEGACY_FEE_KEY = "PayPal Transaction Fee"


@dataclass(frozen=True)
class FeeSchedule:
    """A processor's price for one card payment: `percent` of the amount plus `fixed`."""

    percent: Decimal
    fixed: Decimal
    returns_percent_on_refund: bool

    def charge_fee(self, amount: Decimal) -> Decimal:
        """The fee on a payment of `amount`, half up to the cent."""
        return round_cents(amount * self.percent / 100 + self.fixed)

    def refund_fee_returned(self, refunded: Decimal) -> Decimal:
        """The part of the fee given back on a refund of `refunded` (never the fixed part)."""
        if not self.returns_percent_on_refund:
            return ZERO
        return round_cents(refunded * self.percent / 100)


FEE_SCHEDULES: dict[str, FeeSchedule] = {
    STRIPE: FeeSchedule(Decimal("2.9"), Decimal("0.30"), returns_percent_on_refund=False),
    PAYPAL: FeeSchedule(Decimal("3.49"), Decimal("0.49"), returns_percent_on_refund=True),
}


def _money_object(amount: Decimal, currency: str) -> dict[str, str]:
    return {"currency_code": currency, "value": money(amount)}


def _set_meta(order: Document, key: str, value: Any, ids: IdSequence) -> None:  # noqa: ANN401 - meta values are any JSON
    """`$order->update_meta_data($key, $value)`: replace the row, or add one."""
    for row in order["meta_data"]:
        if row["key"] == key:
            row["value"] = value
            return
    order["meta_data"].append({"id": ids.meta(), "key": key, "value": value})


def _meta(order: Document, key: str) -> Any:  # noqa: ANN401 - meta values are any JSON
    for row in order["meta_data"]:
        if row["key"] == key:
            return row["value"]
    return None


def record_payment_fees(order: Document, ids: IdSequence) -> None:
    """Write the gateway's fee meta on a paid order (mutates `order`); other gateways: nothing."""
    schedule = FEE_SCHEDULES.get(order["payment_method"])
    if schedule is None or not order.get("transaction_id"):
        return
    amount = Decimal(order["total"])
    fee = schedule.charge_fee(amount)
    currency = order["currency"]
    if order["payment_method"] == STRIPE:
        _set_meta(order, STRIPE_FEE_KEY, money(fee), ids)
        _set_meta(order, STRIPE_NET_KEY, money(amount - fee), ids)
        _set_meta(order, STRIPE_CURRENCY_KEY, currency.upper(), ids)
        return
    _set_meta(
        order,
        PAYPAL_FEES_KEY,
        {
            "gross_amount": _money_object(amount, currency),
            "paypal_fee": _money_object(fee, currency),
            "net_amount": _money_object(amount - fee, currency),
        },
        ids,
    )
    _set_meta(order, PAYPAL_LEGACY_FEE_KEY, money(fee), ids)


def record_refund_fees(order: Document, refund: Document, ids: IdSequence) -> None:
    """Update the gateway's fee meta after `refund` went back through the gateway (mutates)."""
    schedule = FEE_SCHEDULES.get(order["payment_method"])
    if schedule is None or not refund.get("refunded_payment") or not order.get("transaction_id"):
        return
    refunded = Decimal(refund["amount"])
    returned = schedule.refund_fee_returned(refunded)
    currency = order["currency"]
    if order["payment_method"] == STRIPE:
        # update_fees: fee += refund balance transaction fee (-returned), net += its net.
        fee = Decimal(_meta(order, STRIPE_FEE_KEY) or "0") - returned
        net = Decimal(_meta(order, STRIPE_NET_KEY) or "0") - (refunded - returned)
        _set_meta(order, STRIPE_FEE_KEY, money(fee), ids)
        _set_meta(order, STRIPE_NET_KEY, money(net), ids)
        _set_meta(order, STRIPE_CURRENCY_KEY, currency.upper(), ids)
        _set_meta(order, STRIPE_REFUND_ID_KEY, f"re_{refund['id']:0>24}", ids)
        return
    before = _meta(order, PAYPAL_REFUND_FEES_KEY) or {}
    gross = Decimal(before.get("gross_amount", {}).get("value", "0")) + refunded
    fee = Decimal(before.get("paypal_fee", {}).get("value", "0")) + returned
    _set_meta(
        order,
        PAYPAL_REFUND_FEES_KEY,
        {
            "gross_amount": _money_object(gross, currency),
            "paypal_fee": _money_object(fee, currency),
            "net_amount": _money_object(gross - fee, currency),
        },
        ids,
    )
