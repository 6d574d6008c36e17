"""Client-side limits per company (realm): requests and batch requests per window, concurrency.

QuickBooks throttles each realm at 500 requests per minute (batches included) and 40 batch
requests per minute per app, and answers more than 10 concurrent requests with 429
(https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles ,
https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon).
The sliding windows are pyrate-limiter buckets; concurrency is a bounded semaphore.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pyrate_limiter import AbstractClock, BucketFullException, Limiter, Rate, TimeClock
from pyrate_limiter.exceptions import LimiterDelayException

if TYPE_CHECKING:
    from collections.abc import Iterator


class RateLimitWaitError(Exception):
    """The limiter could not admit a request within the allowed wait (or would not wait)."""


class RealmRateLimiter:
    """Admits requests to one realm within its per-window and concurrency limits."""

    def __init__(  # noqa: PLR0913 - one argument per QuickBooks limit, plus clock and waiting
        self,
        realm_id: str,
        *,
        requests_per_window: int,
        batches_per_window: int,
        window_seconds: float,
        max_concurrency: int,
        clock: AbstractClock | None = None,
        wait: bool = True,
    ) -> None:
        """Build the limiter.

        Args:
            realm_id: the company the limits apply to.
            requests_per_window: requests (batches included) per window.
            batches_per_window: batch requests per window.
            window_seconds: the window (60 s for QuickBooks; shorter against a time-scaled
                emulator).
            max_concurrency: requests in flight at once.
            clock: pyrate-limiter clock (a fake one in tests).
            wait: block until admitted (True) or refuse at once with `RateLimitWaitError`.
        """
        self.realm_id = realm_id
        window_ms = max(1, round(window_seconds * 1000))
        clock = clock or TimeClock()
        # A request may wait for the window to slide; with several workers contending it may
        # lose the freed slot and wait again, so allow a few windows before giving up (the
        # caller then backs off and retries).
        max_delay = 3 * window_ms + 1000 if wait else None
        self._requests = Limiter(
            [Rate(requests_per_window, window_ms)],
            clock=clock,
            raise_when_fail=True,
            max_delay=max_delay,
            retry_until_max_delay=wait,
        )
        self._batches = Limiter(
            [Rate(batches_per_window, window_ms)],
            clock=clock,
            raise_when_fail=True,
            max_delay=max_delay,
            retry_until_max_delay=wait,
        )
        self._in_flight = threading.BoundedSemaphore(max_concurrency)
        self.max_concurrency = max_concurrency

    def _admit(self, limiter: Limiter, name: str) -> None:
        try:
            limiter.try_acquire(name)
        except (BucketFullException, LimiterDelayException) as exc:
            msg = f"rate limit reached for realm {self.realm_id} ({name})"
            raise RateLimitWaitError(msg) from exc

    @contextmanager
    def slot(self, *, is_batch: bool) -> Iterator[None]:
        """Hold one concurrency slot and one request (and batch) admission for a request.

        Raises:
            RateLimitWaitError: when not waiting and a window is full.
        """
        with self._in_flight:
            if is_batch:
                self._admit(self._batches, f"{self.realm_id}:batch")
            self._admit(self._requests, f"{self.realm_id}:request")
            yield
