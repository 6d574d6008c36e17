"""Document lines: what was charged (a `Charge` per store line) and its QuickBooks `Line[]`.

A `Charge` is one store line (product, gift card, shipping, fee, tip, refunded amount) with its
amount as the store shows it (after discounts; tax-inclusive exactly when the store's prices
include tax), the discount taken off it, and its share of the document's tax at the currency's
precision (`tax.spread_tax`). `render_lines` turns charges into QuickBooks lines whose arithmetic
QuickBooks accepts (`amounts.price_line`) and whose sum (+ tax for tax-exclusive stores) is the
store's total to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from kconnector_canonical.money import allocate
from map_quickbooks import refs
from map_quickbooks.amounts import money_text, price_line, quantity_text
from map_quickbooks.tax import TaxedLine, line_tax_code, rate_tax_lines, raw_tax, spread_tax

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kconnector_canonical.model import Order, Refund, RefundLineItem, TaxLine
    from map_quickbooks.rules import Settings

ChargeKind = Literal["product", "gift_card", "shipping", "fee", "tip", "refund"]
_DESCRIPTION_MAX = 4000  # Line.Description: max 4000 characters (Invoice entity reference)


@dataclass(frozen=True, slots=True)
class Charge:
    """One store line, ready to become QuickBooks lines."""

    kind: ChargeKind
    field: str
    title: str
    description: str
    sku: str | None
    quantity: int
    amount: Decimal
    discount: Decimal
    tax: Decimal
    tax_lines: tuple[TaxLine, ...]
    exempt: bool = False


def _with_tax(charges: list[Charge], total_tax: Decimal, currency: str) -> list[Charge]:
    shares = spread_tax(
        total_tax,
        [Decimal(0) if c.exempt else raw_tax(c.tax_lines) for c in charges],
        [Decimal(0) if c.exempt else c.amount for c in charges],
        currency,
    )
    return [replace(c, tax=share) for c, share in zip(charges, shares, strict=True)]


def order_charges(order: Order) -> list[Charge]:
    """The order's lines in document order: products and gift cards, shipping, fees and tips."""
    charges: list[Charge] = []
    for i, line in enumerate(order.line_items):
        description = line.title + (f" - {line.variant_title}" if line.variant_title else "")
        charges.append(
            Charge(
                kind="gift_card" if line.gift_card else "product",
                field=f"line_items[{i}]",
                title=line.title,
                description=description[:_DESCRIPTION_MAX],
                sku=line.sku,
                quantity=line.quantity,
                amount=line.total.amount,
                discount=line.discount.amount,
                tax=Decimal(0),
                tax_lines=line.tax_lines,
                exempt=line.gift_card,
            )
        )
    for i, ship in enumerate(order.shipping_lines):
        charges.append(
            Charge(
                kind="shipping",
                field=f"shipping_lines[{i}]",
                title=ship.title,
                description=ship.title[:_DESCRIPTION_MAX],
                sku=None,
                quantity=1,
                amount=ship.total.amount,
                discount=Decimal(0),  # shipping discounts are netted into the shipping line
                tax=Decimal(0),
                tax_lines=ship.tax_lines,
            )
        )
    for i, fee in enumerate(order.fee_lines):
        charges.append(
            Charge(
                kind="tip" if fee.kind == "tip" else "fee",
                field=f"fee_lines[{i}]",
                title=fee.title,
                description=fee.title[:_DESCRIPTION_MAX],
                sku=None,
                quantity=1,
                amount=fee.amount.amount,
                discount=Decimal(0),
                tax=Decimal(0),
                tax_lines=fee.tax_lines,
                exempt=not fee.taxable and raw_tax(fee.tax_lines) == 0,
            )
        )
    return _with_tax(charges, order.totals.tax.amount, order.currency)


# Shopify's restock types that put the refunded units back in stock
# (https://shopify.dev/docs/api/admin-graphql/latest/enums/RefundLineItemRestockType).
RESTOCKED = frozenset({"return", "cancel", "legacy_restock"})


