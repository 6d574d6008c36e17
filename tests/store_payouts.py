"""The stores' own payout figures, for the payout checks (tests and scripts/chaos.py).

Derived from the emulators' data by the rules of docs/payouts.md and tap-woocommerce-orders'
README ("Processor fees and payouts"), never from the taps' or the mapper's code:

- WooCommerce (an estimate): one payout per (gateway, store-local day) of settled money: an
  order's payment on the day of its `date_paid`, a refund sent through the gateway
  (`refunded_payment`) on the day of its `date_created`, for the payout gateways only (Stripe,
  PayPal Payments; not cash on delivery); trashed orders and checkout drafts are not read. A
  payment's fee is what the plugin recorded at payment (Stripe `_stripe_fee`, which Stripe's
  refunds leave as it is since it returns no fee; PayPal `_ppcp_paypal_fees.paypal_fee`); a
  PayPal refund gives back its share (by amount, the newest the rest) of
  `_ppcp_paypal_refund_fees.paypal_fee`.
- Shopify Payments: the payouts the emulator lists, each with its balance transactions; its net
  is Σ net of those (the TRANSFER row, the payout itself, left out).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import requests

PAYOUT_GATEWAYS = ("stripe", "ppcp-gateway", "ppcp-credit-card-gateway", "paypal")  # tap default
CENT = Decimal("0.01")


def cents(value: object) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _meta(order: dict[str, Any], key: str) -> Any:
    return next((row["value"] for row in order["meta_data"] if row["key"] == key), None)


@dataclass
class ExpectedPayout:
    """What one gateway settled on one store-local day, from the store's own data."""

    charges: dict[str, Decimal] = field(default_factory=dict)  # order id -> amount paid
    refunds: list[Decimal] = field(default_factory=list)  # positive amounts sent back
    fees: Decimal = Decimal(0)  # charged minus given back

    @property
    def net(self) -> Decimal:
        return sum(self.charges.values(), Decimal(0)) - sum(self.refunds, Decimal(0)) - self.fees


def _payment_fee(order: dict[str, Any]) -> Decimal:
    if order["payment_method"] == "stripe":
        return Decimal(_meta(order, "_stripe_fee") or 0)
    fees = _meta(order, "_ppcp_paypal_fees")
    return Decimal(fees["paypal_fee"]["value"]) if fees else Decimal(0)


def _refund_fees_given_back(order: dict[str, Any], refunds: list[dict[str, Any]]) -> list[Decimal]:
    """Each gateway refund's fee given back: PayPal's sum shared by amount, the newest the rest."""
    given_back = _meta(order, "_ppcp_paypal_refund_fees")
    if order["payment_method"] == "stripe" or not given_back:
        return [Decimal(0)] * len(refunds)
    returned = Decimal(given_back["paypal_fee"]["value"])
    total = sum((Decimal(r["amount"]) for r in refunds), Decimal(0))
    shares = [(returned * Decimal(r["amount"]) / total).quantize(CENT) for r in refunds[:-1]]
    shares.append(returned - sum(shares, Decimal(0)))
    return shares


def woocommerce_payouts(store: Any) -> dict[tuple[str, date], ExpectedPayout]:
    """(gateway, store-local day) -> its payout, from the emulator's orders and refunds."""
    payouts: dict[tuple[str, date], ExpectedPayout] = defaultdict(ExpectedPayout)
    for order in store.state.all_orders():
        gateway = order["payment_method"]
        if (
            gateway not in PAYOUT_GATEWAYS
            or order["status"] in {"trash", "checkout-draft"}
            or not order["date_paid"]
        ):
            continue
        paid_day = date.fromisoformat(order["date_paid"][:10])
        payout = payouts[(gateway, paid_day)]
        payout.charges[str(order["id"])] = cents(order["total"])
        payout.fees += _payment_fee(order)
        sent_back = sorted(
            (r for r in store.state.refunds(order["id"]) if r["refunded_payment"]),
            key=lambda r: r["id"],
        )
        for refund, fee_back in zip(
            sent_back, _refund_fees_given_back(order, sent_back), strict=True
        ):
            day = date.fromisoformat(refund["date_created"][:10])
            payouts[(gateway, day)].refunds.append(cents(refund["amount"]))
            payouts[(gateway, day)].fees -= fee_back
    return dict(payouts)


def woocommerce_meta_fees(store: Any) -> dict[str, Decimal]:
    """Per gateway: Stripe's `_stripe_fee` (refunds add their fee to it, which Stripe keeps at 0)
    and PayPal's payment fee less `_ppcp_paypal_refund_fees.paypal_fee`, over paid orders."""
    fees: dict[str, Decimal] = defaultdict(Decimal)
    for order in store.state.all_orders():
        gateway = order["payment_method"]
        if order["status"] in {"trash", "checkout-draft"} or not order["date_paid"]:
            continue
        if gateway == "stripe":
            fees[gateway] += Decimal(_meta(order, "_stripe_fee") or 0)
        elif gateway == "ppcp-gateway":
            charged = _meta(order, "_ppcp_paypal_fees")
            given_back = _meta(order, "_ppcp_paypal_refund_fees")
            fees[gateway] += Decimal(charged["paypal_fee"]["value"]) if charged else Decimal(0)
            fees[gateway] -= Decimal(given_back["paypal_fee"]["value"]) if given_back else 0
    return dict(fees)


@dataclass(frozen=True)
class ShopifyPayout:
    """One Shopify Payments payout as the emulator lists it, with its balance transactions."""

    canonical_id: str
    status: str
    net: Decimal
    transactions: list[dict[str, Any]]

    @property
    def settled(self) -> list[dict[str, Any]]:
        """The balance transactions it pays out (the TRANSFER row is the payout itself)."""
        return [t for t in self.transactions if t["type"] != "TRANSFER"]

    def settled_net(self) -> Decimal:
        """Σ net of the settled transactions: charges - refunds - fees +- adjustments."""
        return sum((cents(t["net"]) for t in self.settled), Decimal(0))


def shopify_payouts(url: str, domain: str) -> dict[str, ShopifyPayout]:
    """The shop's payouts by canonical id (`shopify:<domain>:<legacy id>`), from its admin API."""
    response = requests.get(f"{url}/__admin/{domain}/payouts", timeout=60)
    response.raise_for_status()
    return {
        f"shopify:{domain}:{p['legacy_id']}": ShopifyPayout(
            f"shopify:{domain}:{p['legacy_id']}", p["status"], cents(p["net"]), p["transactions"]
        )
        for p in response.json()
    }
