"""Deleted Shopify orders as canonical tombstones. Pure functions, no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from tap_shopify_orders.shopify_values import JSON, PLATFORM, ZERO, money

if TYPE_CHECKING:
    from tap_shopify_orders.normalise import Store


def deleted_order(source_id: str, deleted_at: str, currency: str, store: Store) -> JSON:
    """A tombstone for an order deleted in Shopify: its identity, status `deleted`, no amounts.

    Shopify keeps nothing of a deleted order but the deletion event, so lines and amounts are
    empty and zero; consumers match the tombstone by `id`.
    """
    zero = money(ZERO, currency)
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": f"{PLATFORM}:{store.domain}:{source_id}",
        "platform": PLATFORM,
        "store": store.domain,
        "source_id": source_id,
        "order_number": source_id,
        "name": source_id,
        "created_at": deleted_at,
        "updated_at": deleted_at,
        "processed_at": None,
        "cancelled_at": None,
        "closed_at": None,
        "cancel_reason": None,
        "store_timezone": store.timezone,
        "currency": currency,
        "presentment_currency": None,
        "presentment_totals": None,
        "prices_include_tax": False,
        "status": "deleted",
        "financial_status": "pending",
        "fulfillment_status": "unfulfilled",
        "test": False,
        "source_name": None,
        "tags": [],
        "note": None,
        "customer": {
            "source_id": None,
            "is_guest": True,
            "email": None,
            "first_name": None,
            "last_name": None,
            "company": None,
            "phone": None,
            "billing_address": None,
            "shipping_address": None,
        },
        "line_items": [],
        "shipping_lines": [],
        "fee_lines": [],
        "discounts": [],
        "tax_lines": [],
        "totals": {
            key: dict(zero)
            for key in ("line_items_subtotal", "discounts", "subtotal", "shipping", "fees")
        }
        | {"tax": dict(zero), "total": dict(zero)},
        "transactions": [],
        "fulfillments": [],
    }
