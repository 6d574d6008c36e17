"""The SDK paginator for WooCommerce lists: `page`/`per_page`, driven by `X-WP-Total`.

WordPress reports the size of the result in `X-WP-Total` and `X-WP-TotalPages` and links the
neighbouring pages in `Link` (rel="next")
(https://woocommerce.github.io/woocommerce-rest-api-docs/#pagination). With `X-WP-Total` the
walk is `PageWalk` (safe when the list shrinks while it is read). A host or cache that strips
that header leaves `Link`/`X-WP-TotalPages`: the pages are then followed one after another,
without the shrink protection, and the stream says so in its log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from singer_sdk.pagination import BaseAPIPaginator

from tap_woocommerce_orders.page_walk import PageWalk

if TYPE_CHECKING:
    import requests


@dataclass(frozen=True)
class PageToken:
    """The page to ask for; `request` makes a re-read of the same page a new token."""

    page: int
    request: int = 0


def header_int(response: requests.Response, name: str) -> int | None:
    """An integer response header, or None when absent or unreadable."""
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


class WordPressListPaginator(BaseAPIPaginator[PageToken]):
    """Pages of a WordPress REST list."""

    def __init__(self, per_page: int) -> None:
        """Start at page 1."""
        super().__init__(PageToken(1))
        self.walk = PageWalk(per_page)
        self.without_total = False

    def continue_if_empty(self, response: requests.Response) -> bool:  # noqa: ARG002
        """An empty page after a shrink is not the end: the walk decides."""
        return not self.without_total

    def get_next(self, response: requests.Response) -> PageToken | None:
        """The next page from `X-WP-Total`, else from `Link`/`X-WP-TotalPages`."""
        current = self.current_value
        total = header_int(response, "X-WP-Total")
        if total is not None:
            next_page = self.walk.observe(current.page, total)
            return None if next_page is None else PageToken(next_page, current.request + 1)
        self.without_total = True
        total_pages = header_int(response, "X-WP-TotalPages")
        has_next = "next" in response.links or (
            total_pages is not None and current.page < total_pages
        )
        return PageToken(current.page + 1, current.request + 1) if has_next else None
