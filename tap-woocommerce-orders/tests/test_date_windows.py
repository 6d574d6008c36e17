from datetime import UTC, datetime, timedelta
from itertools import pairwise

from tap_woocommerce_orders.date_windows import DateWindow, windows


def test_windows_cover_the_range_without_gap_or_overlap() -> None:
    start = datetime(2026, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    end = datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)
    parts = list(windows(start, end, timedelta(days=30)))

    assert parts[0].start == datetime(2026, 1, 1, tzinfo=UTC)
    assert parts[-1].end == end
    assert all(a.end == b.start for a, b in pairwise(parts))
    assert all(p.end - p.start <= timedelta(days=30) for p in parts)


def test_window_is_asked_with_exclusive_bounds_one_second_apart_in_utc_without_offset() -> None:
    window = DateWindow(
        datetime(2026, 2, 1, 0, 0, 0, tzinfo=UTC), datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)
    )

    assert window.query() == {
        "modified_after": "2026-01-31T23:59:59",
        "modified_before": "2026-03-01T00:00:00",
        "dates_are_gmt": "true",
    }


def test_window_contains_its_start_but_not_its_end() -> None:
    start = datetime(2026, 2, 1, tzinfo=UTC)
    window = DateWindow(start, start + timedelta(days=1))

    assert window.contains(start)
    assert not window.contains(start + timedelta(days=1))


def test_empty_range_has_no_window() -> None:
    moment = datetime(2026, 2, 1, tzinfo=UTC)

    assert list(windows(moment, moment, timedelta(days=1))) == []
