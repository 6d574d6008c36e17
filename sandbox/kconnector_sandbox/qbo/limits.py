"""Per-realm throttles of the QuickBooks Online Accounting API (pure state, no HTTP).

From https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles :
500 requests per minute per realm ID (batch requests included), 40 batch requests per minute
per realm ID and app, HTTP 429 when throttled. The concurrency limit (more than 10 concurrent
requests to one realm get 429) is from
https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon
(the limits page words it as "10 requests per second, per realm ID and app"; the emulator
enforces the concurrency form). Windows are sliding and divided by ``time_scale``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kconnector_sandbox.qbo.timekeeping import Clock

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class QboLimits:
    """The limits enforced per realm."""

    requests_per_minute: int = 500
    batch_requests_per_minute: int = 40
    concurrent_requests: int = 10
    batch_max_items: int = (
        30  # https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
    )


@dataclass
class _RealmCounters:
    requests: deque[float] = field(default_factory=deque)
    batches: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class ThrottleExceededError(Exception):
    """The request is over one of the realm's limits; the message names which."""


@dataclass
class RealmLimiter:
    """Sliding-window and in-flight counters for every realm."""

    limits: QboLimits
    clock: Clock
    time_scale: float = 1.0
    _realms: dict[str, _RealmCounters] = field(default_factory=dict)

    @property
    def window_seconds(self) -> float:
        """The (scaled) length of the one-minute window."""
        return WINDOW_SECONDS / self.time_scale

    def _counters(self, realm_id: str) -> _RealmCounters:
        counters = self._realms.get(realm_id)
        if counters is None:
            counters = self._realms[realm_id] = _RealmCounters()
        return counters

    def enter(self, realm_id: str, *, is_batch: bool) -> None:
        """Admit one request (count it and mark it in flight) or refuse it.

        A refused request is not counted. Call `leave` once an admitted request has finished.

        Raises:
            ThrottleExceededError: over the concurrency, per-minute or batch-per-minute limit.
        """
        counters = self._counters(realm_id)
        if counters.in_flight >= self.limits.concurrent_requests:
            msg = f"more than {self.limits.concurrent_requests} concurrent requests"
            raise ThrottleExceededError(msg)
        now = self.clock()
        horizon = now - self.window_seconds
        for window in (counters.requests, counters.batches):
            while window and window[0] <= horizon:
                window.popleft()
        if len(counters.requests) >= self.limits.requests_per_minute:
            msg = f"more than {self.limits.requests_per_minute} requests per minute"
            raise ThrottleExceededError(msg)
        if is_batch and len(counters.batches) >= self.limits.batch_requests_per_minute:
            msg = f"more than {self.limits.batch_requests_per_minute} batch requests per minute"
            raise ThrottleExceededError(msg)
        counters.requests.append(now)
        if is_batch:
            counters.batches.append(now)
        counters.in_flight += 1

    def leave(self, realm_id: str) -> None:
        """Mark an admitted request finished."""
        counters = self._counters(realm_id)
        counters.in_flight = max(0, counters.in_flight - 1)

    def in_flight(self, realm_id: str) -> int:
        """Requests currently being served for a realm."""
        return self._counters(realm_id).in_flight

    def reset(self) -> None:
        """Forget all counters."""
        self._realms.clear()