def _credits_own_item(line: RefundLineItem, goods_item: str) -> bool:
    """Whether a refunded line credits the order line's own item (refund_goods_item)."""
    if not (line.sku or line.title):
        return False  # nothing to find the item by
    if goods_item == "original":
        return True
    return goods_item == "original_when_restocked" and line.restock_type in RESTOCKED


def refund_charges(refund: Refund, goods_item: str = "refund_item") -> list[Charge]:
    """The refund's lines: refunded goods, shipping, then adjustments (amount-only, fees...).

    A refunded line credits its own item (found like an order line's, by SKU then title) or the
    refund item, as `goods_item` (the refund_goods_item setting) says.
    """
    charges: list[Charge] = []
    raw: list[Decimal] = []
    for i, line in enumerate(refund.line_items):
        own = _credits_own_item(line, goods_item)
        charges.append(
            Charge(
                kind="product" if own else "refund",
                field=f"line_items[{i}]",
                title=(line.title or "") if own else f"Refund of order line {line.order_line_id}",
                description=(
                    f"Refund of order line {line.order_line_id} x {line.quantity}"
                    + (f" ({line.restock_type})" if line.restock_type else "")
                ),
                sku=line.sku if own else None,
                quantity=line.quantity,
                amount=line.subtotal.amount,
                discount=Decimal(0),
                tax=Decimal(0),
                tax_lines=line.tax_lines,
            )
        )
        raw.append(line.tax.amount)
    for i, ship in enumerate(refund.shipping_lines):
        charges.append(
            Charge(
                kind="shipping",
                field=f"shipping_lines[{i}]",
                title="Shipping refund",
                description="Shipping refund",
                sku=None,
                quantity=1,
                amount=ship.amount.amount,
                discount=Decimal(0),
                tax=Decimal(0),
                tax_lines=ship.tax_lines,
            )
        )
        raw.append(ship.tax.amount)
    for i, adjustment in enumerate(refund.adjustments):
        reason = f": {adjustment.reason}" if adjustment.reason else ""
        charges.append(
            Charge(
                kind="refund",
                field=f"adjustments[{i}]",
                title=adjustment.kind,
                description=f"Refund adjustment ({adjustment.kind}){reason}"[:_DESCRIPTION_MAX],
                sku=None,
                quantity=0,
                amount=adjustment.amount.amount,
                discount=Decimal(0),
                tax=Decimal(0),
                tax_lines=(),
            )
        )
        raw.append(adjustment.tax.amount)
    shares = spread_tax(refund.totals.tax.amount, raw, [c.amount for c in charges], refund.currency)
    return [replace(c, tax=share) for c, share in zip(charges, shares, strict=True)]


def _unit_shares(amount: Decimal, quantity: int, currency: str) -> list[Decimal]:
    return allocate(amount, [Decimal(1)] * quantity, currency)


def slice_charge(charge: Charge, start: int, stop: int, currency: str) -> Charge:
    """Units `start` to `stop` of a product charge (for one fulfillment's invoice).

    Amount, discount and tax are shared across the units once, with `allocate`, so the slices of
    all fulfillments add up to the line exactly whatever the shipments.
    """
    count = stop - start
    if charge.quantity == 0:
        return replace(charge, quantity=count)

    def part(value: Decimal) -> Decimal:
        return sum(_unit_shares(value, charge.quantity, currency)[start:stop], Decimal(0))

    return replace(
        charge,
        quantity=count,
        amount=part(charge.amount),
        discount=part(charge.discount),
        tax=part(charge.tax),
    )


def _item(charge: Charge, settings: Settings) -> refs.Ref:
    if charge.kind == "product":
        return refs.item_ref(charge.sku, charge.title, settings)
    if charge.kind == "gift_card":
        # A gift card sold is a liability: never auto-created as an income item.
        return refs.named("Item", settings.gift_card_liability_item)
    name = {
        "shipping": settings.shipping_item,
        "fee": settings.fee_item,
        "tip": settings.tip_item,
        "refund": settings.refund_item,
    }[charge.kind]
    return refs.service_item(name, settings)


