"""QuickBooks line arithmetic: Amount = UnitPrice x Qty exactly, at the currency's precision.

QuickBooks rejects a sales line whose Amount is not UnitPrice x Qty (2 decimals for USD). A store
line's amount divided by its quantity often is not a whole number of cents (3 units for 100.00;
a discount spread over 7 units), so `price_line` splits such a line in two: the amount is shared
across the units exactly as `kconnector_canonical.money.allocate(amount, [1] * qty)` would share
it (largest remainders, earliest first), and units with the same share form one line. The
quantity, and so the inventory movement, is kept; the two parts add up to the amount exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kconnector_canonical.money import format_amount, minor_units, quantize


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency (0.01 for USD, 1 for JPY)."""
    return Decimal(1).scaleb(-minor_units(currency))


def money_text(amount: Decimal, currency: str) -> str:
    """The amount as a decimal string at the currency's precision ("19.90")."""
    return format_amount(quantize(amount, currency))


def quantity_text(quantity: int) -> str:
    """A quantity as a decimal string."""
    return str(quantity)


@dataclass(frozen=True, slots=True)
class PricedQuantity:
    """One QuickBooks line's numbers: `unit_price * quantity == amount` exactly."""

    quantity: int
    unit_price: Decimal
    amount: Decimal


def price_line(amount: Decimal, quantity: int, currency: str) -> list[PricedQuantity]:
    """Lines whose UnitPrice x Qty add up to `amount`, keeping the quantity where possible.

    Args:
        amount: the line amount, at the currency's precision (may be negative).
        quantity: the units; 0 (an amount with no units) becomes one line of Qty 1.
        currency: ISO 4217 code.

    Returns:
        One line when the amount divides evenly, else two (higher share first); none for a zero
        amount with zero quantity.
    """
    unit = minor_unit(currency)
    if quantity <= 0:
        return [] if amount == 0 else [PricedQuantity(1, amount, amount)]
    sign = -1 if amount < 0 else 1
    minor_total = int((abs(amount) / unit).to_integral_value())
    share, extra = divmod(minor_total, quantity)
    low = sign * share * unit
    if extra == 0:
        return [PricedQuantity(quantity, low, low * quantity)]
    high = sign * (share + 1) * unit
    return [
        PricedQuantity(extra, high, high * extra),
        PricedQuantity(quantity - extra, low, low * (quantity - extra)),
    ]
