"""Orders and refunds shaped exactly as the WooCommerce REST API v3 returns them (pure).

Field lists and formats follow `WC_REST_Orders_V2_Controller::get_formatted_item_data()` and
`get_order_item_data()` (v3 extends v2) and `WC_REST_Order_Refunds_V2_Controller`:
money fields are 2-decimal strings, per-rate `taxes[].total` keep the stored precision,
`line_items[].price` is a JSON number (`get_total() / get_quantity()`), `refunds[].total` is the
refund amount with a leading "-", non-`_gmt` dates are in the site timezone without offset.
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/rest-api/Controllers/Version2/class-wc-rest-orders-v2-controller.php
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/rest-api/Controllers/Version2/class-wc-rest-order-refunds-v2-controller.php
https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kconnector_sandbox.woocommerce.tax_math import json_number, money, raw_decimal

if TYPE_CHECKING:
    from kconnector_sandbox.woocommerce.order_math import (
        CartSpec,
        ChargeTotals,
        LineTotals,
        OrderTotals,
    )
    from kconnector_sandbox.woocommerce.store_profiles import StoreProfile

Document = dict[str, Any]
WP_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
EDITABLE_STATUSES = frozenset({"pending", "on-hold", "auto-draft", "checkout-draft"})
NEEDS_PAYMENT_STATUSES = frozenset({"pending", "failed"})


@dataclass
class IdSequence:
    """WordPress id counters: posts (orders and refunds share them), order items, meta rows."""

    next_post_id: int = 1001
    next_item_id: int = 1
    next_meta_id: int = 1

    def post(self) -> int:
        """Next order/refund id."""
        self.next_post_id += 1
        return self.next_post_id - 1

    def item(self) -> int:
        """Next order item id."""
        self.next_item_id += 1
        return self.next_item_id - 1

    def meta(self) -> int:
        """Next meta row id."""
        self.next_meta_id += 1
        return self.next_meta_id - 1


def wp_dates(moment: datetime | None, timezone: str) -> tuple[str | None, str | None]:
    """(site-local, GMT) renderings of a moment, as `wc_rest_prepare_date_response` gives them."""
    if moment is None:
        return None, None
    local = moment.astimezone(ZoneInfo(timezone)).strftime(WP_DATE_FORMAT)
    return local, moment.astimezone(UTC).strftime(WP_DATE_FORMAT)


def parse_gmt(text: str) -> datetime:
    """A `*_gmt` field back to an aware UTC datetime."""
    return datetime.strptime(text, WP_DATE_FORMAT).replace(tzinfo=UTC)


def set_dates(document: Document, name: str, moment: datetime | None, timezone: str) -> None:
    """Set `name` and `name_gmt` on a document."""
    local, gmt = wp_dates(moment, timezone)
    document[name] = local
    document[f"{name}_gmt"] = gmt


@dataclass
class OrderFacts:
    """What an order is besides its amounts: identity, people, payment, timeline."""

    order_id: int
    status: str
    created: datetime
    modified: datetime
    paid: datetime | None
    completed: datetime | None
    customer_id: int
    billing: dict[str, str]
    shipping: dict[str, str]
    payment_method: str
    payment_method_title: str
    transaction_id: str
    order_key: str
    created_via: str = "checkout"
    customer_note: str = ""
    customer_ip_address: str = ""
    customer_user_agent: str = ""
    meta_data: list[Document] = field(default_factory=list)


def _taxes(
    stored_total: dict[int, Decimal], stored_subtotal: dict[int, Decimal] | None
) -> list[Document]:
    return [
        {
            "id": rate_id,
            "total": raw_decimal(tax),
            "subtotal": raw_decimal(stored_subtotal[rate_id])
            if stored_subtotal is not None
            else "",
        }
        for rate_id, tax in stored_total.items()
    ]


def _line_item(line: LineTotals, item_id: int) -> Document:
    product = line.spec.product
    quantity = line.spec.quantity
    is_variation = product.variation_id != 0
    return {
        "id": item_id,
        "name": product.name,
        "product_id": product.product_id,
        "variation_id": product.variation_id,
        "quantity": quantity,
        "tax_class": product.tax_class,
        "subtotal": money(line.subtotal),
        "subtotal_tax": money(line.subtotal_tax),
        "total": money(line.total),
        "total_tax": money(line.total_tax),
        "taxes": _taxes(line.total_taxes, line.subtotal_taxes),
        "meta_data": [],
        "sku": product.sku,
        "price": json_number(line.total / quantity),
        "image": {"id": 0, "src": ""},
        "parent_name": product.name.split(" - ")[0] if is_variation else None,
    }


def _shipping_line(cart: CartSpec, charge: ChargeTotals, item_id: int) -> Document:
    method = cart.shipping
    if method is None:  # pragma: no cover - guarded by the caller
        msg = "shipping totals without a shipping method"
        raise ValueError(msg)
    return {
        "id": item_id,
        "method_title": method.title,
        "method_id": method.method_id,
        "instance_id": method.instance_id,
        "total": money(charge.total),
        "total_tax": money(charge.total_tax),
        "taxes": _taxes(charge.taxes, None),
        "meta_data": [],
    }


def _fee_line(name: str, taxable: bool, charge: ChargeTotals, item_id: int) -> Document:  # noqa: FBT001 - mirrors the fee's flag
    return {
        "id": item_id,
        "name": name,
        "tax_class": "",
        "tax_status": "taxable" if taxable else "none",
        "amount": raw_decimal(charge.total),
        "total": money(charge.total),
        "total_tax": money(charge.total_tax),
        "taxes": _taxes(charge.taxes, None),
        "meta_data": [],
    }


def build_order_document(
    facts: OrderFacts, cart: CartSpec, totals: OrderTotals, profile: StoreProfile, ids: IdSequence
) -> Document:
    """The order as `GET /wp-json/wc/v3/orders/{id}` returns it (without `_links`)."""
    line_items = [_line_item(line, ids.item()) for line in totals.lines]
    shipping_lines = (
        [_shipping_line(cart, totals.shipping, ids.item())] if totals.shipping is not None else []
    )
    fee_lines = [
        _fee_line(spec.name, spec.taxable, charge, ids.item())
        for spec, charge in zip(cart.fees, totals.fees, strict=True)
    ]
    coupon_lines = []
    if cart.coupon is not None:
        coupon_lines.append(
            {
                "id": ids.item(),
                "code": cart.coupon.code,
                "discount": money(totals.discount_total),
                "discount_tax": money(totals.discount_tax),
                "meta_data": [],
            }
        )
    tax_lines = [
        {
            "id": ids.item(),
            "rate_code": tax_line.rate.rate_code,
            "rate_id": tax_line.rate.rate_id,
            "label": tax_line.rate.name,
            "compound": tax_line.rate.compound,
            "tax_total": money(tax_line.tax_total),
            "shipping_tax_total": money(tax_line.shipping_tax_total),
            "rate_percent": json_number(tax_line.rate.percent),
            "meta_data": [],
        }
        for tax_line in totals.tax_lines
    ]
    document: Document = {
        "id": facts.order_id,
        "parent_id": 0,
        "status": facts.status,
        "currency": profile.currency,
        "version": profile.wc_version,
        "prices_include_tax": profile.prices_include_tax,
    }
    set_dates(document, "date_created", facts.created, profile.timezone)
    set_dates(document, "date_modified", facts.modified, profile.timezone)
    document.update(
        {
            "discount_total": money(totals.discount_total),
            "discount_tax": money(totals.discount_tax),
            "shipping_total": money(totals.shipping_total),
            "shipping_tax": money(totals.shipping_tax),
            "cart_tax": money(totals.cart_tax),
            "total": money(totals.total),
            "total_tax": money(totals.total_tax),
            "customer_id": facts.customer_id,
            "order_key": facts.order_key,
            "billing": facts.billing,
            "shipping": facts.shipping,
            "payment_method": facts.payment_method,
            "payment_method_title": facts.payment_method_title,
            "transaction_id": facts.transaction_id,
            "customer_ip_address": facts.customer_ip_address,
            "customer_user_agent": facts.customer_user_agent,
            "created_via": facts.created_via,
            "customer_note": facts.customer_note,
        }
    )
    set_dates(document, "date_completed", facts.completed, profile.timezone)
    set_dates(document, "date_paid", facts.paid, profile.timezone)
    document.update(
        {
            "cart_hash": "",
            "number": str(facts.order_id),
            "meta_data": facts.meta_data,
            "line_items": line_items,
            "tax_lines": tax_lines,
            "shipping_lines": shipping_lines,
            "fee_lines": fee_lines,
            "coupon_lines": coupon_lines,
            "refunds": [],
            "currency_symbol": profile.currency_symbol,
        }
    )
    refresh_status_flags(document)
    return document


def refresh_status_flags(document: Document) -> None:
    """Recompute `is_editable`, `needs_payment`, `needs_processing` from status and total."""
    status = document["status"]
    document["is_editable"] = status in EDITABLE_STATUSES
    document["needs_payment"] = status in NEEDS_PAYMENT_STATUSES and Decimal(document["total"]) > 0
    document["needs_processing"] = True


def refunded_amount(document: Document) -> Decimal:
    """What has been refunded on an order so far (its `refunds[].total` are negative)."""
    return -sum((Decimal(refund["total"]) for refund in document["refunds"]), Decimal(0))
