"""Page through a WooCommerce list that changes while it is read, without missing anything.

WooCommerce lists are paged by position (`page`, `per_page`) and report the current size of the
result in `X-WP-Total` (https://woocommerce.github.io/woocommerce-rest-api-docs/#pagination).
The tap reads orders in a closed window of modification dates that lies in the past, so while it
pages, orders can only LEAVE the window (an edit moves an order's `date_modified` to now). When
one leaves from a page already read, every later order moves one position up, and a plain
"next page" would skip one. `PageWalk` notices the shrinking total and steps back far enough to
re-read every position that may have moved under it; the stream drops repeats by order id.

Invariant: every order at a position below `covered` (in the store's current ordering) has
been read. A shrink by d lowers `covered` by at most d; reading a page that starts at or below
`covered` raises it to that page's end. Each request either raises `covered` or follows a
shrink, and the window can only shrink so far, so the walk ends. Orders that left the window are
read by the next run, whose window starts at or before this one's end.

An order that ENTERS a past window (a store clock running behind the tap's) can be passed over
here; the next run's lookback window (`lookback_window_minutes`) reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PageWalk:
    """Which page to read next, given each page's `X-WP-Total` (pure, no I/O)."""

    per_page: int
    covered: int = 0
    total: int | None = None
    requests: int = 0
    steps_back: int = field(default=0)

    def observe(self, page: int, total: int) -> int | None:
        """Record the answer for `page` (whose X-WP-Total was `total`).

        Returns:
            The page to read next, or None when every position has been read.
        """
        self.requests += 1
        if self.total is not None and total < self.total:
            self.covered = max(0, self.covered - (self.total - total))
        self.total = total
        start = (page - 1) * self.per_page
        if start <= self.covered:
            self.covered = max(self.covered, page * self.per_page)
        if self.covered >= total:
            return None
        next_page = self.covered // self.per_page + 1
        if next_page <= page:
            self.steps_back += 1
        return next_page
