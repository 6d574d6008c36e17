"""How long to wait before retrying a transient failure (pure, used as a backoff wait generator).

Exponential backoff with full jitter, capped; a server's ``Retry-After`` (seconds or HTTP-date,
RFC 9110 section 10.2.3) wins when present, also capped. QuickBooks asks for 60 seconds after a
429 (https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Generator


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value, or None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    moment = now or datetime.now(UTC)
    return max(0.0, (when - moment).total_seconds())


def retry_waits(
    *,
    base: float,
    cap: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> Generator[float, BaseException | None, None]:
    """Wait generator for `backoff.on_exception` (backoff sends the exception it caught).

    Args:
        base: the first exponential step in seconds.
        cap: no wait is longer than this.
        uniform: the jitter source (a fixed one in tests).

    Yields:
        Seconds to wait before the next attempt.
    """
    error = yield 0.0  # primed by backoff with None
    attempt = 0
    while True:
        hinted = getattr(error, "retry_after", None)
        if isinstance(hinted, int | float) and hinted > 0:
            # A little jitter on top so that parallel workers do not return in lockstep.
            wait = min(cap, float(hinted)) + uniform(0.0, min(1.0, base))
        else:
            wait = uniform(0.0, min(cap, base * 2.0**attempt))
        attempt += 1
        error = yield wait
