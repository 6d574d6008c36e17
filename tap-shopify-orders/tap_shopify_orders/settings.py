"""The tap's settings, read once from the Singer config into a typed, frozen object.

Domain code never touches the raw config dict. Every problem is reported by setting name
before any request is made (`ConfigValidationError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

from kconnector_canonical.url_policy import base_url_problem

# The one pinned GraphQL Admin API version (https://shopify.dev/docs/api/usage/versioning: a
# stable version every quarter, each supported for at least 12 months). Bump it once a quarter;
# users can override it with the `api_version` setting without a release.
API_VERSION = "2026-01"

DEFAULT_LOOKBACK_MINUTES = 60
# A page of the orders query asks for ~396 points per order (its nested connections: line items,
# shipping lines, discounts, refunds and their lines, transactions, fulfillments), and a single
# query may ask for at most 1,000 (https://shopify.dev/docs/api/usage/limits): 2 orders fit. The
# bucket gives back what a page does not use, so small pages cost requests, not points.
DEFAULT_PAGE_SIZE = 2
MAX_PAGE_SIZE = (
    250  # `first` is capped at 250 (https://shopify.dev/docs/api/usage/pagination-graphql)
)
DEFAULT_BULK_THRESHOLD_DAYS = 30
MAX_BULK_THRESHOLD_DAYS = 365 * 50
MAX_LOOKBACK_MINUTES = 60 * 24 * 30

_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")


@dataclass(frozen=True)
class Settings:
    """Validated settings of one tap run."""

    shop: str
    access_token: str
    api_version: str
    start_date: datetime
    lookback_window_minutes: int
    page_size: int
    api_url: str
    include_test_orders: bool
    bulk_threshold_days: int

    @property
    def graphql_url(self) -> str:
        """The GraphQL Admin endpoint of the pinned (or overridden) version."""
        return f"{self.api_url}/admin/api/{self.api_version}/graphql.json"


class _Checker:
    """Collects every problem by setting name; values fall back to defaults meanwhile."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.problems: list[str] = []

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"setting `{name}`: {message}")

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.config.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"must be an integer, not {type(value).__name__}")
            return default
        if not low <= value <= high:
            self.fail(name, f"must be between {low} and {high}, got {value}")
            return default
        return value

    def start_date(self) -> datetime:
        raw = self.config.get("start_date")
        fallback = datetime(1970, 1, 1, tzinfo=UTC)
        if not raw:
            self.fail(
                "start_date",
                "is required: the oldest order update to read, e.g. 2024-01-01T00:00:00Z "
                "(no silent default, so history is never cut short by accident)",
            )
            return fallback
        try:
            moment = datetime.fromisoformat(str(raw))
        except ValueError:
            self.fail("start_date", f"{raw!r} is not an ISO 8601 date or timestamp")
            return fallback
        if moment.tzinfo is None:
            self.fail("start_date", f"{raw!r} has no time zone; write it in UTC ending in Z")
            return fallback
        return moment.astimezone(UTC)


def parse_settings(config: dict[str, Any]) -> Settings:
    """Validate the Singer config and build `Settings`.

    Raises:
        ConfigValidationError: listing every invalid or missing setting by name.
    """
    check = _Checker(config)
    shop = str(config.get("shop") or "").strip().lower()
    if not shop:
        check.fail("shop", "is required: the store's myshopify domain")
    elif not _SHOP.match(shop):
        check.fail("shop", f"{shop!r} must be the myshopify domain, e.g. kc-demo.myshopify.com")
    token = str(config.get("access_token") or "")
    if not token:
        check.fail("access_token", "is required: the Admin API access token of a custom app")
    version = str(config.get("api_version") or API_VERSION)
    if not _VERSION.match(version):
        check.fail("api_version", f"{version!r} is not a version like {API_VERSION}")
    api_url = str(config.get("api_url") or (f"https://{shop}" if shop else "")).rstrip("/")
    allow_insecure = config.get("allow_insecure_http", False)
    if not isinstance(allow_insecure, bool):
        check.fail("allow_insecure_http", "must be true or false")
    # HTTPS, or plain HTTP to loopback (a local emulator) or with the explicit opt-in.
    url_problem = base_url_problem("api_url", api_url, allow_insecure_http=allow_insecure is True)
    if api_url and url_problem is not None:
        check.fail("api_url", url_problem.removeprefix("api_url "))
    include_test = config.get("include_test_orders", False)
    if not isinstance(include_test, bool):
        check.fail("include_test_orders", "must be true or false")
    settings = Settings(
        shop=shop,
        access_token=token,
        api_version=version,
        start_date=check.start_date(),
        lookback_window_minutes=check.integer(
            "lookback_window_minutes", DEFAULT_LOOKBACK_MINUTES, 0, MAX_LOOKBACK_MINUTES
        ),
        page_size=check.integer("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        api_url=api_url,
        include_test_orders=include_test is True,
        bulk_threshold_days=check.integer(
            "bulk_threshold_days", DEFAULT_BULK_THRESHOLD_DAYS, 1, MAX_BULK_THRESHOLD_DAYS
        ),
    )
    if check.problems:
        raise ConfigValidationError(
            "Invalid configuration: " + "; ".join(check.problems), errors=check.problems
        )
    return settings