def _split_tax(tax: Decimal, amounts: Sequence[Decimal], currency: str) -> list[Decimal]:
    weights = [abs(a) for a in amounts]
    if sum(weights, Decimal(0)) == 0:
        return [tax] + [Decimal(0)] * (len(amounts) - 1)
    return allocate(tax, weights, currency)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How a document's charges become lines."""

    currency: str
    prices_include_tax: bool
    fold_discounts: bool
    discount_note: str


def render_lines(
    charges: Sequence[Charge], settings: Settings, options: RenderOptions
) -> list[dict[str, Any]]:
    """QuickBooks `Line[]` for the charges (SalesItemLineDetail, SubTotal + DiscountLineDetail).

    Raises:
        MappingError: a line's tax has no TaxCode (tax_codes mode).
    """
    currency = options.currency
    inclusive = options.prices_include_tax
    lines: list[dict[str, Any]] = []
    discount_total = Decimal(0)
    goods_total = Decimal(0)
    last_goods_index = -1
    for charge in charges:
        folded = options.fold_discounts or charge.kind not in {"product", "gift_card"}
        before = charge.amount + (Decimal(0) if folded else charge.discount)
        if not folded:
            discount_total += charge.discount
        net = before - charge.tax if inclusive else before
        tax_code = line_tax_code(
            charge.tax_lines, charge.tax, settings, charge.field, exempt=charge.exempt
        )
        parts = price_line(net, charge.quantity, currency)
        part_taxes = _split_tax(charge.tax, [p.amount for p in parts], currency) if parts else []
        for part, part_tax in zip(parts, part_taxes, strict=True):
            detail: dict[str, Any] = {
                "ItemRef": _item(charge, settings),
                "Qty": quantity_text(part.quantity),
                "UnitPrice": money_text(part.unit_price, currency),
                "TaxCodeRef": tax_code,
            }
            if inclusive and settings.tax_mode == "tax_codes":
                detail["TaxInclusiveAmt"] = money_text(part.amount + part_tax, currency)
            lines.append(
                {
                    "Amount": money_text(part.amount, currency),
                    "Description": charge.description,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail,
                }
            )
            if charge.kind in {"product", "gift_card"}:
                goods_total += part.amount
                last_goods_index = len(lines) - 1
    if discount_total != 0:
        discount_lines = [
            {
                "Amount": money_text(goods_total, currency),
                "DetailType": "SubTotalLineDetail",
                "SubTotalLineDetail": {},
            },
            {
                "Amount": money_text(discount_total, currency),
                "Description": options.discount_note,
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": {
                    "DiscountAccountRef": refs.account(settings.discount_account),
                    "PercentBased": False,
                },
            },
        ]
        lines[last_goods_index + 1 : last_goods_index + 1] = discount_lines
    return lines


def charges_total(charges: Sequence[Charge], *, prices_include_tax: bool) -> Decimal:
    """What a document of these charges totals: amounts (+ tax when tax is on top)."""
    amount = sum((c.amount for c in charges), Decimal(0))
    tax = sum((c.tax for c in charges), Decimal(0))
    return amount if prices_include_tax else amount + tax


def charges_rate_tax_lines(
    charges: Sequence[Charge], settings: Settings, *, currency: str, prices_include_tax: bool
) -> list[dict[str, Any]] | None:
    """The document's `TxnTaxDetail.TaxLine` (tax_codes mode with TaxRates named), else None.

    Each charge's net is its `Line.Amount` total: the amount after discounts (tax_codes documents
    always fold discounts into the lines), less its tax share when prices include tax.

    Raises:
        MappingError: MAP-UNMAPPED-TAX for a charged tax without a TaxRate.
    """
    taxed = [
        TaxedLine(
            field=c.field,
            tax_lines=c.tax_lines,
            tax=c.tax,
            net=c.amount - c.tax if prices_include_tax else c.amount,
        )
        for c in charges
        if not c.exempt
    ]
    return rate_tax_lines(taxed, currency, settings)


def charges_tax(charges: Sequence[Charge]) -> Decimal:
    """The tax of a document of these charges."""
    return sum((c.tax for c in charges), Decimal(0))
