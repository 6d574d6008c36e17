"""Shopify's order arithmetic in one currency, as a pure function of an `OrderSpec`.

How Shopify computes an order (and so what this module reproduces):

- a line's original total is unit price x quantity;
- a line-level discount is allocated to its line; an order-level discount ("ACROSS") is split
  across the eligible lines in proportion to their (already line-discounted) totals, the rounding
  remainder going to the last line, so the allocations always add up to the application's amount;
  a percentage discount is rounded per line;
- tax is computed per line item and per jurisdiction, rounded per line (not on the order total);
  in a tax-inclusive shop (`taxesIncluded`) prices already contain tax and the tax is the part
  ``price * rate / (1 + sum of rates)``;
- shipping lines carry their own discount allocations and tax lines;
- ``subtotal = sum(line totals - allocations)``, ``total = subtotal + shipping + tax (unless
  included) + tip``; refunds reduce the ``current*`` figures.

Each currency of an order (shop and presentment) is priced by this same function from leaf amounts
converted once (unit prices, fixed discount values, shipping prices, tip), so each currency view is
internally consistent on its own, as Shopify's ``shopMoney``/``presentmentMoney`` pairs are.
Rounding is half-up to the cent (Shopify documents per-line rounding, not the mode; half-up is
what its amounts show).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from kconnector_sandbox.shopify.spec import DiscountTarget, OrderSpec

if TYPE_CHECKING:
    from collections.abc import Callable

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    """Round to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Allocation:
    """One discount application's share on one line or shipping line."""

    application_index: int
    amount: Decimal


@dataclass(frozen=True)
class PricedLine:
    """A line's money in one currency."""

    unit_price: Decimal
    original_total: Decimal
    allocations: tuple[Allocation, ...]
    line_level_discount: Decimal
    total_discount: Decimal
    discounted_total: Decimal  # after every allocation: the tax base (tax-inclusive: with tax)
    taxes: tuple[Decimal, ...]  # one per order tax rate; empty when not taxed


@dataclass(frozen=True)
class PricedShipping:
    """A shipping line's money in one currency."""

    original: Decimal
    allocations: tuple[Allocation, ...]
    discounted: Decimal
    taxes: tuple[Decimal, ...]


@dataclass(frozen=True)
class PricedRefundLine:
    """A refunded quantity in one currency."""

    line_index: int
    quantity: int
    subtotal: Decimal
    taxes: tuple[Decimal, ...]

    @property
    def tax(self) -> Decimal:
        """Total tax refunded on this line."""
        return sum(self.taxes, ZERO)


@dataclass(frozen=True)
class PricedRefundShipping:
    """Refunded shipping of one shipping line in one currency."""

    shipping_index: int
    subtotal: Decimal
    taxes: tuple[Decimal, ...]

    @property
    def tax(self) -> Decimal:
        """Total tax refunded on this shipping line."""
        return sum(self.taxes, ZERO)


@dataclass(frozen=True)
class PricedRefund:
    """A refund's money in one currency."""

    lines: tuple[PricedRefundLine, ...]
    shipping: tuple[PricedRefundShipping, ...]
    adjustment: Decimal  # refund discrepancy: calculated minus actual (negative = extra refunded)
    total: Decimal  # what the refund transaction returns to the customer


@dataclass(frozen=True)
class PricedOrder:
    """Every amount of an order in one currency."""

    lines: tuple[PricedLine, ...]
    shipping: tuple[PricedShipping, ...]
    application_values: tuple[Decimal | None, ...]  # fixed-amount values (None for percentages)
    application_amounts: tuple[Decimal, ...]  # sum of each application's allocations
    tax_amounts: tuple[Decimal, ...]  # per order tax rate
    current_tax_amounts: tuple[Decimal, ...]
    subtotal: Decimal
    total_discounts: Decimal
    shipping_total: Decimal
    total_tax: Decimal
    tip: Decimal
    total: Decimal
    refunds: tuple[PricedRefund, ...]
    refunded_shipping: Decimal
    current_subtotal: Decimal
    current_discounts: Decimal
    current_shipping: Decimal
    current_tax: Decimal
    current_total: Decimal
    gift_card_payment: Decimal
    partial_payment: Decimal


def _tax_parts(base: Decimal, rates: tuple[Decimal, ...], *, included: bool) -> tuple[Decimal, ...]:
    if included:
        divisor = Decimal(1) + sum(rates, Decimal(0))
        return tuple(round_money(base * rate / divisor) for rate in rates)
    return tuple(round_money(base * rate) for rate in rates)


