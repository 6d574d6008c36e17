"""Date windows on `updated_at` small enough to page through completely.

Shopify will not page past 25,000 objects in one query
(https://shopify.dev/docs/api/usage/limits, "pagination"); a backfill of a large store is cut
into windows, each halved until `ordersCount` says it holds fewer orders than the target. The
windows touch (both bounds inclusive): an order on a boundary is read twice and deduplicated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PAGINATION_CAP = 25_000
WINDOW_TARGET = 20_000  # leave room for orders updated while the window is being read
_SMALLEST = timedelta(seconds=1)


def utc_z(moment: datetime) -> str:
    """A timestamp for Shopify search: UTC, seconds, explicit `Z` (never a naive local time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Window:
    """An inclusive range of `updated_at`."""

    start: datetime
    end: datetime

    def search(self, *, include_test_orders: bool) -> str:
        """The orders search filter.

        Syntax: https://shopify.dev/docs/api/usage/search-syntax; the `updated_at` and `test`
        filters of the orders query: https://shopify.dev/docs/api/admin-graphql/latest/queries/orders.
        """
        text = f"updated_at:>='{utc_z(self.start)}' AND updated_at:<='{utc_z(self.end)}'"
        return text if include_test_orders else f"{text} AND test:false"


# counts the orders of a window, up to `limit`
CountOrders = Callable[[Window, int], int]


def plan_windows(window: Window, count: CountOrders, target: int = WINDOW_TARGET) -> list[Window]:
    """Split `window` into consecutive windows of fewer than `target` orders each."""
    planned: list[Window] = []
    pending = [window]
    while pending:
        current = pending.pop(0)
        span = current.end - current.start
        if span <= _SMALLEST or count(current, target) < target:
            planned.append(current)
            continue
        middle = current.start + span / 2
        pending[:0] = [Window(current.start, middle), Window(middle, current.end)]
    return planned
