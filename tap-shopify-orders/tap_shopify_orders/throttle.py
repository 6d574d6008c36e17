"""Pacing inside Shopify's calculated-query-cost bucket, so a steady run is never throttled.

https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits (and
https://shopify.dev/docs/api/usage/limits): each response reports `extensions.cost`
(`requestedQueryCost`, `actualQueryCost`, `throttleStatus{maximumAvailable,
currentlyAvailable, restoreRate}`). The requested cost must be available before a query runs;
the difference to the actual cost is given back. The bucket refills at `restoreRate` points per
second. So before each query, wait until the points the query will request have restored.

The arithmetic here is pure; the one sleep of the tap's pacing is in `CostPacer.wait_before`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

_UNKNOWN = -1.0
# A single query may not request more than 1000 points (https://shopify.dev/docs/api/usage/limits).
MAX_SINGLE_QUERY_COST = 1000.0


@dataclass(frozen=True)
class ThrottleStatus:
    """One response's view of the bucket."""

    maximum_available: float
    currently_available: float
    restore_rate: float
    requested_cost: float | None

    @classmethod
    def from_extensions(cls, extensions: object) -> ThrottleStatus | None:
        """Read `extensions.cost`; None when the response has none."""
        if not isinstance(extensions, dict):
            return None
        cost = extensions.get("cost")
        if not isinstance(cost, dict):
            return None
        status = cost.get("throttleStatus")
        if not isinstance(status, dict):
            return None
        try:
            requested = cost.get("requestedQueryCost")
            return cls(
                maximum_available=_number(status["maximumAvailable"]),
                currently_available=_number(status["currentlyAvailable"]),
                restore_rate=_number(status["restoreRate"]),
                requested_cost=None if requested is None else _number(requested),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def seconds_until(self, cost: float) -> float:
        """Seconds until `cost` points are available, from this status (0 if they are)."""
        missing = min(cost, self.maximum_available) - self.currently_available
        if missing <= 0 or self.restore_rate <= 0:
            return 0.0
        return missing / self.restore_rate


def _number(value: Any) -> float:  # noqa: ANN401 - JSON numbers (Decimal when parsed exactly)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        msg = f"not a number: {type(value).__name__}"
        raise TypeError(msg)
    return float(value)


@dataclass
class CostPacer:
    """Tracks the bucket across responses and waits before a query that would not fit."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] | None = None  # time.sleep, looked up when waiting
    _status: ThrottleStatus | None = None
    _observed_at: float = _UNKNOWN
    _expected_cost: dict[str, float] = field(default_factory=dict)
    waited_seconds: float = 0.0

    def observe(self, operation: str, status: ThrottleStatus | None) -> None:
        """Record a response's bucket status and what the operation requested."""
        if status is None:
            return
        self._status = status
        self._observed_at = self.clock()
        if status.requested_cost is not None:
            self._expected_cost[operation] = status.requested_cost

    def seconds_before(self, operation: str) -> float:
        """How long to wait before sending `operation` (0 when its cost fits now)."""
        status = self._status
        if status is None:
            return 0.0
        # A document not sent yet may cost more than any seen so far (a page of 50 line items
        # costs more than a page of 2 orders), but never more than Shopify's single-query maximum.
        cost = self._expected_cost.get(operation, MAX_SINGLE_QUERY_COST)
        elapsed = max(self.clock() - self._observed_at, 0.0)
        restored = min(
            status.maximum_available,
            status.currently_available + elapsed * status.restore_rate,
        )
        now = ThrottleStatus(status.maximum_available, restored, status.restore_rate, None)
        return now.seconds_until(cost)

    def wait_before(self, operation: str) -> float:
        """Sleep until `operation`'s expected cost has restored; returns the seconds slept."""
        seconds = self.seconds_before(operation)
        if seconds > 0:
            (self.sleep or time.sleep)(seconds)
            self.waited_seconds += seconds
        return seconds
