"""A WooCommerce REST v3 refund as a canonical `refunds` record (pure: no I/O).

Source: `GET /wp-json/wc/v3/orders/{id}/refunds`
(https://woocommerce.github.io/woocommerce-rest-api-docs/#order-refund-properties and, for the
`shipping_lines`, `fee_lines` and `tax_lines` newer stores add,
https://developer.woocommerce.com/docs/apis/rest-api/v3/order-refunds/). The refund's `amount`
is positive; its items are negative (quantity -1, total "-9.00"), each pointing to the order item
it refunds through the meta key `_refunded_item_id`. The order embeds the same refund as
`refunds[] = {id, reason, total}` with a NEGATIVE `total`: both signs are read as money given back.

Canonical amounts are positive when money goes back to the customer. Items follow the order's
`prices_include_tax` (tax added back in an inclusive store). Refunded fees become `fee`
adjustments. A refund without any item (an amount typed in by the merchant) becomes one
`amount_only` adjustment of its whole amount. When the items do not add up to the amount (the
merchant typed a different amount than the items' sum), the difference is a
`refund_discrepancy` adjustment, so the canonical total always equals WooCommerce's `amount`.

WooCommerce does not report whether refunded items went back to stock (`api_restock` is
write-only): `restock` is false and `restock_type` null. A refund sent to the gateway
(`refunded_payment`) carries a refund transaction against the order's payment; a manual refund
carries none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from tap_woocommerce_orders.gateway_fees import RefundFeeFacts, refund_fee, refund_fee_facts
from tap_woocommerce_orders.order_normalizer import (
    PLATFORM,
    canonical_id,
    order_currency,
)
from tap_woocommerce_orders.tax_rates import TaxRate, item_tax_lines, rates_of_order
from tap_woocommerce_orders.wc_values import (
    SourceValueError,
    gmt_timestamp,
    money,
    required_gmt_timestamp,
    source_id,
    text_or_none,
    wc_decimal,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

REFUNDED_ITEM_KEY = "_refunded_item_id"


@dataclass(frozen=True)
class RefundParent:
    """What a refund needs from its order (no customer data): kept while its refunds are read."""

    order_source_id: str
    currency: str
    prices_include_tax: bool
    updated_at: str
    gateway: str
    payment_reference: str | None
    rates: dict[str, TaxRate] = field(default_factory=dict)
    embedded_totals: dict[str, Decimal] = field(default_factory=dict)
    fee_facts: RefundFeeFacts | None = None

    @property
    def refund_ids(self) -> list[str]:
        """The ids of the refunds the order embeds."""
        return list(self.embedded_totals)


def refund_parent(
    order: Mapping[str, Any], known_percents: Mapping[str, Decimal] | None = None
) -> RefundParent:
    """The parts of a WooCommerce order its refunds are normalised with.

    Raises:
        SourceValueError: when a field cannot be read.
    """
    embedded: dict[str, Decimal] = {}
    for index, refund in enumerate(order.get("refunds") or []):
        refund_id = source_id(refund.get("id"), f"refunds[{index}].id")
        embedded[refund_id] = abs(wc_decimal(refund.get("total"), f"refunds[{index}].total"))
    payment_id = source_id(order.get("id"), "id")
    reference = text_or_none(order.get("transaction_id"))
    return RefundParent(
        order_source_id=payment_id,
        currency=order_currency(order),
        prices_include_tax=bool(order.get("prices_include_tax", False)),
        updated_at=required_gmt_timestamp(order.get("date_modified_gmt"), "date_modified_gmt"),
        gateway=text_or_none(order.get("payment_method")) or "manual",
        payment_reference=reference
        if reference and ":" not in reference and " " not in reference
        else f"{payment_id}-payment",
        rates=rates_of_order(order.get("tax_lines") or [], known_percents),
        embedded_totals=embedded,
        fee_facts=refund_fee_facts(order, embedded),
    )


def _refunded_item_id(item: Mapping[str, Any]) -> str | None:
    for meta in item.get("meta_data") or []:
        if meta.get("key") == REFUNDED_ITEM_KEY:
            value = text_or_none(meta.get("value"))
            return value if value and value != "0" else None
    return None


def _sum(items: Sequence[Mapping[str, Any]], key: str) -> Decimal:
    return sum((Decimal(item[key]["amount"]) for item in items), Decimal(0))


class _RefundBuilder:
    def __init__(self, refund: Mapping[str, Any], parent: RefundParent) -> None:
        self.refund = refund
        self.parent = parent
        self.currency = parent.currency
        self.inclusive = parent.prices_include_tax
        refund_rates = rates_of_order(refund.get("tax_lines") or [])
        # The order's rates stand unless the refund's own tax lines say more.
        self.rates = {
            **parent.rates,
            **{
                rate_id: rate
                for rate_id, rate in refund_rates.items()
                if rate.rate is not None or rate_id not in parent.rates
            },
        }

    def money(self, amount: Decimal) -> dict[str, str]:
        return money(amount, self.currency)

    def given_back(self, item: Mapping[str, Any], field: str) -> tuple[Decimal, Decimal]:
        """(amount as the order shows it, tax), both positive for money given back."""
        total = -wc_decimal(item.get("total"), f"{field}.total")
        tax = -wc_decimal(item.get("total_tax"), f"{field}.total_tax")
        return (total + tax if self.inclusive else total), tax

    def line_items(self) -> list[dict[str, Any]]:
        lines = []
        for index, item in enumerate(self.refund.get("line_items") or []):
            field = f"line_items[{index}]"
            amount, tax = self.given_back(item, field)
            order_line = _refunded_item_id(item)
            if order_line is None:
                msg = f"{field} does not say which order item it refunds ({REFUNDED_ITEM_KEY})"
                raise SourceValueError(msg)
            lines.append(
                {
                    "line_id": source_id(item.get("id"), f"{field}.id"),
                    "order_line_id": source_id(order_line, f"{field}.meta_data"),
                    # WooCommerce's refund lines repeat the product's name and SKU.
                    "sku": text_or_none(item.get("sku")),
                    "title": text_or_none(item.get("name")) or "",
                    "quantity": abs(int(item.get("quantity") or 0)),
                    "subtotal": self.money(amount),
                    "tax": self.money(tax),
                    "tax_lines": item_tax_lines(
                        item.get("taxes") or [], self.rates, self.currency, field, sign=-1
                    ),
                    "restock_type": None,
                }
            )
        return lines

    def shipping_lines(self) -> list[dict[str, Any]]:
        lines = []
        for index, item in enumerate(self.refund.get("shipping_lines") or []):
            field = f"shipping_lines[{index}]"
            amount, tax = self.given_back(item, field)
            order_line = _refunded_item_id(item)
            lines.append(
                {
                    "order_line_id": None
                    if order_line is None
                    else source_id(order_line, f"{field}.meta_data"),
                    "amount": self.money(amount),
                    "tax": self.money(tax),
                    "tax_lines": item_tax_lines(
                        item.get("taxes") or [], self.rates, self.currency, field, sign=-1
                    ),
                }
            )
        return lines

    def fee_adjustments(self) -> list[dict[str, Any]]:
        adjustments = []
        for index, item in enumerate(self.refund.get("fee_lines") or []):
            amount, tax = self.given_back(item, f"fee_lines[{index}]")
            adjustments.append(
                {
                    "kind": "fee",
                    "reason": text_or_none(item.get("name")),
                    "amount": self.money(amount),
                    "tax": self.money(tax),
                }
            )
        return adjustments

    def transactions(self, amount: Decimal, processed_at: str) -> list[dict[str, Any]]:
        if not self.refund.get("refunded_payment"):
            return []
        refund_id = str(self.refund.get("id"))
        fee = (
            refund_fee(self.parent.fee_facts, refund_id, amount, self.currency)
            if self.parent.fee_facts is not None
            else None
        )
        return [
            {
                "transaction_id": f"{refund_id}-refund",
                "parent_id": self.parent.payment_reference,
                "kind": "refund",
                "status": "success",
                "gateway": self.parent.gateway,
                "amount": self.money(amount),
                "fee": fee.fee if fee else None,
                "net": fee.net if fee else None,
                "processed_at": processed_at,
                "test": False,
            }
        ]


def normalize_refund(refund: Mapping[str, Any], parent: RefundParent, store: str) -> dict[str, Any]:
    """The canonical `refunds` record of a WooCommerce refund.

    Args:
        refund: the refund as `GET /wp-json/wc/v3/orders/{id}/refunds` returns it.
        parent: its order's facts (`refund_parent(order)`).
        store: the store identity (the site's host).

    Returns:
        The record; it passes `kconnector_canonical.validate` and its `totals.total` equals
        the refund's `amount`.

    Raises:
        SourceValueError: a field K-Connector cannot read (the message names it).
    """
    build = _RefundBuilder(refund, parent)
    refund_id = source_id(refund.get("id"), "id")
    amount = abs(wc_decimal(refund.get("amount"), "amount"))
    created_at = required_gmt_timestamp(refund.get("date_created_gmt"), "date_created_gmt")
    reason = text_or_none(refund.get("reason"))
    lines = build.line_items()
    shipping = build.shipping_lines()
    adjustments = build.fee_adjustments()
    tax = _sum(lines, "tax") + _sum(shipping, "tax") + _sum(adjustments, "tax")
    computed = (
        _sum(lines, "subtotal")
        + _sum(shipping, "amount")
        + _sum(adjustments, "amount")
        + (0 if build.inclusive else tax)
    )
    if computed != amount:
        kind = "amount_only" if not (lines or shipping or adjustments) else "refund_discrepancy"
        adjustments.append(
            {
                "kind": kind,
                "reason": reason,
                "amount": build.money(amount - computed),
                "tax": build.money(Decimal(0)),
            }
        )
    processed_at = gmt_timestamp(refund.get("date_created_gmt"), "date_created_gmt") or created_at
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": canonical_id(store, refund_id),
        "platform": PLATFORM,
        "store": store,
        "source_id": refund_id,
        "order_id": canonical_id(store, parent.order_source_id),
        "order_source_id": parent.order_source_id,
        "created_at": created_at,
        "processed_at": processed_at,
        "updated_at": parent.updated_at,
        "currency": parent.currency,
        "prices_include_tax": parent.prices_include_tax,
        "store_timezone": None,  # the orders API does not expose the site's time zone
        "note": reason,
        "restock": False,
        "line_items": lines,
        "shipping_lines": shipping,
        "adjustments": adjustments,
        "transactions": build.transactions(amount, processed_at),
        "totals": {
            "items": build.money(_sum(lines, "subtotal")),
            "shipping": build.money(_sum(shipping, "amount")),
            "adjustments": build.money(_sum(adjustments, "amount")),
            "tax": build.money(tax),
            "total": build.money(amount),
        },
    }
