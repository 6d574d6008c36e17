"""A Shopify refund -> a canonical `refunds` record. Pure functions, no I/O.

Refunded lines (`refundLineItems`: goods after discounts and their tax), refunded shipping
(`refundShippingLines`), order adjustments (sign reversed: positive means more money back) and
the refund's transactions. A refund whose `totalRefundedSet` differs from what its parts add up
to gets an explicit `refund_discrepancy` adjustment carrying the difference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from tap_shopify_orders.shopify_values import (
    JSON,
    PLATFORM,
    ZERO,
    MoneyView,
    blank_to_none,
    legacy_id,
    nodes,
    timestamp,
    to_decimal,
    transactions,
)
from tap_shopify_orders.vocabulary import DISCREPANCY_REASONS, RESTOCK_TYPE

if TYPE_CHECKING:
    from decimal import Decimal

REFUND_TOTAL_DIFFERENCE_REASON = "difference to Shopify's refunded total"


def normalise_refund(refund: JSON, order: JSON, shop: MoneyView) -> tuple[JSON, list[str]]:
    """One Shopify refund of a (canonical) order as a canonical refund record."""
    source_id = legacy_id(refund.get("id")) or "unknown"
    where = f"refunds[{source_id}]"
    line_items = []
    for i, item in enumerate(nodes(refund.get("refundLineItems"))):
        line_items.append(
            {
                "line_id": legacy_id(item.get("id")) or f"{source_id}-{i}",
                "order_line_id": legacy_id((item.get("lineItem") or {}).get("id")) or "unknown",
                "quantity": int(item.get("quantity") or 0),
                "subtotal": shop.money(shop.amount(item.get("subtotalSet"), where)),
                "tax": shop.money(shop.amount(item.get("totalTaxSet"), where)),
                # Shopify gives a refunded line's tax as one amount, not per tax.
                "tax_lines": [],
                "restock_type": RESTOCK_TYPE.get(item.get("restockType")),
            }
        )
    shipping_lines: list[JSON] = [
        {
            "order_line_id": legacy_id((item.get("shippingLine") or {}).get("id")),
            "amount": shop.money(shop.amount(item.get("subtotalAmountSet"), where)),
            "tax": shop.money(shop.amount(item.get("taxAmountSet"), where)),
            "tax_lines": [],
        }
        for item in nodes(refund.get("refundShippingLines"))
    ]
    has_detail = bool(line_items or shipping_lines)
    adjustments = []
    for item in nodes(refund.get("orderAdjustments")):
        reason = item.get("reason")
        if reason in DISCREPANCY_REASONS:
            kind = "refund_discrepancy" if has_detail else "amount_only"
        else:
            kind = "other"
        # Shopify's adjustment is what the refund is *short* of its lines (negative when more
        # money goes back); the canonical amount is positive when more money goes back.
        adjustments.append(
            {
                "kind": kind,
                "reason": str(reason).lower() if reason else None,
                "amount": shop.money(-shop.amount(item.get("amountSet"), where)),
                "tax": shop.money(-shop.amount(item.get("taxAmountSet"), where)),
            }
        )
    included = bool(order["prices_include_tax"])

    def total_of(items: list[JSON], key: str) -> Decimal:
        return sum((to_decimal(item[key]["amount"]) for item in items), ZERO)

    items = total_of(line_items, "subtotal")
    shipping = total_of(shipping_lines, "amount")
    tax = (
        total_of(line_items, "tax") + total_of(shipping_lines, "tax") + total_of(adjustments, "tax")
    )
    computed = items + shipping + total_of(adjustments, "amount") + (ZERO if included else tax)
    refunded = shop.amount(refund.get("totalRefundedSet"), f"{where}.totalRefundedSet")
    notes = []
    if refunded != computed:
        adjustments.append(
            {
                "kind": "refund_discrepancy",
                "reason": REFUND_TOTAL_DIFFERENCE_REASON,
                "amount": shop.money(refunded - computed),
                "tax": shop.money(ZERO),
            }
        )
        notes.append(f"refund {source_id}: total differs from its parts by {refunded - computed}")
    created = timestamp(refund.get("createdAt")) or timestamp(refund.get("updatedAt"))
    record: JSON = {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": f"{PLATFORM}:{order['store']}:{source_id}",
        "platform": PLATFORM,
        "store": order["store"],
        "source_id": source_id,
        "order_id": order["id"],
        "order_source_id": order["source_id"],
        "created_at": created or order["updated_at"],
        "processed_at": created,
        "updated_at": order["updated_at"],
        "currency": order["currency"],
        "prices_include_tax": included,
        "store_timezone": order["store_timezone"],
        "note": blank_to_none(refund.get("note")),
        "restock": any(
            bool(item.get("restocked")) for item in nodes(refund.get("refundLineItems"))
        ),
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "adjustments": adjustments,
        "transactions": transactions(refund.get("transactions"), shop, f"{where}.transactions"),
        "totals": {
            "items": shop.money(items),
            "shipping": shop.money(shipping),
            "adjustments": shop.money(total_of(adjustments, "amount")),
            "tax": shop.money(tax),
            "total": shop.money(refunded),
        },
    }
    return record, notes
