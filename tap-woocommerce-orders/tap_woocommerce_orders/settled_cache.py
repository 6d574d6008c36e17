"""What the orders and refunds streams settled this run, kept for the payouts stream (pure).

The payouts stream estimates payouts from the payments and refunds of the orders modified since
its re-read start. Most of those orders were just read by the orders stream (and their refunds
by the refunds stream) in the same run, so reading them again doubles the requests. The orders
and refunds streams leave here the settled money of each order they emit (no customer data),
and the range of modification dates the orders stream read completely; the payouts stream
reads only what lies outside that range, and the refunds of orders whose refunds were not read
(the refunds stream deselected, or an order deleted meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from tap_woocommerce_orders.payout_estimate import SettledMoney
    from tap_woocommerce_orders.refund_normalizer import RefundParent


@dataclass
class SettledOrder:
    """One order's settled money, and which of its refunds are still to be read."""

    modified: datetime
    payments: list[SettledMoney]
    parent: RefundParent | None
    refunds_expected: frozenset[str]
    refunds: dict[str, list[SettledMoney]] = field(default_factory=dict)

    @property
    def refunds_missing(self) -> bool:
        """Whether some refund listed by the order was not read by the refunds stream."""
        return not self.refunds_expected <= set(self.refunds)


@dataclass(frozen=True)
class CoveredRange:
    """Modification dates [start, end) the orders stream read completely this run."""

    start: datetime
    end: datetime


class SettledCache:
    """Settled money of the orders read this run, by order source id."""

    def __init__(self) -> None:
        """Empty; collects nothing until `wanted` says the payouts stream will use it."""
        self._orders: dict[str, SettledOrder] = {}
        self.covered: CoveredRange | None = None
        self.wanted: Callable[[], bool] = lambda: False

    def keep_order(self, order_source_id: str, order: SettledOrder) -> None:
        """Keep (or replace) an order's settled money."""
        self._orders[order_source_id] = order

    def keep_refund(
        self, order_source_id: str, refund_source_id: str, entries: list[SettledMoney]
    ) -> None:
        """Keep a refund's settled money under its order (ignored when the order is unknown)."""
        order = self._orders.get(order_source_id)
        if order is not None:
            order.refunds[refund_source_id] = entries

    def mark_covered(self, start: datetime, end: datetime) -> None:
        """The orders stream read every order modified in [start, end)."""
        self.covered = CoveredRange(start, end)

    def orders_since(self, start: datetime) -> dict[str, SettledOrder]:
        """The kept orders modified at or after `start`."""
        return {key: order for key, order in self._orders.items() if order.modified >= start}
