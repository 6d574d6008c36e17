"""The client-side limiter with a fake clock: per-window counts and the batch sub-limit."""

from __future__ import annotations

import threading

import pytest
from pyrate_limiter import AbstractClock

from target_quickbooks.rate_limits import RateLimitWaitError, RealmRateLimiter


class FakeClock(AbstractClock):
    def __init__(self) -> None:
        self.ms = 1_000_000

    def now(self) -> int:
        return self.ms


def limiter(clock: FakeClock, **overrides) -> RealmRateLimiter:
    settings = {
        "requests_per_window": 5,
        "batches_per_window": 2,
        "window_seconds": 60,
        "max_concurrency": 3,
        "clock": clock,
        "wait": False,
        **overrides,
    }
    return RealmRateLimiter("realm", **settings)


def admitted(realm_limiter: RealmRateLimiter, *, is_batch: bool) -> bool:
    try:
        with realm_limiter.slot(is_batch=is_batch):
            return True
    except RateLimitWaitError:
        return False


def test_requests_beyond_the_window_limit_wait_for_the_window_to_slide():
    clock = FakeClock()
    realm_limiter = limiter(clock)
    assert [admitted(realm_limiter, is_batch=False) for _ in range(6)] == [True] * 5 + [False]
    clock.ms += 60_001
    assert admitted(realm_limiter, is_batch=False)


def test_batch_requests_have_their_own_lower_limit_and_count_as_requests():
    clock = FakeClock()
    realm_limiter = limiter(clock)
    assert [admitted(realm_limiter, is_batch=True) for _ in range(3)] == [True, True, False]
    assert [admitted(realm_limiter, is_batch=False) for _ in range(4)] == [True, True, True, False]


def test_concurrency_is_capped():
    realm_limiter = limiter(FakeClock(), requests_per_window=100, max_concurrency=2)
    inside = threading.Barrier(3, timeout=0.5)
    release = threading.Event()
    results: list[str] = []

    def hold() -> None:
        with realm_limiter.slot(is_batch=False):
            results.append("in")
            release.wait(2)

    workers = [threading.Thread(target=hold) for _ in range(3)]
    for worker in workers:
        worker.start()
    with pytest.raises(threading.BrokenBarrierError):
        inside.wait()  # a third party never arrives: only two workers get a slot
    assert results == ["in", "in"]
    release.set()
    for worker in workers:
        worker.join(2)
    assert results == ["in", "in", "in"]