def _split_across(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` in proportion to `weights`; the last share takes the rounding remainder."""
    weight_sum = sum(weights, Decimal(0))
    if weight_sum <= 0:
        return [ZERO for _ in weights]
    shares = [round_money(total * w / weight_sum) for w in weights[:-1]]
    shares.append(total - sum(shares, ZERO))
    return shares


def price_order(  # noqa: C901, PLR0912, PLR0915 - one linear computation, clearer unsplit
    spec: OrderSpec, convert: Callable[[Decimal], Decimal]
) -> PricedOrder:
    """Price `spec` in one currency.

    Args:
        spec: the order's inputs (amounts in the presentment currency).
        convert: maps a presentment leaf amount into this view's currency (identity for the
            presentment view; divide by the exchange rate and round for the shop view).

    Returns:
        Every amount of the order in that currency.
    """
    rates = tuple(rate.rate for rate in spec.tax_rates)
    included = spec.taxes_included
    units = [convert(line.unit_price) for line in spec.lines]
    originals = [unit * line.quantity for unit, line in zip(units, spec.lines, strict=True)]
    allocations: list[list[Allocation]] = [[] for _ in spec.lines]
    ship_originals = [convert(ship.price) for ship in spec.shipping_lines]
    ship_allocations: list[list[Allocation]] = [[] for _ in spec.shipping_lines]
    values: list[Decimal | None] = []

    for index, discount in enumerate(spec.discounts):
        value = None if discount.amount is None else convert(discount.amount)
        values.append(value)
        pct = (discount.percentage or Decimal(0)) / Decimal(100)
        if discount.target is DiscountTarget.LINES:
            targets = list(discount.line_indexes)
            if value is None:
                shares = [round_money(originals[i] * pct) for i in targets]
            else:
                shares = _split_across(value, [originals[i] for i in targets])
            for i, share in zip(targets, shares, strict=True):
                allocations[i].append(Allocation(index, share))
        elif discount.target is DiscountTarget.ORDER:
            targets = [i for i, line in enumerate(spec.lines) if not line.is_gift_card]
            bases = [originals[i] - sum((a.amount for a in allocations[i]), ZERO) for i in targets]
            if value is None:
                shares = [round_money(base * pct) for base in bases]
            else:
                shares = _split_across(value, bases)
            for i, share in zip(targets, shares, strict=True):
                allocations[i].append(Allocation(index, share))
        else:
            for s, original in enumerate(ship_originals):
                share = round_money(original * pct) if value is None else min(value, original)
                if value is not None and s > 0:
                    share = ZERO
                ship_allocations[s].append(Allocation(index, share))

    lines: list[PricedLine] = []
    for i, line in enumerate(spec.lines):
        total_discount = sum((a.amount for a in allocations[i]), ZERO)
        line_level = sum(
            (
                a.amount
                for a in allocations[i]
                if spec.discounts[a.application_index].target is DiscountTarget.LINES
            ),
            ZERO,
        )
        base = originals[i] - total_discount
        taxed = line.taxable and not line.is_gift_card and bool(rates)
        lines.append(
            PricedLine(
                unit_price=units[i],
                original_total=originals[i],
                allocations=tuple(allocations[i]),
                line_level_discount=line_level,
                total_discount=total_discount,
                discounted_total=base,
                taxes=_tax_parts(base, rates, included=included) if taxed else (),
            )
        )

    ship_rates = tuple(
        rate.rate if rate.applies_to_shipping else Decimal(0) for rate in spec.tax_rates
    )
    shipping: list[PricedShipping] = []
    for s, original in enumerate(ship_originals):
        discounted = original - sum((a.amount for a in ship_allocations[s]), ZERO)
        taxes = _tax_parts(discounted, ship_rates, included=included) if rates else ()
        shipping.append(PricedShipping(original, tuple(ship_allocations[s]), discounted, taxes))

    n_rates = len(rates)
    tax_amounts = [ZERO] * n_rates
    priced_parts: list[PricedLine | PricedShipping] = [*lines, *shipping]
    for priced in priced_parts:
        for r, amount in enumerate(priced.taxes):
            tax_amounts[r] += amount

    application_amounts = [ZERO] * len(spec.discounts)
    for priced_alloc in priced_parts:
        for alloc in priced_alloc.allocations:
            application_amounts[alloc.application_index] += alloc.amount

    subtotal = sum((line.discounted_total for line in lines), ZERO)
    line_discounts = sum((line.total_discount for line in lines), ZERO)
    ship_discounts = sum((s.original - s.discounted for s in shipping), ZERO)
    shipping_total = sum((s.discounted for s in shipping), ZERO)
    total_tax = sum(tax_amounts, ZERO)
    tip = convert(spec.tip)
    total = subtotal + shipping_total + (ZERO if included else total_tax) + tip

    # refunds, in order; the last refund of a line's remaining quantity takes what is left so that
    # a fully refunded line refunds exactly what was charged
    refunded_qty = [0] * len(lines)
    refunded_sub = [ZERO] * len(lines)
    refunded_tax = [[ZERO] * n_rates for _ in lines]
    shipping_refunded = [False] * len(shipping)
    refunds: list[PricedRefund] = []
    for refund in spec.refunds:
        refund_lines: list[PricedRefundLine] = []
        for i, quantity in refund.lines:
            priced_line = lines[i]
            quantity_total = spec.lines[i].quantity
            refunded_qty[i] += quantity
            if refunded_qty[i] >= quantity_total:
                sub = priced_line.discounted_total - refunded_sub[i]
                taxes = tuple(
                    amount - refunded_tax[i][r] for r, amount in enumerate(priced_line.taxes)
                )
            else:
                share = Decimal(quantity) / Decimal(quantity_total)
                sub = round_money(priced_line.discounted_total * share)
                taxes = tuple(round_money(amount * share) for amount in priced_line.taxes)
            refunded_sub[i] += sub
            for r, amount in enumerate(taxes):
                refunded_tax[i][r] += amount
            refund_lines.append(PricedRefundLine(i, quantity, sub, taxes))
        refund_shipping: list[PricedRefundShipping] = []
        if refund.shipping:
            for s, ship in enumerate(shipping):
                if not shipping_refunded[s]:
                    shipping_refunded[s] = True
                    refund_shipping.append(PricedRefundShipping(s, ship.discounted, ship.taxes))
        adjustment = -convert(refund.amount_only) if refund.amount_only is not None else ZERO
        refunded_parts: list[PricedRefundLine | PricedRefundShipping] = [
            *refund_lines,
            *refund_shipping,
        ]
        calculated = sum(
            (r.subtotal + (ZERO if included else r.tax) for r in refunded_parts),
            ZERO,
        )
        refunds.append(
            PricedRefund(
                tuple(refund_lines), tuple(refund_shipping), adjustment, calculated - adjustment
            )
        )

    all_refund_lines = [line for refund in refunds for line in refund.lines]
    all_refund_shipping = [ship for refund in refunds for ship in refund.shipping]
    current_tax_amounts = list(tax_amounts)
    refund_parts: list[PricedRefundLine | PricedRefundShipping] = [
        *all_refund_lines,
        *all_refund_shipping,
    ]
    for priced_refund in refund_parts:
        for r, amount in enumerate(priced_refund.taxes):
            current_tax_amounts[r] -= amount
    refunded_subtotal = sum((r.subtotal for r in all_refund_lines), ZERO)
    refunded_shipping = sum((r.subtotal for r in all_refund_shipping), ZERO)
    refunded_discount = sum(
        (lines[r.line_index].unit_price * r.quantity - r.subtotal for r in all_refund_lines), ZERO
    )
    adjustments = sum((refund.adjustment for refund in refunds), ZERO)
    current_subtotal = subtotal - refunded_subtotal
    current_shipping = shipping_total - refunded_shipping
    current_tax = sum(current_tax_amounts, ZERO)
    current_total = (
        current_subtotal
        + current_shipping
        + (ZERO if included else current_tax)
        + tip
        + adjustments
    )
    return PricedOrder(
        lines=tuple(lines),
        shipping=tuple(shipping),
        application_values=tuple(values),
        application_amounts=tuple(application_amounts),
        tax_amounts=tuple(tax_amounts),
        current_tax_amounts=tuple(current_tax_amounts),
        subtotal=subtotal,
        total_discounts=line_discounts + ship_discounts,
        shipping_total=shipping_total,
        total_tax=total_tax,
        tip=tip,
        total=total,
        refunds=tuple(refunds),
        refunded_shipping=refunded_shipping,
        current_subtotal=current_subtotal,
        current_discounts=line_discounts + ship_discounts - refunded_discount,
        current_shipping=current_shipping,
        current_tax=current_tax,
        current_total=current_total,
        gift_card_payment=convert(spec.gift_card_payment),
        partial_payment=convert(spec.partial_payment),
    )


def shop_converter(exchange_rate: Decimal) -> Callable[[Decimal], Decimal]:
    """Convert presentment leaf amounts to the shop currency (divide by the rate, round)."""
    if exchange_rate == 1:
        return lambda amount: amount
    return lambda amount: round_money(amount / exchange_rate)


def presentment_identity(amount: Decimal) -> Decimal:
    """The presentment view's converter: amounts are already in that currency."""
    return amount
