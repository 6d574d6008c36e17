"""Order totals as WooCommerce computes them (pure functions, no I/O).

The model follows `WC_Abstract_Order::calculate_totals()` / `update_taxes()` and the order item
`calculate_taxes()` methods:
- line `subtotal` is before discounts, `total` after; both exclude tax, also in a store whose
  prices include tax (the tax is backed out of the gross price);
- each line, fee and shipping line stores its taxes per rate id; rounded to cents with the store's
  tax rounding mode unless the store rounds at subtotal level, then kept at 6 decimals;
- an order `tax_lines[]` entry sums one rate over lines + fees (`tax_total`) and over shipping
  (`shipping_tax_total`), rounded to cents; `cart_tax` and `shipping_tax` are the sums of those;
- `total` = line totals + fee totals + shipping total + cart tax + shipping tax.

Coupons follow `WC_Discounts` (plugins/woocommerce/includes/class-wc-discounts.php): amounts in
cents, percent and fixed-cart discounts floored per line with the leftover cents handed out one
per line; fixed-product discounts are the amount times the quantity, capped at the line price.
In a tax-inclusive store discounts apply to the gross prices. Source:
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/abstracts/abstract-wc-order.php
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from kconnector_sandbox.woocommerce.tax_math import (
    HUNDRED,
    ZERO,
    RoundingMode,
    calc_exclusive_tax,
    calc_inclusive_tax,
    floor_cents,
    round_cents,
    round_taxes,
    sum_amounts,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kconnector_sandbox.woocommerce.store_profiles import (
        Product,
        Region,
        ShippingMethod,
        StoreProfile,
    )
    from kconnector_sandbox.woocommerce.tax_math import TaxRate

CENT = Decimal("0.01")
CouponKind = Literal["percent", "fixed_cart", "fixed_product"]


@dataclass(frozen=True)
class LineSpec:
    """A product line as ordered."""

    product: Product
    quantity: int


@dataclass(frozen=True)
class CouponSpec:
    """A coupon applied to the cart (amount in percent for `percent`, else money)."""

    code: str
    kind: CouponKind
    amount: Decimal


@dataclass(frozen=True)
class FeeSpec:
    """A cart fee (amount excludes tax)."""

    name: str
    amount: Decimal
    taxable: bool


@dataclass(frozen=True)
class CartSpec:
    """What the customer bought, where it goes, and how."""

    lines: tuple[LineSpec, ...]
    region: Region
    shipping: ShippingMethod | None = None
    coupon: CouponSpec | None = None
    fees: tuple[FeeSpec, ...] = ()


@dataclass(frozen=True)
class LineTotals:
    """One line item's computed amounts (taxes as stored, per rate id)."""

    spec: LineSpec
    subtotal: Decimal
    total: Decimal
    subtotal_taxes: dict[int, Decimal]
    total_taxes: dict[int, Decimal]

    @property
    def subtotal_tax(self) -> Decimal:
        """Sum of the stored subtotal taxes."""
        return sum_amounts(self.subtotal_taxes.values())

    @property
    def total_tax(self) -> Decimal:
        """Sum of the stored total taxes."""
        return sum_amounts(self.total_taxes.values())


@dataclass(frozen=True)
class ChargeTotals:
    """A shipping or fee line's computed amounts."""

    total: Decimal
    taxes: dict[int, Decimal]

    @property
    def total_tax(self) -> Decimal:
        """Sum of the stored taxes."""
        return sum_amounts(self.taxes.values())


@dataclass(frozen=True)
class TaxLineTotals:
    """One `tax_lines[]` entry."""

    rate: TaxRate
    tax_total: Decimal
    shipping_tax_total: Decimal


@dataclass(frozen=True)
class OrderTotals:
    """Every amount of an order, consistent the way WooCommerce makes it."""

    lines: tuple[LineTotals, ...]
    shipping: ChargeTotals | None
    fees: tuple[ChargeTotals, ...]
    tax_lines: tuple[TaxLineTotals, ...]
    discount_total: Decimal
    discount_tax: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal
    cart_tax: Decimal
    total_tax: Decimal
    total: Decimal


def _distribute_leftover(
    discounts: list[Decimal], caps: Sequence[Decimal], leftover: Decimal
) -> None:
    """Hand out leftover cents one per line, in order, never above a line's price."""
    while leftover > 0:
        handed = False
        for index, cap in enumerate(caps):
            if leftover <= 0:
                break
            if discounts[index] + CENT <= cap:
                discounts[index] += CENT
                leftover -= CENT
                handed = True
        if not handed:
            break


