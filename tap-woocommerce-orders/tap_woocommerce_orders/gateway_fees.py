"""Processor fees from the order meta the payment gateway plugins write (pure: no I/O).

WooCommerce itself knows nothing of fees; the gateway plugins record them as order meta, which
the REST API returns in `meta_data`:

- WooCommerce Stripe Gateway: `_stripe_fee` and `_stripe_net` (2-decimal strings, integers for
  zero-decimal currencies) and `_stripe_currency` (upper-case ISO code of the Stripe balance,
  which may differ from the order's). The plugin's `update_fees` ADDS each refund's balance
  transaction fee and net to these two values, so after a refund `_stripe_net` is the order's
  net so far, not the charge's. Older versions wrote `Stripe Fee` / `Net Revenue From Stripe`.
  https://github.com/woocommerce/woocommerce-gateway-stripe/blob/develop/includes/class-wc-stripe-helper.php
- WooCommerce PayPal Payments: `_ppcp_paypal_fees`, the capture's `seller_receivable_breakdown`
  (`gross_amount`, `paypal_fee`, `net_amount`, each `{"currency_code", "value"}`); after refunds
  `_ppcp_paypal_refund_fees`, the SUM of the refunds' `seller_payable_breakdown` (`paypal_fee`
  is the fee PayPal gave back). Older versions wrote only `PayPal Transaction Fee`.
  https://github.com/woocommerce/woocommerce-paypal-payments/blob/trunk/modules/ppcp-wc-gateway/src/Helper/FeesUpdater.php
  https://github.com/woocommerce/woocommerce-paypal-payments/blob/trunk/modules/ppcp-wc-gateway/src/Helper/RefundFeesUpdater.php

Canonical meaning (docs/canonical-model.md): on the payment, `fee` is what the processor charged
(positive) and `net` what reached the processor balance (amount - fee in one currency, else the
processor's own net in the fee's currency). On a refund, `fee` is the fee the processor gave back,
NEGATIVE (a smaller charge for the merchant), and `net` the money that left the processor balance,
positive like the refund's amount (amount + fee). Stripe gives no fee back on refunds
(https://support.stripe.com/questions/understanding-fees-for-refunded-payments), so a Stripe refund
in the order's currency has fee 0. PayPal Payments keeps only the sum over the order's refunds:
with several refunds each gets a share in proportion to its amount (the last takes the rest, so
the shares add up to PayPal's figure). Unknown figures are null, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tap_woocommerce_orders.wc_values import SourceValueError, money, text_or_none, wc_decimal

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

STRIPE_GATEWAYS = frozenset({"stripe", "stripe_cc", "stripe_sepa"})
PAYPAL_GATEWAYS = frozenset(
    {"ppcp-gateway", "ppcp-credit-card-gateway", "ppcp-card-button-gateway"}
)
STRIPE_FEE_KEYS = ("_stripe_fee", "Stripe Fee")
STRIPE_NET_KEYS = ("_stripe_net", "Net Revenue From Stripe")
STRIPE_CURRENCY_KEY = "_stripe_currency"
PAYPAL_FEES_KEY = "_ppcp_paypal_fees"
PAYPAL_REFUND_FEES_KEY = "_ppcp_paypal_refund_fees"
PAYPAL_LEGACY_FEE_KEY = "PayPal Transaction Fee"

Money = dict[str, str]


@dataclass(frozen=True)
class FeeAndNet:
    """A transaction's processor fee and net as canonical money (None: unknown)."""

    fee: Money | None = None
    net: Money | None = None


@dataclass(frozen=True)
class RefundFeeFacts:
    """What an order's meta says about its refunds' fees (kept for the refunds stream)."""

    gateway: str
    currency: str | None = None
    returned: Decimal | None = None
    refund_totals: dict[str, Decimal] = field(default_factory=dict)


def _meta(order: Mapping[str, Any], *keys: str) -> Any:  # noqa: ANN401 - meta values are any JSON
    rows: Sequence[Mapping[str, Any]] = order.get("meta_data") or []
    for key in keys:
        for row in rows:
            if not isinstance(row, dict) or row.get("key") != key:
                continue
            value = row.get("value")
            if value is not None and value != "":
                return value
    return None


def _paypal_money(breakdown: object, part: str, field_name: str) -> tuple[Decimal, str] | None:
    if not isinstance(breakdown, dict):
        return None
    value = breakdown.get(part)
    if not isinstance(value, dict):
        return None
    currency = text_or_none(value.get("currency_code"))
    if currency is None:
        msg = f"meta {field_name}.{part}.currency_code is missing"
        raise SourceValueError(msg)
    return wc_decimal(value.get("value"), f"meta {field_name}.{part}.value"), currency.upper()


