"""Backoff waits: exponential with jitter, capped, Retry-After honoured in both forms."""

from __future__ import annotations

from datetime import UTC, datetime

from target_quickbooks.errors import TransientError
from target_quickbooks.retry_policy import parse_retry_after, retry_waits


def top_of_range(_low: float, high: float) -> float:
    return high


def throttled(retry_after: float | None) -> TransientError:
    return TransientError("x", code="3001", guidance="g", retry_after=retry_after)


def test_retry_after_seconds_form():
    assert parse_retry_after("120") == 120.0


def test_retry_after_http_date_form():
    now = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 25 Nov 2026 08:00:30 GMT", now) == 30.0


def test_retry_after_in_the_past_or_unreadable():
    now = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 25 Nov 2026 07:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_waits_grow_exponentially_and_are_capped():
    waits = retry_waits(base=1.0, cap=10.0, uniform=top_of_range)
    next(waits)
    seen = [waits.send(throttled(None)) for _ in range(6)]
    assert seen == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_full_jitter_draws_between_zero_and_the_step():
    bounds: list[tuple[float, float]] = []

    def record(low: float, high: float) -> float:
        bounds.append((low, high))
        return low

    waits = retry_waits(base=0.5, cap=60.0, uniform=record)
    next(waits)
    assert waits.send(throttled(None)) == 0.0
    assert bounds == [(0.0, 0.5)]


def test_retry_after_wins_and_is_capped():
    waits = retry_waits(base=1.0, cap=30.0, uniform=lambda _low, _high: 0.0)
    next(waits)
    assert waits.send(throttled(7.0)) == 7.0
    assert waits.send(throttled(600.0)) == 30.0
