"""Where a read starts, skips to and resumes (pure)."""

from datetime import UTC, datetime, timedelta

from tap_woocommerce_orders.date_windows import DateWindow
from tap_woocommerce_orders.read_plan import FOLD_MARGIN, needs_probe, next_window, resume_point

START = datetime(2024, 1, 1, tzinfo=UTC)
UPPER = datetime(2026, 11, 2, 12, tzinfo=UTC)
MONTH = timedelta(days=30)


def test_the_next_window_starts_at_the_first_order_less_the_dst_fold_margin() -> None:
    first = datetime(2026, 8, 3, 9, 30, 15, 400000, tzinfo=UTC)

    window = next_window(START, UPPER, MONTH, first)

    assert window == DateWindow(
        datetime(2026, 8, 3, 7, 30, 15, tzinfo=UTC), datetime(2026, 9, 2, 7, 30, 15, tzinfo=UTC)
    )


def test_the_next_window_never_starts_before_the_cursor_nor_ends_after_the_run() -> None:
    cursor = datetime(2026, 10, 20, tzinfo=UTC)

    window = next_window(cursor, UPPER, MONTH, cursor + timedelta(minutes=5))

    assert window == DateWindow(cursor, UPPER)
    assert next_window(UPPER, UPPER, MONTH, None) is None


def test_only_a_span_longer_than_one_window_is_worth_a_probe() -> None:
    assert needs_probe(START, UPPER, MONTH)
    assert not needs_probe(UPPER - MONTH, UPPER, MONTH)


def test_a_resume_starts_the_fold_margin_before_the_last_order_but_inside_its_window() -> None:
    window = DateWindow(datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 8, 31, tzinfo=UTC))
    late = datetime(2026, 8, 20, 6, 20, tzinfo=UTC)
    early = datetime(2026, 8, 1, 1, 0, tzinfo=UTC)

    assert resume_point(late, window) == late - FOLD_MARGIN
    assert resume_point(early, window) == window.start


def test_the_fold_margin_covers_an_hour_where_local_and_utc_order_disagree() -> None:
    # New York falls back on 2026-11-01: 01:40 EDT (05:40 UTC) sorts after 01:20 EST (06:20
    # UTC) by local time, so it is still unread when the run stops after the latter.
    window = DateWindow(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    last_emitted = datetime(2026, 11, 1, 6, 20, tzinfo=UTC)
    unread = datetime(2026, 11, 1, 5, 40, tzinfo=UTC)

    assert resume_point(last_emitted, window) <= unread
