"""Spread an order's coupons over its lines, exactly, from what WooCommerce stores.

WooCommerce stores each line's discount only as `subtotal - total` (plus the tax difference in
a tax-inclusive store) and each coupon's total in `coupon_lines[].discount`; it does not say how
much of which coupon went to which line. K-Connector rebuilds that split so that every line's
allocations add up to its discount and every coupon's allocations add up to its amount:

1. the coupons' amounts are scaled to what the lines actually lost (they differ only by rounding
   in tax-inclusive stores), largest remainders first;
2. each coupon but the last takes its share of every line in proportion to what the line still
   has to allocate (`kconnector_canonical.allocate`: exact, deterministic); the last coupon takes
   what is left. A share never exceeds what the line has left, so no allocation is negative.

Lines whose discount is not positive (a price raised by hand) get no allocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kconnector_canonical import allocate


@dataclass(frozen=True)
class DiscountSplit:
    """Per coupon: its amount; per line: (coupon index, amount) allocations."""

    coupon_amounts: list[Decimal]
    line_allocations: list[list[tuple[int, Decimal]]]


def split_discounts(
    line_discounts: list[Decimal], coupon_amounts: list[Decimal], currency: str
) -> DiscountSplit:
    """Allocate the line discounts to the coupons (see the module docstring).

    Args:
        line_discounts: each line's discount, at the currency's precision.
        coupon_amounts: each coupon's amount as WooCommerce reports it (non-negative).
        currency: the order currency (for the minor unit).

    Returns:
        The coupons' amounts as allocated (they sum to the positive line discounts) and each
        line's allocations (they sum to the line's discount). With no coupon, or coupons worth
        nothing, the coupons' amounts are returned unchanged and no line is allocated.
    """
    capacities = [max(discount, Decimal(0)) for discount in line_discounts]
    to_allocate = sum(capacities, Decimal(0))
    no_lines: list[list[tuple[int, Decimal]]] = [[] for _ in line_discounts]
    weights = [max(amount, Decimal(0)) for amount in coupon_amounts]
    if not coupon_amounts or sum(weights, Decimal(0)) == 0 or to_allocate == 0:
        return DiscountSplit(list(coupon_amounts), no_lines)
    targets = allocate(to_allocate, weights, currency)
    remaining = list(capacities)
    allocations = no_lines
    for coupon_index, target in enumerate(targets):
        if coupon_index == len(targets) - 1:
            shares = list(remaining)
        else:
            shares = (
                allocate(target, remaining, currency) if target else [Decimal(0)] * len(remaining)
            )
        for line_index, share in enumerate(shares):
            if share != 0:
                allocations[line_index].append((coupon_index, share))
                remaining[line_index] -= share
    return DiscountSplit(targets, allocations)
