"""Fixtures of the real-time receiver's tests: an injected clock (stores: the root conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


class FakeClock:
    """A clock the test moves by hand (never the wall date)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    """A frozen clock at a fixed instant; tests move it explicitly."""
    return FakeClock(datetime(2031, 3, 14, 9, 26, 53, tzinfo=UTC))
