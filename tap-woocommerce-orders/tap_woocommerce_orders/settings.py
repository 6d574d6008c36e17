"""The tap's settings: declared for the SDK (`--about`, validation) and read once, typed.

`SETTINGS_SCHEMA` is what Meltano and `--about` show. `StoreSettings.from_config` adds the checks
a JSON Schema cannot express and raises `ConfigValidationError` naming the setting, before any
request is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from tap_woocommerce_orders import __version__

if TYPE_CHECKING:
    from collections.abc import Mapping

AuthMethod = Literal["basic", "query_string"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("basic", "query_string")
# WordPress REST: per_page is 1..100
# (https://developer.wordpress.org/rest-api/using-the-rest-api/pagination/).
MAX_PER_PAGE = 100
DEFAULT_STATUSES = ("any", "trash")
# Order statuses the REST API accepts in `status` (https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders);
# plugins may register more, so any lower-case slug is accepted.
_STATUS_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PayoutGrouping = Literal["daily", "none"]
PAYOUT_GROUPINGS: tuple[PayoutGrouping, ...] = ("daily", "none")
# Gateway ids of WooCommerce Stripe Gateway and WooCommerce PayPal Payments (and the older
# PayPal Standard, `paypal`): the ones whose fees the tap reads.
DEFAULT_PAYOUT_GATEWAYS = ("stripe", "ppcp-gateway", "ppcp-credit-card-gateway", "paypal")
# Stripe pays out daily on a 2-business-day rolling basis in the US
# (https://docs.stripe.com/payouts#standard-payout-timing).
DEFAULT_PAYOUT_DELAY_DAYS = 2
DEFAULT_USER_AGENT = f"K-Connector/{__version__} (tap-woocommerce-orders; +https://k-connector.dev)"

SETTINGS_SCHEMA = th.PropertiesList(
    th.Property(
        "url",
        th.StringType,
        required=True,
        title="Store URL",
        description=(
            "The WordPress site address of the store, e.g. https://shop.example.com "
            "(the API is read from <url>/wp-json/wc/v3/)."
        ),
    ),
    th.Property(
        "consumer_key",
        th.StringType,
        required=True,
        secret=True,
        title="Consumer key",
        description="REST API consumer key (ck_...) with Read permission.",
    ),
    th.Property(
        "consumer_secret",
        th.StringType,
        required=True,
        secret=True,
        title="Consumer secret",
        description="REST API consumer secret (cs_...).",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        required=True,
        title="Start date",
        description="Read orders modified on or after this moment (first run, no state).",
    ),
    th.Property(
        "lookback_window_minutes",
        th.IntegerType,
        default=10,
        title="Lookback window (minutes)",
        description=(
            "Each run re-reads this many minutes before the bookmark, for orders saved late "
            "or by a store whose clock runs behind. Records are deduplicated downstream by id."
        ),
    ),
    th.Property(
        "window_days",
        th.IntegerType,
        default=30,
        title="Window size (days)",
        description="Orders are read in closed date windows of this many days.",
    ),
    th.Property(
        "per_page",
        th.IntegerType,
        default=MAX_PER_PAGE,
        title="Page size",
        description="Orders per request, 1 to 100 (WordPress's maximum).",
    ),
    th.Property(
        "statuses",
        th.ArrayType(th.StringType),
        default=list(DEFAULT_STATUSES),
        title="Order statuses",
        description=(
            "WooCommerce statuses to read: 'any' (every status except trash) or a list such "
            "as ['processing', 'completed']; add 'trash' to emit trashed orders as deleted."
        ),
    ),
    th.Property(
        "verify_ssl",
        th.BooleanType,
        default=True,
        title="Verify TLS certificates",
        description="Turn off only for a staging store with a self-signed certificate.",
    ),
    th.Property(
        "timeout",
        th.IntegerType,
        default=60,
        title="Request timeout (seconds)",
        description=(
            "Seconds the store has to send one whole answer; a slower one is cut off and retried."
        ),
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=5,
        title="Retries",
        description="Retries of a request after 429, 5xx, a timeout or a dropped connection.",
    ),
    th.Property(
        "user_agent",
        th.StringType,
        default=DEFAULT_USER_AGENT,
        title="User-Agent",
        description=(
            "User-Agent header sent to the store. Some hosts' firewalls reject scripted "
            "agents; set a value the host allows."
        ),
    ),
    th.Property(
        "auth_method",
        th.StringType(allowed_values=list(AUTH_METHODS)),
        default="basic",
        title="Authentication method",
        description=(
            "'basic' (HTTP Basic header) or 'query_string' (consumer_key/consumer_secret as "
            "URL parameters, for hosts that strip the Authorization header; HTTPS only)."
        ),
    ),
    th.Property(
        "payout_grouping",
        th.StringType(allowed_values=list(PAYOUT_GROUPINGS)),
        default="daily",
        title="Payout grouping",
        description=(
            "'daily': the payouts stream ESTIMATES each processor payout as the payments and "
            "refunds one gateway settled on one store-local day (WooCommerce has no payout "
            "API); 'none': no estimated payouts. A payout_report_file replaces the estimate."
        ),
    ),
    th.Property(
        "payout_gateways",
        th.ArrayType(th.StringType),
        default=list(DEFAULT_PAYOUT_GATEWAYS),
        title="Payout gateways",
        description=(
            "Payment method ids whose payments are grouped into payouts (Stripe and PayPal "
            "Payments by default); cash, cheque and bank transfer have no processor payout."
        ),
    ),
    th.Property(
        "payout_delay_days",
        th.IntegerType,
        default=DEFAULT_PAYOUT_DELAY_DAYS,
        title="Payout delay (days)",
        description=(
            "Days from a payment to the processor's payout of it (Stripe's standard is 2 "
            "business days in the US); an estimated payout is 'scheduled' until then, 'paid' "
            "after."
        ),
    ),
    th.Property(
        "payout_report_file",
        th.StringType,
        title="Payout report file",
        description=(
            "Path of a CSV of the processor's real payouts, in the columns of Stripe's payout "
            "reconciliation report (see the README). When set, the payouts stream emits these "
            "payouts (basis 'processor') instead of estimates."
        ),
    ),
    th.Property(
        "allow_insecure_http",
        th.BooleanType,
        default=False,
        title="Allow plain HTTP",
        description=(
            "Allow an http:// store URL. Off by default: over plain HTTP the consumer key "
            "and secret travel readable by anyone on the path."
        ),
    ),
).to_dict()


@dataclass(frozen=True)
class StoreSettings:
    """The settings, checked and typed."""

    api_base: str
    store: str
    consumer_key: str
    consumer_secret: str
    start_date: datetime
    lookback: timedelta
    window: timedelta
    per_page: int
    statuses: tuple[str, ...]
    include_trash: bool
    verify_ssl: bool
    timeout: int
    max_retries: int
    user_agent: str
    auth_method: AuthMethod
    https: bool
    payout_grouping: PayoutGrouping = "daily"
    payout_gateways: frozenset[str] = frozenset(DEFAULT_PAYOUT_GATEWAYS)
    payout_delay_days: int = DEFAULT_PAYOUT_DELAY_DAYS
    payout_report_file: Path | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StoreSettings:
        """Check and type the settings.

        Raises:
            ConfigValidationError: listing every invalid setting, each by name.
        """
        errors: list[str] = []
        api_base, store, https = _store_url(config, errors)
        start = _start_date(config.get("start_date"), errors)
        statuses, include_trash = _statuses(config.get("statuses", list(DEFAULT_STATUSES)), errors)
        per_page = _bounded(config, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE, errors=errors)
        auth_method = config.get("auth_method", "basic")
        if auth_method not in AUTH_METHODS:
            errors.append("auth_method: must be 'basic' or 'query_string'")
        if auth_method == "query_string" and not https and not config.get("allow_insecure_http"):
            errors.append(
                "auth_method: query_string sends the consumer secret in the URL; "
                "use it only over https://"
            )
        for name in ("consumer_key", "consumer_secret"):
            value = config.get(name)
            if not isinstance(value, str) or not value.strip():
                errors.append(f"{name}: is required (WooCommerce > Settings > Advanced > REST API)")
        user_agent = str(config.get("user_agent") or DEFAULT_USER_AGENT).strip()
        settings = cls(
            api_base=api_base,
            store=store,
            consumer_key=str(config.get("consumer_key", "")).strip(),
            consumer_secret=str(config.get("consumer_secret", "")).strip(),
            start_date=start,
            lookback=timedelta(
                minutes=_bounded(
                    config, "lookback_window_minutes", 10, 0, 60 * 24 * 30, errors=errors
                )
            ),
            window=timedelta(days=_bounded(config, "window_days", 30, 1, 366, errors=errors)),
            per_page=per_page,
            statuses=statuses,
            include_trash=include_trash,
            verify_ssl=bool(config.get("verify_ssl", True)),
            timeout=_bounded(config, "timeout", 60, 1, 600, errors=errors),
            max_retries=_bounded(config, "max_retries", 5, 0, 20, errors=errors),
            user_agent=user_agent or DEFAULT_USER_AGENT,
            auth_method="query_string" if auth_method == "query_string" else "basic",
            https=https,
            payout_grouping="none" if config.get("payout_grouping") == "none" else "daily",
            payout_gateways=_payout_gateways(config, errors),
            payout_delay_days=_bounded(
                config, "payout_delay_days", DEFAULT_PAYOUT_DELAY_DAYS, 1, 30, errors=errors
            ),
            payout_report_file=_report_file(config.get("payout_report_file"), errors),
        )
        if config.get("payout_grouping", "daily") not in PAYOUT_GROUPINGS:
            errors.append("payout_grouping: must be 'daily' or 'none'")
        if errors:
            summary = "Config validation failed"
            raise ConfigValidationError(summary, errors=errors)
        return settings


def _store_url(config: Mapping[str, Any], errors: list[str]) -> tuple[str, str, bool]:
    raw = str(config.get("url") or "").strip()
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        errors.append("url: must be the store's address, e.g. https://shop.example.com")
        return "", "", False
    if parts.query or parts.fragment:
        errors.append("url: must not carry a query string or fragment")
    https = parts.scheme == "https"
    if not https and not config.get("allow_insecure_http"):
        errors.append(
            "url: is plain http://, which sends the consumer key and secret readable on the "
            "network; use https://, or set allow_insecure_http to true for a local test store"
        )
    path = parts.path.rstrip("/").removesuffix("/wp-json").rstrip("/")
    base = f"{parts.scheme}://{parts.netloc}{path}/wp-json/wc/v3"
    store = (parts.hostname + path).lower()
    return base, store, https


def _start_date(value: object, errors: list[str]) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        errors.append("start_date: must be a date-time like 2026-01-01T00:00:00Z")
        return datetime(1970, 1, 1, tzinfo=UTC)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _statuses(value: object, errors: list[str]) -> tuple[tuple[str, ...], bool]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        errors.append("statuses: must be a non-empty list such as ['any', 'trash']")
        return ("any",), False
    cleaned = [v.strip().lower().removeprefix("wc-") for v in value]
    bad = [v for v in cleaned if not _STATUS_SLUG.match(v)]
    if bad:
        errors.append(f"statuses: {', '.join(map(repr, bad))} is not a WooCommerce status slug")
    include_trash = "trash" in cleaned
    listed = [v for v in cleaned if v != "trash"]
    if "any" in listed:
        listed = ["any"]
    return tuple(dict.fromkeys(listed)), include_trash


def _bounded(  # noqa: PLR0913 - one setting and its bounds
    config: Mapping[str, Any],
    name: str,
    default: int,
    low: int,
    high: int,
    *,
    errors: list[str],
) -> int:
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(f"{name}: must be a whole number from {low} to {high}")
        return default
    return value


def _payout_gateways(config: Mapping[str, Any], errors: list[str]) -> frozenset[str]:
    value = config.get("payout_gateways", list(DEFAULT_PAYOUT_GATEWAYS))
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors.append("payout_gateways: must be a list of payment method ids such as ['stripe']")
        return frozenset(DEFAULT_PAYOUT_GATEWAYS)
    return frozenset(v.strip() for v in value)


def _report_file(value: object, errors: list[str]) -> Path | None:
    if value is None or value == "":
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        errors.append(
            "payout_report_file: no such file; give the path of the processor's payout "
            "report (CSV), or leave it unset for estimated payouts"
        )
        return None
    return path
