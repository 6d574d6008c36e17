"""Ways real WordPress hosts break the REST API, as switches an admin (or a test) turns on.

- `plain_permalinks`: with Settings > Permalinks = Plain, `/wp-json/...` is not rewritten to the
  REST API; the site answers with its HTML "page not found" (404). The API is still reachable at
  `/?rest_route=/wc/v3/...`. WooCommerce requires non-plain permalinks for `/wp-json/`:
  https://developer.woocommerce.com/docs/getting-started-with-the-woocommerce-rest-api/
- `rest_api_disabled`: a security plugin rejects REST requests it does not consider logged in;
  "Disable WP REST API" answers `rest_login_required` "REST API restricted to authenticated
  users." with 401 (https://perishablepress.com/disable-wp-rest-api/). Here every API request is
  rejected, as when the plugin does not see WooCommerce's key authentication.
- `html_cache`: a page cache/CDN serves a cached HTML page (200, text/html) instead of JSON.
- `waf_block_scripts`: a host WAF rejects non-browser User-Agents with an HTML 403
  (woocommerce/wc-api-python#67, XiaoFaye/WooCommerce.NET#712).
- `strip_authorization`: the server drops the Authorization header (CGI/FastCGI setups), so only
  query-string credentials work; WooCommerce documents the query-string fallback for this:
  https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication-over-https
- `rate_limit_per_minute`: a host/WAF limit; beyond it, 429 with Retry-After. WooCommerce's REST
  API itself has no rate limit; hosts add one.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

HTML_CONTENT_TYPE = "text/html; charset=UTF-8"
_SCRIPTED_AGENT = re.compile(
    r"python-requests|python-urllib|curl|wget|go-http-client|okhttp|aiohttp|httpx|java/|libwww|scrapy",
    re.IGNORECASE,
)


@dataclass
class HostSwitches:
    """The misbehaviours in force (all off by default)."""

    plain_permalinks: bool = False
    rest_api_disabled: bool = False
    html_cache: bool = False
    waf_block_scripts: bool = False
    strip_authorization: bool = False
    rate_limit_per_minute: int = 0  # 0: no limit

    def update(self, changes: dict[str, Any]) -> None:
        """Apply {switch: value}; unknown names raise KeyError, wrong types TypeError."""
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                msg = f"unknown host switch {name!r}; known: {', '.join(known)}"
                raise KeyError(msg)
            expected = int if name == "rate_limit_per_minute" else bool
            if type(value) is not expected:
                msg = f"host switch {name!r} takes a {expected.__name__}"
                raise TypeError(msg)
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """The switches as JSON-ready data."""
        return asdict(self)


def is_scripted_agent(user_agent: str) -> bool:
    """Whether a WAF rule for scripted clients would match this User-Agent (empty included)."""
    return not user_agent.strip() or _SCRIPTED_AGENT.search(user_agent) is not None


class MinuteRateLimiter:
    """A fixed-window request counter; the window is one minute divided by the time scale."""

    def __init__(self, time_scale: float = 1.0) -> None:
        """Start with an empty window."""
        self._window = 60.0 / time_scale
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._count = 0

    def retry_after(self, limit: int) -> int | None:
        """Count a request; the seconds to wait when over `limit`, else None."""
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= self._window:
                self._window_start, self._count = now, 0
            self._count += 1
            if self._count <= limit:
                return None
            return max(1, math.ceil(self._window - (now - self._window_start)))


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    ).encode()


def front_page(store_name: str) -> bytes:
    """The shop's home page, as a cache or an unrouted request would return it."""
    return _page(
        store_name,
        f'<header class="site-header"><h1 class="site-title">{store_name}</h1></header>\n'
        '<main id="main"><p>Welcome to our shop.</p></main>',
    )


def not_found_page(store_name: str) -> bytes:
    """The theme's 404 page."""
    return _page(
        f"Page not found &#8211; {store_name}",
        '<main id="main"><h1 class="page-title">Oops! That page can&rsquo;t be found.</h1></main>',
    )


def waf_block_page() -> bytes:
    """A ModSecurity-style 403 page."""
    return _page(
        "403 Forbidden",
        "<h1>Forbidden</h1>\n<p>You don't have permission to access this resource.</p>\n"
        "<p>Additionally, a 403 Forbidden error was encountered while trying to use an "
        "ErrorDocument to handle the request.</p>",
    )


def too_many_requests_page() -> bytes:
    """An nginx-style 429 page."""
    return _page(
        "429 Too Many Requests",
        "<center><h1>429 Too Many Requests</h1></center>\n<hr><center>nginx</center>",
    )


def gateway_page(status: int) -> bytes:
    """An nginx-style 502/503 page."""
    reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable"}.get(status, "Error")
    return _page(
        f"{status} {reason}",
        f"<center><h1>{status} {reason}</h1></center>\n<hr><center>nginx</center>",
    )
