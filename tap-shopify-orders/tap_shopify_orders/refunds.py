"""A Shopify refund -> a canonical `refunds` record. Pure functions, no I/O.

Refunded lines (`refundLineItems`: goods after discounts and their tax), refunded shipping
(`refundShippingLines`), order adjustments (sign reversed: positive means more money back) and
the refund's transactions. A refund whose `totalRefundedSet` differs from what its parts add up
to gets an explicit `refund_discrepancy` adjustment carrying the difference.

Shopify gives a refunded line's tax as one amount (`RefundLineItem.totalTaxSet`,
`RefundShippingLine.taxAmountSet`), not per tax
(https://shopify.dev/docs/api/admin-graphql/latest/objects/RefundLineItem). A tax-code
accounting company needs to know which taxes were refunded, so each refunded line carries the
refunded order line's tax lines (title, rate, jurisdiction, rate code, compound), and the refunded
tax amount is shared over them exactly with `allocate`, in proportion to the order line's own tax
amounts: the refund's tax lines always add up to its tax. The refunded goods line also carries the
order line's SKU and title.
"""

from __future__ import annotations

from decimal import Decimal

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from kconnector_canonical.money import MoneyError, allocate
from tap_shopify_orders.shopify_values import (
    JSON,
    PLATFORM,
    ZERO,
    MoneyView,
    NormalisationError,
    blank_to_none,
    legacy_id,
    nodes,
    timestamp,
    to_decimal,
    transactions,
)
from tap_shopify_orders.vocabulary import DISCREPANCY_REASONS, RESTOCK_TYPE

REFUND_TOTAL_DIFFERENCE_REASON = "difference to Shopify's refunded total"


def refunded_tax_lines(
    order_tax_lines: list[JSON], refunded_tax: Decimal, shop: MoneyView, where: str
) -> list[JSON]:
    """The order line's tax lines carrying a share of the refunded tax each, summing exactly.

    Weights are the order line's tax amounts; when those all rounded to zero, the rates, then
    equal shares, so a refunded tax is never dropped.

    Raises:
        NormalisationError: a refunded tax with more decimals than the shop's currency.
    """
    if not order_tax_lines:
        return []
    weights = [abs(to_decimal(tax["amount"]["amount"])) for tax in order_tax_lines]
    if sum(weights, ZERO) == 0:
        weights = [abs(to_decimal(tax["rate"])) if tax["rate"] else ZERO for tax in order_tax_lines]
    if sum(weights, ZERO) == 0:
        weights = [Decimal(1) for _ in order_tax_lines]
    try:
        shares = allocate(refunded_tax, weights, shop.currency)
    except MoneyError as exc:
        raise NormalisationError(shop.order_id, where, str(exc)) from None
    return [
        {**tax, "amount": shop.money(share)}
        for tax, share in zip(order_tax_lines, shares, strict=True)
    ]


def _by_line_id(lines: object) -> dict[str, JSON]:
    found: dict[str, JSON] = {}
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, dict) and line.get("line_id") is not None:
            found[str(line["line_id"])] = line
    return found


def _refund_line_items(refund: JSON, order: JSON, shop: MoneyView, source_id: str) -> list[JSON]:
    where = f"refunds[{source_id}]"
    order_lines = _by_line_id(order.get("line_items"))
    line_items = []
    for i, item in enumerate(nodes(refund.get("refundLineItems"))):
        order_line_id = legacy_id((item.get("lineItem") or {}).get("id")) or "unknown"
        tax = shop.amount(item.get("totalTaxSet"), where)
        ordered = order_lines.get(order_line_id, {})
        line: JSON = {
            "line_id": legacy_id(item.get("id")) or f"{source_id}-{i}",
            "order_line_id": order_line_id,
            "quantity": int(item.get("quantity") or 0),
            "subtotal": shop.money(shop.amount(item.get("subtotalSet"), where)),
            "tax": shop.money(tax),
            "tax_lines": refunded_tax_lines(ordered.get("tax_lines") or [], tax, shop, where),
            "restock_type": RESTOCK_TYPE.get(item.get("restockType")),
        }
        if ordered:
            line["sku"] = ordered.get("sku")
            line["title"] = str(ordered.get("title") or "")
        line_items.append(line)
    return line_items


def _refund_shipping_lines(refund: JSON, order: JSON, shop: MoneyView, where: str) -> list[JSON]:
    order_lines = _by_line_id(order.get("shipping_lines"))
    shipping_lines: list[JSON] = []
    for item in nodes(refund.get("refundShippingLines")):
        order_line_id = legacy_id((item.get("shippingLine") or {}).get("id"))
        tax = shop.amount(item.get("taxAmountSet"), where)
        ordered = order_lines.get(order_line_id or "", {})
        shipping_lines.append(
            {
                "order_line_id": order_line_id,
                "amount": shop.money(shop.amount(item.get("subtotalAmountSet"), where)),
                "tax": shop.money(tax),
                "tax_lines": refunded_tax_lines(ordered.get("tax_lines") or [], tax, shop, where),
            }
        )
    return shipping_lines


def normalise_refund(refund: JSON, order: JSON, shop: MoneyView) -> tuple[JSON, list[str]]:
    """One Shopify refund of a (canonical) order as a canonical refund record."""
    source_id = legacy_id(refund.get("id")) or "unknown"
    where = f"refunds[{source_id}]"
    line_items = _refund_line_items(refund, order, shop, source_id)
    shipping_lines = _refund_shipping_lines(refund, order, shop, where)
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
