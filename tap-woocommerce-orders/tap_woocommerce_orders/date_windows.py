"""Closed modification-date windows, and how they are asked of WooCommerce.

`modified_after`/`modified_before` become a WordPress date query whose bounds are EXCLUSIVE
(`WP_Date_Query`, `inclusive` defaults to false:
https://developer.wordpress.org/reference/classes/wp_date_query/__construct/), compared with
`date_modified_gmt` when `dates_are_gmt=true`
(https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders). WordPress stores
whole seconds. A window [start, end) is therefore asked as after = start - 1 s, before = end:
consecutive windows neither overlap nor leave a second out.

The dates are sent as UTC WITHOUT an offset: WordPress converts a date that carries an offset to
the site's timezone before comparing, which with `dates_are_gmt` would shift the window by the
site's UTC offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tap_woocommerce_orders.wc_values import WP_GMT_FORMAT

if TYPE_CHECKING:
    from collections.abc import Iterator

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class DateWindow:
    """Orders modified at or after `start` and before `end` (UTC, whole seconds)."""

    start: datetime
    end: datetime

    def query(self) -> dict[str, str]:
        """The list parameters that select exactly this window."""
        return {
            "modified_after": (self.start - _SECOND).astimezone(UTC).strftime(WP_GMT_FORMAT),
            "modified_before": self.end.astimezone(UTC).strftime(WP_GMT_FORMAT),
            "dates_are_gmt": "true",
        }

    def contains(self, moment: datetime) -> bool:
        """Whether a modification moment belongs to this window."""
        return self.start <= moment < self.end


def whole_second(moment: datetime) -> datetime:
    """`moment` in UTC without its fraction of a second."""
    return moment.astimezone(UTC).replace(microsecond=0)


def windows(start: datetime, end: datetime, size: timedelta) -> Iterator[DateWindow]:
    """Consecutive windows of at most `size` covering [start, end)."""
    cursor = whole_second(start)
    end = whole_second(end)
    while cursor < end:
        window_end = min(cursor + size, end)
        yield DateWindow(cursor, window_end)
        cursor = window_end
