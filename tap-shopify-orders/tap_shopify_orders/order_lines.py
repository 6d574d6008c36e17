"""An order's discounts, line items, shipping lines and totals in one currency view.

Pure functions, no I/O.

Line amounts are Shopify's before-discount amounts (`originalTotalSet`, `originalPriceSet`);
each line's discount is the sum of its `discountAllocations`, which carry order-level discounts
spread by Shopify as well as line discounts, so `total = subtotal - discount` holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tap_shopify_orders.shopify_values import (
    JSON,
    ZERO,
    MoneyView,
    NormalisationError,
    blank_to_none,
    legacy_id,
    money,
    nodes,
    tax_lines,
    to_decimal,
)
from tap_shopify_orders.vocabulary import DISCOUNT_KIND

if TYPE_CHECKING:
    from decimal import Decimal


@dataclass
class Discounts:
    """The order's discount applications, indexed as Shopify's `index` -> canonical position."""

    applications: list[JSON]
    position: dict[int, int]

    @classmethod
    def read(cls, order: JSON) -> Discounts:
        """The order's discount applications, in Shopify's `index` order."""
        applications = sorted(nodes(order.get("discountApplications")), key=lambda a: a["index"])
        return cls(applications, {app["index"]: i for i, app in enumerate(applications)})

    def allocations(self, raw: object, view: MoneyView, where: str) -> tuple[list[JSON], Decimal]:
        """A line's canonical discount allocations and their sum.

        Raises:
            NormalisationError: for an allocation to a discount the order does not list.
        """
        out: list[JSON] = []
        total = ZERO
        for i, allocation in enumerate(nodes(raw)):
            index = (allocation.get("discountApplication") or {}).get("index")
            if index not in self.position:
                raise NormalisationError(
                    view.order_id,
                    f"{where}.discountAllocations[{i}]",
                    f"points to discount application {index}, which the order does not list",
                )
            amount = view.amount(allocation.get("allocatedAmountSet"), where)
            total += amount
            out.append({"discount_index": self.position[index], "amount": view.money(amount)})
        return out, total

    def records(self, allocated: dict[int, Decimal], view: MoneyView) -> list[JSON]:
        """The canonical discounts, each with the amount allocated from it."""
        out = []
        for position, app in enumerate(self.applications):
            value = app.get("value") or {}
            is_percentage = "percentage" in value
            kind = DISCOUNT_KIND.get(str(app.get("__typename")), "manual")
            code = blank_to_none(app.get("code"))
            out.append(
                {
                    "kind": kind,
                    "code": code,
                    "title": blank_to_none(app.get("title")) or code,
                    "value_type": "percentage" if is_percentage else "fixed_amount",
                    "value": format(to_decimal(value["percentage"]), "f")
                    if is_percentage
                    else money(
                        to_decimal(value.get("amount")),
                        str(value.get("currencyCode") or view.currency),
                    )["amount"],
                    "amount": view.money(allocated.get(position, ZERO)),
                    "target": "shipping"
                    if app.get("targetType") == "SHIPPING_LINE"
                    else "line_item",
                }
            )
        return out


@dataclass
class OrderLines:
    """Line items and shipping lines of one currency view, with what the totals need."""

    line_items: list[JSON]
    shipping_lines: list[JSON]
    allocated: dict[int, Decimal]
    line_subtotal: Decimal
    line_discount: Decimal
    shipping_discount: Decimal
    shipping_total: Decimal


def fulfilled_quantities(order: JSON) -> dict[str, int]:
    """Units shipped per line id, from the successful fulfillments."""
    counts: dict[str, int] = {}
    for fulfillment in nodes(order.get("fulfillments")):
        if fulfillment.get("status") != "SUCCESS":
            continue
        for item in nodes(fulfillment.get("fulfillmentLineItems")):
            line = legacy_id((item.get("lineItem") or {}).get("id"))
            if line is not None:
                counts[line] = counts.get(line, 0) + int(item.get("quantity") or 0)
    return counts


def order_lines(order: JSON, view: MoneyView, discounts: Discounts, *, detail: bool) -> OrderLines:
    """The lines and sums of one currency view; `detail=False` computes only the sums."""
    allocated: dict[int, Decimal] = {}
    fulfilled = fulfilled_quantities(order)
    line_items: list[JSON] = []
    subtotal_sum = discount_sum = ZERO
    for i, raw in enumerate(nodes(order.get("lineItems"))):
        where = f"lineItems[{i}]"
        line_id = legacy_id(raw.get("id")) or f"{view.order_id}-line-{i}"
        subtotal = view.amount(raw.get("originalTotalSet"), f"{where}.originalTotalSet")
        allocations, discount = discounts.allocations(raw.get("discountAllocations"), view, where)
        for allocation in allocations:
            position = allocation["discount_index"]
            allocated[position] = allocated.get(position, ZERO) + to_decimal(
                allocation["amount"]["amount"]
            )
        subtotal_sum += subtotal
        discount_sum += discount
        if not detail:
            continue
        quantity = int(raw.get("quantity") or 0)
        line_items.append(
            {
                "line_id": line_id,
                "sku": blank_to_none(raw.get("sku")),
                "product_id": legacy_id((raw.get("product") or {}).get("id")),
                "variant_id": legacy_id((raw.get("variant") or {}).get("id")),
                "title": str(raw.get("title") or ""),
                "variant_title": blank_to_none(raw.get("variantTitle")),
                "quantity": quantity,
                "unit_price": view.money(
                    view.amount(raw.get("originalUnitPriceSet"), f"{where}.originalUnitPriceSet")
                ),
                "subtotal": view.money(subtotal),
                "discount": view.money(discount),
                "discount_allocations": allocations,
                "total": view.money(subtotal - discount),
                "tax_lines": tax_lines(raw.get("taxLines"), view, where),
                "taxable": bool(raw.get("taxable")),
                "requires_shipping": bool(raw.get("requiresShipping", True)),
                "fulfilled_quantity": min(fulfilled.get(line_id, 0), quantity),
                "gift_card": bool(raw.get("isGiftCard")),
            }
        )
    shipping_lines: list[JSON] = []
    ship_discount_sum = ship_total_sum = ZERO
    for i, raw in enumerate(nodes(order.get("shippingLines"))):
        where = f"shippingLines[{i}]"
        price = view.amount(raw.get("originalPriceSet"), f"{where}.originalPriceSet")
        allocations, discount = discounts.allocations(raw.get("discountAllocations"), view, where)
        for allocation in allocations:
            position = allocation["discount_index"]
            allocated[position] = allocated.get(position, ZERO) + to_decimal(
                allocation["amount"]["amount"]
            )
        ship_discount_sum += discount
        ship_total_sum += price - discount
        if detail:
            shipping_lines.append(
                {
                    "line_id": legacy_id(raw.get("id")) or f"{view.order_id}-shipping-{i}",
                    "title": str(raw.get("title") or ""),
                    "code": blank_to_none(raw.get("code")),
                    "price": view.money(price),
                    "discount": view.money(discount),
                    "discount_allocations": allocations,
                    "total": view.money(price - discount),
                    "tax_lines": tax_lines(raw.get("taxLines"), view, where),
                }
            )
    return OrderLines(
        line_items,
        shipping_lines,
        allocated,
        subtotal_sum,
        discount_sum,
        ship_discount_sum,
        ship_total_sum,
    )


@dataclass(frozen=True)
class OrderAmounts:
    """Shopify's order-level amounts of one currency view."""

    fees: Decimal
    tax: Decimal
    total: Decimal
    refunded: Decimal

    @classmethod
    def read(cls, order: JSON, view: MoneyView) -> OrderAmounts:
        """Read them from the order's MoneyBags."""
        return cls(
            fees=view.amount(order.get("totalTipReceivedSet"), "totalTipReceivedSet"),
            tax=view.amount(order.get("totalTaxSet"), "totalTaxSet", optional=True),
            total=view.amount(order.get("totalPriceSet"), "totalPriceSet"),
            refunded=view.amount(order.get("totalRefundedSet"), "totalRefundedSet"),
        )


def order_totals(
    lines: OrderLines, amounts: OrderAmounts, view: MoneyView, *, included: bool
) -> tuple[JSON, Decimal]:
    """The canonical totals and the difference to Shopify's own total (zero when they agree)."""
    subtotal = lines.line_subtotal - lines.line_discount
    computed = subtotal + lines.shipping_total + amounts.fees + (ZERO if included else amounts.tax)
    difference = amounts.total - computed
    totals = {
        "line_items_subtotal": view.money(lines.line_subtotal),
        "discounts": view.money(lines.line_discount + lines.shipping_discount),
        "subtotal": view.money(subtotal),
        "shipping": view.money(lines.shipping_total),
        "fees": view.money(amounts.fees + difference),
        "tax": view.money(amounts.tax),
        "total": view.money(amounts.total),
        "refunded": view.money(amounts.refunded),
    }
    return totals, difference
