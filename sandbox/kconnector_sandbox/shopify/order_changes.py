"""What an admin change does to an order's lines (pure: no shop state, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kconnector_sandbox.shopify.spec import FulfillmentSpec, LineSpec, OrderSpec, RefundSpec


class InvalidChangeError(ValueError):
    """An admin change that the order cannot take (the message says why)."""


def edited_lines(
    spec: OrderSpec, quantities: dict[int, int], *, paid: bool
) -> tuple[tuple[LineSpec, ...], tuple[tuple[int, int], ...]]:
    """The lines after an edit setting `quantities`, and the units it removes from a paid order.

    Raises:
        InvalidChangeError: for a line that does not exist or a quantity it cannot take.
    """
    lines = list(spec.lines)
    refunded = _units(spec.refunds)
    fulfilled = _units(spec.fulfillments)
    removed: list[tuple[int, int]] = []
    for index, quantity in sorted(quantities.items()):
        if not 0 <= index < len(lines):
            msg = f"line {index} cannot take quantity {quantity}: the order has {len(lines)} lines"
            raise InvalidChangeError(msg)
        taken_back = refunded.get(index, 0)
        current = lines[index].quantity - taken_back
        # Fulfilled units stay. A paid order's quantity is the current one (refunded units
        # excluded); an unpaid order's counts every unit.
        shipped = fulfilled.get(index, 0)
        floor = max(1, shipped - taken_back) if paid else max(1, taken_back, shipped)
        if quantity < floor:
            msg = f"line {index} cannot take quantity {quantity} (at least {floor})"
            raise InvalidChangeError(msg)
        if not paid:
            lines[index] = replace(lines[index], quantity=quantity)
        elif quantity > current:
            lines[index] = replace(
                lines[index], quantity=lines[index].quantity + quantity - current
            )
        elif quantity < current:
            removed.append((index, current - quantity))
    return tuple(lines), tuple(removed)


def _units(changes: tuple[RefundSpec, ...] | tuple[FulfillmentSpec, ...]) -> dict[int, int]:
    """Units per line index over refunds or fulfilments."""
    units: dict[int, int] = {}
    for change in changes:
        for index, quantity in change.lines:
            units[index] = units.get(index, 0) + quantity
    return units
