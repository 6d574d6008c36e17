"""Where a read of modified orders starts, skips to and resumes (pure, no I/O).

The orders are read ordered by modification date (`orderby=modified&order=asc`), so the
position of the last order emitted says what is done: every order before it was emitted.
WordPress sorts by the site-LOCAL column (`post_modified`,
https://developer.wordpress.org/reference/classes/wp_query/#order-orderby-parameters) while
the tap filters and bookmarks on the UTC one (`date_modified_gmt`). The two orders agree
except in the hour a daylight-saving clock falls back, where an order sorted later can be up to
the DST shift EARLIER in UTC. `FOLD_MARGIN` (2 hours, the largest shift any zone has used) is
taken off every moment that says "nothing before this is left", so that hour never loses an
order; the price is re-reading at most two hours of orders when a run resumes.

- `next_window`: the next window of at most `size` to read. When more than one window is
  left, the store is first asked for its earliest order (`per_page=1`) and the window starts
  there: empty stretches (a `start_date` years before the first order, quiet months) cost one
  cheap request in all instead of one request per empty window.
- `resume_point`: the moment a run restarted from this run's last STATE reads from, given the
  last order emitted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tap_woocommerce_orders.date_windows import DateWindow, whole_second

FOLD_MARGIN = timedelta(hours=2)


def next_window(
    cursor: datetime, upper: datetime, size: timedelta, first_modified: datetime | None
) -> DateWindow | None:
    """The next window of [cursor, upper) to read, starting at the earliest order when known.

    Args:
        cursor: everything modified before it is read.
        upper: the run's end (exclusive).
        size: the largest span one window covers.
        first_modified: the UTC modification moment of the first order (in the store's sort
            order) modified in [cursor, upper), when it was asked; None when not asked.

    Returns:
        The window, or None when nothing is left to read.
    """
    cursor = whole_second(cursor)
    upper = whole_second(upper)
    if cursor >= upper:
        return None
    if first_modified is not None:
        cursor = max(cursor, whole_second(first_modified - FOLD_MARGIN))
    return DateWindow(cursor, min(cursor + size, upper))


def needs_probe(cursor: datetime, upper: datetime, size: timedelta) -> bool:
    """Whether asking for the first order first can save requests (more than one window left)."""
    return whole_second(upper) - whole_second(cursor) > size


def resume_point(last_modified: datetime, window: DateWindow) -> datetime:
    """Where a resumed run starts reading, given the last order emitted in `window`.

    Every order sorted before the last one emitted was emitted; orders sorted after it were
    modified at or after `last_modified - FOLD_MARGIN` (see the module docstring). Never before
    the window's start: what came before it was read completely.
    """
    return max(window.start, whole_second(last_modified - FOLD_MARGIN))