def payment_fee(order: Mapping[str, Any], amount: Decimal, currency: str) -> FeeAndNet:
    """The fee and net of an order's payment of `amount` in `currency`, from its gateway meta.

    Raises:
        SourceValueError: a fee meta value that is not an amount (names the meta key).
    """
    gateway = text_or_none(order.get("payment_method")) or ""
    if gateway in STRIPE_GATEWAYS:
        return _stripe_payment(order, amount, currency)
    if gateway in PAYPAL_GATEWAYS:
        return _paypal_payment(order, amount, currency)
    return FeeAndNet()


def _stripe_payment(order: Mapping[str, Any], amount: Decimal, currency: str) -> FeeAndNet:
    raw_fee = _meta(order, *STRIPE_FEE_KEYS)
    if raw_fee is None:
        return FeeAndNet()
    fee = wc_decimal(raw_fee, "meta _stripe_fee")
    fee_currency = (text_or_none(_meta(order, STRIPE_CURRENCY_KEY)) or currency).upper()
    if fee_currency == currency:
        return FeeAndNet(money(fee, currency), money(amount - fee, currency))
    raw_net = _meta(order, *STRIPE_NET_KEYS)
    # After a refund `_stripe_net` no longer is the charge's net: unknown in another currency.
    net = (
        money(wc_decimal(raw_net, "meta _stripe_net"), fee_currency)
        if raw_net is not None and not order.get("refunds")
        else None
    )
    return FeeAndNet(money(fee, fee_currency), net)


def _paypal_payment(order: Mapping[str, Any], amount: Decimal, currency: str) -> FeeAndNet:
    breakdown = _meta(order, PAYPAL_FEES_KEY)
    fee = _paypal_money(breakdown, "paypal_fee", PAYPAL_FEES_KEY)
    if fee is None:
        legacy = _meta(order, PAYPAL_LEGACY_FEE_KEY)
        if legacy is None:
            return FeeAndNet()
        fee = (wc_decimal(legacy, f"meta {PAYPAL_LEGACY_FEE_KEY}"), currency)
    fee_amount, fee_currency = fee
    if fee_currency == currency:
        return FeeAndNet(money(fee_amount, currency), money(amount - fee_amount, currency))
    net = _paypal_money(breakdown, "net_amount", PAYPAL_FEES_KEY)
    return FeeAndNet(
        money(fee_amount, fee_currency),
        money(net[0], net[1]) if net is not None and net[1] == fee_currency else None,
    )


def refund_fee_facts(
    order: Mapping[str, Any], refund_totals: Mapping[str, Decimal]
) -> RefundFeeFacts:
    """The order's refund fee meta, for its refunds (`refund_totals`: refund id -> amount).

    Raises:
        SourceValueError: a fee meta value that is not an amount (names the meta key).
    """
    gateway = text_or_none(order.get("payment_method")) or ""
    currency = (text_or_none(order.get("currency")) or "").upper()
    if gateway in STRIPE_GATEWAYS and _meta(order, *STRIPE_FEE_KEYS) is not None:
        stripe_currency = (text_or_none(_meta(order, STRIPE_CURRENCY_KEY)) or currency).upper()
        # Stripe keeps its fee on refunds: nothing given back, in the order's currency only.
        returned = Decimal(0) if stripe_currency == currency else None
        return RefundFeeFacts(gateway, stripe_currency, returned, dict(refund_totals))
    if gateway in PAYPAL_GATEWAYS:
        sums = _paypal_money(
            _meta(order, PAYPAL_REFUND_FEES_KEY), "paypal_fee", PAYPAL_REFUND_FEES_KEY
        )
        if sums is not None:
            return RefundFeeFacts(gateway, sums[1], sums[0], dict(refund_totals))
    return RefundFeeFacts(gateway)


def refund_fee(facts: RefundFeeFacts, refund_id: str, amount: Decimal, currency: str) -> FeeAndNet:
    """The fee given back (negative) and the net taken out (positive) for one refund."""
    if facts.returned is None or facts.currency is None:
        return FeeAndNet()
    total = sum(facts.refund_totals.values(), Decimal(0))
    if refund_id not in facts.refund_totals or total <= 0:
        return FeeAndNet()
    share = _share(facts, refund_id, total)
    fee = money(-share, facts.currency)
    if facts.currency != currency:
        return FeeAndNet(fee, None)
    return FeeAndNet(fee, money(amount - share, currency))


def _share(facts: RefundFeeFacts, refund_id: str, total: Decimal) -> Decimal:
    """`refund_id`'s part of the returned fee, by amount; the newest refund takes the rest."""
    returned = facts.returned or Decimal(0)
    ordered = sorted(facts.refund_totals, key=lambda rid: (len(rid), rid))
    given = Decimal(0)
    for rid in ordered:
        if rid == ordered[-1]:
            part = returned - given
        else:
            part = (returned * facts.refund_totals[rid] / total).quantize(Decimal("0.01"))
        if rid == refund_id:
            return part
        given += part
    return Decimal(0)
