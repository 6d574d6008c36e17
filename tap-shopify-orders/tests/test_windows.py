"""Date windows: halved until each holds fewer orders than Shopify lets one query page through."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tap_shopify_orders.windows import Window, plan_windows, utc_z

if TYPE_CHECKING:
    from collections.abc import Callable

START = datetime(2026, 1, 1, tzinfo=UTC)


def orders_per_day(per_day: int) -> Callable[[Window, int], int]:
    def count(window: Window, limit: int) -> int:
        days = (window.end - window.start) / timedelta(days=1)
        return min(int(days * per_day), limit)

    return count


def test_small_history_is_one_window() -> None:
    window = Window(START, START + timedelta(days=30))
    assert plan_windows(window, orders_per_day(100), target=20_000) == [window]


def test_large_history_is_split_into_touching_windows_under_the_target() -> None:
    window = Window(START, START + timedelta(days=400))
    count = orders_per_day(1_000)
    planned = plan_windows(window, count, target=20_000)
    assert len(planned) > 1
    assert planned[0].start == window.start
    assert planned[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(planned))
    assert all(count(part, 20_000) < 20_000 for part in planned)


def test_search_filter_is_inclusive_utc_with_z_and_excludes_test_orders() -> None:
    window = Window(START, datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC))
    assert window.search(include_test_orders=False) == (
        "updated_at:>='2026-01-01T00:00:00Z' AND updated_at:<='2026-01-02T03:04:05Z' AND test:false"
    )
    assert "test:" not in window.search(include_test_orders=True)


def test_utc_z_converts_offsets() -> None:
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    local = datetime(2026, 1, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert utc_z(local) == "2026-01-01T14:00:00Z"
