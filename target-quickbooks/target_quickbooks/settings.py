"""The target's configuration, read once into a frozen object; domain code never sees the dict."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import ConfigValidationError

from kconnector_canonical.url_policy import base_url_problem
from target_quickbooks import error_catalog
from target_quickbooks.store.tokens import TokenCipher

if TYPE_CHECKING:
    from collections.abc import Mapping

# https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
PRODUCTION_API_URL = "https://quickbooks.api.intuit.com"
SANDBOX_API_URL = "https://sandbox-quickbooks.api.intuit.com"
# The token endpoint is the same for sandbox and production companies:
# https://nango.dev/blog/quickbooks-oauth-refresh-token-invalid-grant
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL

# Minor versions 1-74 are no longer supported from August 2025:
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions
DEFAULT_MINOR_VERSION = "75"

# https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles : 500 requests
# per minute per realm, 40 batch requests per minute per realm and app, 30 payloads per batch;
# more than 10 concurrent requests per realm get 429
# (https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon).
QBO_REQUESTS_PER_MINUTE = 500
QBO_BATCH_REQUESTS_PER_MINUTE = 40
QBO_MAX_BATCH_ITEMS = 30
QBO_MAX_CONCURRENT = 10
# QuickBooks times a request out after 120 s (limits page above); wait a little longer.
DEFAULT_REQUEST_TIMEOUT_SECONDS = 130.0
CONNECT_TIMEOUT_SECONDS = 10.0
# One minute plus a second of margin: the server counts arrival times, we count send times.
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 61.0
# A run that finds another one writing to the company waits this long before it stops.
DEFAULT_WRITER_LEASE_WAIT_SECONDS = 300.0

ENVIRONMENTS = ("sandbox", "production")

TOKEN_KEY_REQUIRED = (
    f"token_encryption_key is not set ({error_catalog.TOKEN_KEY}): the target keeps QuickBooks' "
    "refresh and access tokens in its database and will not store them in clear. Generate a "
    'key with `python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"` and give it to the target in the '
    "environment variable TARGET_QUICKBOOKS_TOKEN_ENCRYPTION_KEY, from your secret store, never "
    "in meltano.yml. Only for the local demo or sandbox: set allow_plaintext_tokens to true"
)


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """The default store: SQLite under the Meltano project's ``.meltano/`` or the working dir.

    ``$MELTANO_PROJECT_ROOT/.meltano/target-quickbooks/state.db`` when Meltano runs the target,
    else ``./.target-quickbooks/state.db``.
    """
    env = os.environ if environ is None else environ
    root = env.get("MELTANO_PROJECT_ROOT")
    folder = Path(root) / ".meltano" / "target-quickbooks" if root else Path(".target-quickbooks")
    return f"sqlite:///{folder / 'state.db'}"


def parse_seconds(name: str, raw: object, default: float) -> tuple[float, str | None]:
    """A duration setting given as a JSON number or a numeric string; the error names the fix.

    Meltano hands a setting declared without a `kind` to the plugin as a string (and its
    `decimal` kind cannot be serialised into the plugin's config), so `"0.5"` from
    `TARGET_QUICKBOOKS_MIN_BACKOFF_SECONDS=0.5` is as good as `0.5` from a config file.
    """
    if raw is None or raw == "":
        return default, None
    if isinstance(raw, bool):
        return default, f"{name} must be a number of seconds such as {default:g}, not a boolean"
    try:
        value = float(raw) if isinstance(raw, int | float) else float(Decimal(str(raw).strip()))
    except (InvalidOperation, ValueError):
        return default, f"{name} must be a number of seconds such as {default:g}, got {raw!r}"
    if not math.isfinite(value):
        return default, f"{name} must be a finite number of seconds, got {raw!r}"
    return value, None


def _flag(raw: object) -> bool:
    # A boolean, or the string Meltano passes from the environment ("true", "1").
    if isinstance(raw, str):
        return raw.strip().lower() in {"true", "1", "yes"}
    return bool(raw)


@dataclass(frozen=True, repr=False)
class Settings:
    """Validated settings (see the README's settings table for each one)."""

    realm_id: str
    client_id: str
    client_secret: str
    refresh_token: str
    environment: str
    api_url: str
    token_url: str
    minor_version: str
    database_url: str
    max_concurrency: int
    use_batch_api: bool
    batch_size: int
    requests_per_minute: int
    batch_requests_per_minute: int
    rate_limit_window_seconds: float
    request_timeout_seconds: float
    max_attempts: int
    min_backoff_seconds: float
    max_backoff_seconds: float
    alert_command: str | None
    alert_url: str | None
    token_encryption_key: str | None = None
    allow_insecure_http: bool = False
    allow_plaintext_tokens: bool = False
    writer_lease_wait_seconds: float = DEFAULT_WRITER_LEASE_WAIT_SECONDS
    # Skip, at the input line, records the store says were settled before (`input_screen`).
    input_fast_path: bool = True

    @property
    def token_keys(self) -> tuple[str, ...]:
        """token_encryption_key's keys, the current one first (comma-separated for rotation)."""
        text = self.token_encryption_key or ""
        return tuple(part.strip() for part in text.split(",") if part.strip())

    def __repr__(self) -> str:
        """Secrets never appear in a repr (and so never in a log line or traceback)."""
        return (
            f"Settings(realm_id={self.realm_id!r}, environment={self.environment!r}, "
            f"api_url={self.api_url!r}, database_url=<set>, client_id=<secret>, "
            "client_secret=<secret>, refresh_token=<secret>)"
        )

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Read and cross-check the SDK's config dict.

        Raises:
            ConfigValidationError: naming the setting at fault.
        """
        environment = str(config.get("environment") or "sandbox")
        errors: list[str] = []
        if environment not in ENVIRONMENTS:
            errors.append("environment must be 'sandbox' or 'production'")
        errors.extend(
            f"{name} is required"
            for name in ("realm_id", "client_id", "client_secret", "refresh_token")
            if not str(config.get(name) or "").strip()
        )
        default_api = PRODUCTION_API_URL if environment == "production" else SANDBOX_API_URL

        def seconds(name: str, default: float) -> float:
            value, error = parse_seconds(name, config.get(name), default)
            if error:
                errors.append(error)
            return value

        settings = cls(
            realm_id=str(config.get("realm_id") or "").strip(),
            client_id=str(config.get("client_id") or ""),
            client_secret=str(config.get("client_secret") or ""),
            refresh_token=str(config.get("refresh_token") or ""),
            environment=environment,
            api_url=str(config.get("api_url") or default_api).rstrip("/"),
            token_url=str(config.get("token_url") or TOKEN_URL),
            minor_version=str(config.get("minor_version") or DEFAULT_MINOR_VERSION),
            database_url=str(config.get("database_url") or default_database_url(environ)),
            max_concurrency=int(config.get("max_concurrency") or 4),
            use_batch_api=bool(config.get("use_batch_api", True)),
            batch_size=int(config.get("batch_size") or QBO_MAX_BATCH_ITEMS),
            requests_per_minute=int(config.get("requests_per_minute") or QBO_REQUESTS_PER_MINUTE),
            batch_requests_per_minute=int(
                config.get("batch_requests_per_minute") or QBO_BATCH_REQUESTS_PER_MINUTE
            ),
            rate_limit_window_seconds=seconds(
                "rate_limit_window_seconds", DEFAULT_RATE_LIMIT_WINDOW_SECONDS
            ),
            request_timeout_seconds=seconds(
                "request_timeout_seconds", DEFAULT_REQUEST_TIMEOUT_SECONDS
            ),
            max_attempts=int(config.get("max_attempts") or 8),
            min_backoff_seconds=seconds("min_backoff_seconds", 1.0),
            max_backoff_seconds=seconds("max_backoff_seconds", 60.0),
            alert_command=config.get("alert_command") or None,
            alert_url=config.get("alert_url") or None,
            token_encryption_key=str(config.get("token_encryption_key") or "") or None,
            allow_plaintext_tokens=_flag(config.get("allow_plaintext_tokens")),
            allow_insecure_http=_flag(config.get("allow_insecure_http")),
            writer_lease_wait_seconds=seconds(
                "writer_lease_wait_seconds", DEFAULT_WRITER_LEASE_WAIT_SECONDS
            ),
            input_fast_path=_flag(config.get("input_fast_path", True)),
        )
        errors.extend(settings.cross_field_errors())
        errors.extend(settings.token_key_errors())
        if errors:
            msg = "target-quickbooks configuration is invalid: " + "; ".join(errors)
            raise ConfigValidationError(msg, errors=errors)
        return settings

    def token_key_errors(self) -> list[str]:
        """A key (Fernet keys; the error names the position), or the explicit plaintext opt-out."""
        if not self.token_keys:
            return [] if self.allow_plaintext_tokens else [TOKEN_KEY_REQUIRED]
        try:
            TokenCipher(self.token_keys)
        except ValueError as exc:
            return [str(exc)]
        return []

    def cross_field_errors(self) -> list[str]:
        """Checks that involve more than one setting or QuickBooks' limits."""
        ranges = (
            ("max_concurrency", self.max_concurrency, QBO_MAX_CONCURRENT),
            ("batch_size", self.batch_size, QBO_MAX_BATCH_ITEMS),
            ("requests_per_minute", self.requests_per_minute, QBO_REQUESTS_PER_MINUTE),
            (
                "batch_requests_per_minute",
                self.batch_requests_per_minute,
                QBO_BATCH_REQUESTS_PER_MINUTE,
            ),
        )
        errors = [
            f"{name} must be between 1 and {limit} (QuickBooks' limit per company)"
            for name, value, limit in ranges
            if not 1 <= value <= limit
        ]
        if self.batch_requests_per_minute > self.requests_per_minute:
            errors.append("batch_requests_per_minute cannot exceed requests_per_minute")
        if self.rate_limit_window_seconds <= 0:
            errors.append("rate_limit_window_seconds must be positive")
        if self.request_timeout_seconds <= 0:
            errors.append("request_timeout_seconds must be positive")
        if not 0 < self.min_backoff_seconds <= self.max_backoff_seconds:
            errors.append("min_backoff_seconds must be positive and at most max_backoff_seconds")
        if self.writer_lease_wait_seconds < 0:
            errors.append("writer_lease_wait_seconds must be zero or more")
        if self.max_attempts < 1:
            errors.append("max_attempts must be at least 1")
        # HTTPS, or plain HTTP to loopback (the local emulator) or with the explicit opt-in:
        # the token endpoint receives the client secret and refresh token, the API the token.
        errors.extend(
            problem
            for name, url in (("api_url", self.api_url), ("token_url", self.token_url))
            if (
                problem := base_url_problem(name, url, allow_insecure_http=self.allow_insecure_http)
            )
        )
        if self.environment == "production" and self.api_url == SANDBOX_API_URL:
            errors.append("api_url points at the sandbox while environment is production")
        if not self.minor_version.isdigit():
            errors.append("minor_version must be a number such as 75")
        elif int(self.minor_version) < int(DEFAULT_MINOR_VERSION):
            # QuickBooks ignores 1-74 since 2025-08-01 and answers as the base version instead:
            # the target would read and write fields it did not ask for.
            errors.append(
                f"minor_version {self.minor_version} is no longer supported by QuickBooks: "
                f"use {DEFAULT_MINOR_VERSION} or later (or leave it unset)"
            )
        return errors