def line_discounts(
    bases: Sequence[Decimal], quantities: Sequence[int], coupon: CouponSpec | None
) -> list[Decimal]:
    """Discount per line in the price basis (gross if prices include tax), per WC_Discounts."""
    if coupon is None:
        return [ZERO for _ in bases]
    cart = sum_amounts(bases)
    if coupon.kind == "fixed_product":
        return [min(coupon.amount * qty, base) for base, qty in zip(bases, quantities, strict=True)]
    if coupon.kind == "percent":
        discounts = [floor_cents(base * coupon.amount / HUNDRED) for base in bases]
        target = round_cents(cart * coupon.amount / HUNDRED, RoundingMode.HALF_DOWN)
    else:
        amount = min(coupon.amount, cart)
        discounts = [floor_cents(base * amount / cart) if cart else ZERO for base in bases]
        target = amount
    _distribute_leftover(discounts, bases, target - sum_amounts(discounts))
    return discounts


def _line_totals(
    spec: LineSpec, base: Decimal, discount: Decimal, cart: CartSpec, profile: StoreProfile
) -> LineTotals:
    rates = profile.rates_for(cart.region, spec.product.tax_class)
    mode = profile.tax_rounding_mode
    gross_or_net_total = base - discount
    if profile.prices_include_tax:
        sub_taxes = round_taxes(
            calc_inclusive_tax(base, rates), round_at_subtotal=profile.round_at_subtotal, mode=mode
        )
        tot_taxes = round_taxes(
            calc_inclusive_tax(gross_or_net_total, rates),
            round_at_subtotal=profile.round_at_subtotal,
            mode=mode,
        )
        subtotal = round_cents(base - sum_amounts(sub_taxes.values()), mode)
        total = round_cents(gross_or_net_total - sum_amounts(tot_taxes.values()), mode)
    else:
        subtotal, total = base, gross_or_net_total
        sub_taxes = round_taxes(
            calc_exclusive_tax(subtotal, rates),
            round_at_subtotal=profile.round_at_subtotal,
            mode=mode,
        )
        tot_taxes = round_taxes(
            calc_exclusive_tax(total, rates), round_at_subtotal=profile.round_at_subtotal, mode=mode
        )
    return LineTotals(spec, subtotal, total, sub_taxes, tot_taxes)


def _charge_totals(
    amount: Decimal, rates: Sequence[TaxRate], profile: StoreProfile
) -> ChargeTotals:
    taxes = round_taxes(
        calc_exclusive_tax(amount, rates),
        round_at_subtotal=profile.round_at_subtotal,
        mode=profile.tax_rounding_mode,
    )
    return ChargeTotals(amount, taxes)


def compute_order(cart: CartSpec, profile: StoreProfile) -> OrderTotals:
    """All amounts of an order for this cart in this store."""
    mode = profile.tax_rounding_mode
    bases = [line.product.price * line.quantity for line in cart.lines]
    discounts = line_discounts(bases, [line.quantity for line in cart.lines], cart.coupon)
    lines = tuple(
        _line_totals(spec, base, discount, cart, profile)
        for spec, base, discount in zip(cart.lines, bases, discounts, strict=True)
    )
    standard_rates = profile.rates_for(cart.region, "")
    shipping = None
    if cart.shipping is not None:
        shipping_rates = [rate for rate in standard_rates if rate.shipping]
        shipping = _charge_totals(cart.shipping.cost, shipping_rates, profile)
    fees = tuple(
        _charge_totals(fee.amount, standard_rates if fee.taxable else (), profile)
        for fee in cart.fees
    )
    cart_by_rate: dict[int, Decimal] = {}
    shipping_by_rate: dict[int, Decimal] = {}
    for taxes in [line.total_taxes for line in lines] + [fee.taxes for fee in fees]:
        for rate_id, tax in taxes.items():
            cart_by_rate[rate_id] = cart_by_rate.get(rate_id, ZERO) + tax
    for rate_id, tax in (shipping.taxes if shipping else {}).items():
        shipping_by_rate[rate_id] = shipping_by_rate.get(rate_id, ZERO) + tax
    rate_ids = list(dict.fromkeys([*cart_by_rate, *shipping_by_rate]))
    tax_lines = tuple(
        TaxLineTotals(
            profile.rate(rate_id),
            round_cents(cart_by_rate.get(rate_id, ZERO), mode),
            round_cents(shipping_by_rate.get(rate_id, ZERO), mode),
        )
        for rate_id in rate_ids
    )
    cart_tax = sum_amounts(t.tax_total for t in tax_lines)
    shipping_tax = sum_amounts(t.shipping_tax_total for t in tax_lines)
    shipping_total = shipping.total if shipping else ZERO
    items_total = sum_amounts(line.total for line in lines)
    fees_total = sum_amounts(fee.total for fee in fees)
    return OrderTotals(
        lines=lines,
        shipping=shipping,
        fees=fees,
        tax_lines=tax_lines,
        discount_total=sum_amounts(line.subtotal - line.total for line in lines),
        discount_tax=round_cents(
            sum_amounts(line.subtotal_tax - line.total_tax for line in lines), mode
        ),
        shipping_total=shipping_total,
        shipping_tax=shipping_tax,
        cart_tax=cart_tax,
        total_tax=cart_tax + shipping_tax,
        total=items_total + fees_total + shipping_total + cart_tax + shipping_tax,
    )
