"""WooCommerce's money arithmetic, in `Decimal`: PHP rounding modes, tax calculation, formats.

Sources (WooCommerce core, plugins/woocommerce):
- `class-woocommerce.php` `define_constants()`: `WC_ROUNDING_PRECISION` = 6,
  `WC_DISCOUNT_ROUNDING_MODE` = 2 (PHP_ROUND_HALF_DOWN), `WC_TAX_ROUNDING_MODE` = 2 when prices
  include tax, else 1
  (PHP_ROUND_HALF_UP).
  https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-woocommerce.php
- `wc-formatting-functions.php` `wc_round_tax_total()`: rounds to the price decimals with
  `WC_TAX_ROUNDING_MODE`.
  https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/wc-formatting-functions.php
- `class-wc-tax.php` `calc_exclusive_tax()` / `calc_inclusive_tax()`: regular rates apply to the
  price, compound rates to the price plus the regular taxes; results rounded to
  `WC_ROUNDING_PRECISION` half up. https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-wc-tax.php
- PHP `round()`: PHP_ROUND_HALF_UP rounds half away from zero, PHP_ROUND_HALF_DOWN half towards
  zero; PHP pre-rounds so that decimal inputs such as 1.005 round as written, which is what exact
  `Decimal` arithmetic gives. https://www.php.net/manual/en/function.round.php
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

ROUNDING_PRECISION = 6  # WC_ROUNDING_PRECISION
PRICE_DECIMALS = 2  # wc_get_price_decimals() of the emulated stores
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class RoundingMode(Enum):
    """The PHP round() modes WooCommerce uses."""

    HALF_UP = ROUND_HALF_UP  # PHP_ROUND_HALF_UP: half away from zero
    HALF_DOWN = ROUND_HALF_DOWN  # PHP_ROUND_HALF_DOWN: half towards zero


def php_round(value: Decimal, places: int, mode: RoundingMode = RoundingMode.HALF_UP) -> Decimal:
    """PHP `round($value, $places, $mode)` on an exact decimal."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=mode.value)


def round_cents(value: Decimal, mode: RoundingMode = RoundingMode.HALF_UP) -> Decimal:
    """Round to the store's price decimals."""
    return php_round(value, PRICE_DECIMALS, mode)


def floor_cents(value: Decimal) -> Decimal:
    """Round down to whole cents (WC_Discounts works in cents and floors)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


@dataclass(frozen=True)
class TaxRate:
    """One row of the store's tax table (WooCommerce > Settings > Tax).

    Attributes:
        rate_id: `tax_rate_id`, shown as `taxes[].id` and `tax_lines[].rate_id`.
        country: ISO country code of the rate's location.
        state: state/province code ("" for any).
        name: the rate's label (`tax_lines[].label`).
        percent: rate in percent with up to 4 decimals, as WooCommerce stores it.
        priority: rate priority (part of the rate code).
        compound: applied on top of the other taxes.
        shipping: whether the rate also applies to shipping.
        tax_class: "" for the standard class, else the class slug.
    """

    rate_id: int
    country: str
    state: str
    name: str
    percent: Decimal
    priority: int = 1
    compound: bool = False
    shipping: bool = True
    tax_class: str = ""

    @property
    def rate_code(self) -> str:
        """`WC_Tax::get_rate_code()`: COUNTRY-STATE-NAME-PRIORITY, upper case."""
        parts = [self.country, self.state, self.name or "TAX", str(self.priority)]
        return "-".join(part for part in parts if part).upper()


def calc_exclusive_tax(price: Decimal, rates: Sequence[TaxRate]) -> dict[int, Decimal]:
    """Taxes on a price that excludes tax, per rate id, at 6 decimals (WC_Tax::calc_exclusive_tax).

    Regular rates apply to the price; each compound rate applies to the price plus all the
    taxes before it.
    """
    taxes: dict[int, Decimal] = {}
    for rate in rates:
        if not rate.compound:
            taxes[rate.rate_id] = price * rate.percent / HUNDRED
    for rate in rates:
        if rate.compound:
            base = price + sum(taxes.values(), ZERO)
            taxes[rate.rate_id] = base * rate.percent / HUNDRED
    return {rate_id: php_round(tax, ROUNDING_PRECISION) for rate_id, tax in taxes.items()}


def calc_inclusive_tax(price: Decimal, rates: Sequence[TaxRate]) -> dict[int, Decimal]:
    """Taxes contained in a tax-inclusive price, per rate id, at 6 decimals.

    Mirrors WC_Tax::calc_inclusive_tax: the compound rates are backed out first, then the
    regular ones share what is left in proportion to their rates.
    """
    regular = sum((r.percent for r in rates if not r.compound), ZERO)
    compound = sum((r.percent for r in rates if r.compound), ZERO)
    regular_factor = 1 + regular / HUNDRED
    compound_factor = 1 + compound / HUNDRED
    non_compound_price = price / compound_factor
    taxes: dict[int, Decimal] = {}
    for rate in rates:
        fraction = rate.percent / HUNDRED
        if rate.compound:
            base, fraction = price, fraction / compound_factor
        else:
            base, fraction = non_compound_price, fraction / regular_factor
        taxes[rate.rate_id] = php_round(fraction * base, ROUNDING_PRECISION)
    return taxes


def sum_amounts(values: Iterable[Decimal]) -> Decimal:
    """Exact sum of amounts (0 for none)."""
    return sum(values, ZERO)


def round_taxes(
    taxes: Mapping[int, Decimal], *, round_at_subtotal: bool, mode: RoundingMode
) -> dict[int, Decimal]:
    """The per-rate taxes an order item stores.

    Rounded to cents with the tax rounding mode unless the store rounds at subtotal level
    (`woocommerce_tax_round_at_subtotal`), in which case the 6-decimal values are kept.
    """
    if round_at_subtotal:
        return dict(taxes)
    return {rate_id: round_cents(tax, mode) for rate_id, tax in taxes.items()}


def money(value: Decimal) -> str:
    """`wc_format_decimal($value, 2)`: a 2-decimal string, as the REST API sends money."""
    return f"{round_cents(value):.2f}"


def raw_decimal(value: Decimal) -> str:
    """A stored tax amount as WooCommerce keeps it: plain decimal, no trailing zeros ("6.7")."""
    if value == 0:
        return "0"
    text = f"{value.normalize():f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def json_number(value: Decimal) -> Decimal:
    """A price as PHP's `json_encode` writes a float: at most 17 significant digits, no zeros.

    Returned as a `Decimal` so the JSON writer can emit it as a number literal.
    """
    if value == 0:
        return ZERO
    significant = 17  # a PHP float round-trips in 17 significant digits
    limited = value.quantize(Decimal(1).scaleb(value.adjusted() - significant + 1))
    return limited.normalize()
