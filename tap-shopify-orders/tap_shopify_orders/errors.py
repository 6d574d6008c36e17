"""What each Shopify answer means for the tap: one status -> action table, typed errors.

Status codes and their meaning: https://shopify.dev/docs/api/usage/response-codes (401 bad or
revoked token, 402 shop frozen for an unpaid bill, 403 missing scope, 404 wrong shop or version,
423 shop locked - https://shopify.dev/changelog/admin-api-requests-to-locked-stores-will-return-a-423-status-code-instead-of-420,
429 too many requests, 5xx Shopify-side errors). GraphQL errors arrive with HTTP 200 and an
`extensions.code` (THROTTLED, MAX_COST_EXCEEDED, ACCESS_DENIED, INTERNAL_SERVER_ERROR):
https://shopify.dev/docs/api/admin-graphql#status-and-error-codes.

Messages never carry a response body: order data is customer PII.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

RETRY_AFTER_CAP_SECONDS = 120.0


class ErrorClass(StrEnum):
    """Who has to act: nobody (transient), the operator (system), or the data owner (data)."""

    TRANSIENT = "transient"
    SYSTEM = "system"
    DATA = "data"


@dataclass(frozen=True)
class Fatal:
    """A status the tap cannot get past by waiting: the cause and what the user must do."""

    cause: str
    fix: str


FATAL_STATUSES: dict[int, Fatal] = {
    401: Fatal(
        "the access token is invalid or was revoked (the app was uninstalled or the token rotated)",
        "create a new Admin API access token for the custom app and set `access_token`",
    ),
    402: Fatal(
        "the shop is frozen because its Shopify bill is unpaid",
        "the store owner must pay the outstanding bill (Shopify admin > Settings > Billing); "
        "the tap works again once the shop is unfrozen",
    ),
    403: Fatal(
        "the access token lacks a required access scope (read_orders)",
        "grant read_orders and read_all_orders to the custom app, reinstall it and set the new "
        "`access_token`",
    ),
    404: Fatal(
        "the shop or the API version does not exist",
        "check `shop` (the myshopify domain), `api_url` and `api_version` (a supported version "
        "such as the default)",
    ),
    423: Fatal(
        "the shop is locked by Shopify",
        "the store owner must contact Shopify support to unlock the shop",
    ),
}

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 522, 524, 530})


class ShopifyFatalError(FatalAPIError):
    """A system error: the run stops with a message naming the cause and the fix."""

    error_class = ErrorClass.SYSTEM

    def __init__(self, status: int | str, cause: str, fix: str) -> None:
        """Keep the status, cause and fix; the message says all three."""
        self.status = status
        self.cause = cause
        self.fix = fix
        super().__init__(f"Shopify answered {status}: {cause}. Fix: {fix}.")


HOST_ANSWER_CAUSES = (
    "the `shop` domain may be wrong (another site answered), a proxy or firewall may be "
    "answering in Shopify's place, or the shop may be showing a maintenance or password page"
)
HOST_ANSWER_FIX = (
    "check `shop` (the myshopify domain) and `api_url`, and open the endpoint in a browser "
    "from this machine to see who answers; waiting does not help, so the tap does not retry"
)


class ShopifyHostAnswerError(ShopifyFatalError):
    """The host answered something that is not Shopify's GraphQL JSON: stop, naming the causes.

    An HTML page, truncated JSON or a success without `data` comes from whoever answers at the
    configured address, not from a Shopify hiccup: retrying would only delay the report.
    """

    def __init__(self, status: int, operation: str, answer: str) -> None:
        """`answer` says what came back (e.g. "an HTML page"), never the body itself."""
        name = operation.split(":", 1)[0]
        super().__init__(
            status,
            f"{name} got {answer} instead of GraphQL JSON; {HOST_ANSWER_CAUSES}",
            HOST_ANSWER_FIX,
        )


class ShopifyRetriableError(RetriableAPIError):
    """A transient failure; `wait_seconds` is Shopify's own wait hint when it gave one."""

    error_class = ErrorClass.TRANSIENT

    def __init__(self, message: str, wait_seconds: float | None = None) -> None:
        """Keep the wait hint (seconds), if any."""
        self.wait_seconds = wait_seconds
        super().__init__(message)


class ThrottledError(ShopifyRetriableError):
    """Shopify throttled the request (HTTP 429 or the GraphQL THROTTLED code)."""


class QueryCostTooHighError(Exception):
    """The query's requested cost exceeds Shopify's single-query maximum; ask for fewer objects."""

    def __init__(self, cost: int, max_cost: int) -> None:
        """Keep the reported cost and the maximum."""
        self.cost = cost
        self.max_cost = max_cost
        super().__init__(f"query cost {cost} exceeds the single-query maximum {max_cost}")


class BulkOperationError(Exception):
    """A bulk operation failed, expired, was cancelled or is still running past the timeout.

    `resumable` is true when the operation may still finish. Its id stays in the state either
    way: the next run waits for it if it is still running and replaces it otherwise.
    """

    error_class = ErrorClass.SYSTEM

    def __init__(self, message: str, *, resumable: bool = False) -> None:
        """Keep whether the next run can resume the operation."""
        self.resumable = resumable
        super().__init__(message)


def fatal_for_status(status: int) -> ShopifyFatalError | None:
    """The fatal error a status means, or None when it is not fatal by itself."""
    known = FATAL_STATUSES.get(status)
    if known is not None:
        return ShopifyFatalError(status, known.cause, known.fix)
    if 400 <= status < 500 and status not in RETRIABLE_STATUSES:  # noqa: PLR2004 - 4xx range
        return ShopifyFatalError(
            status,
            "Shopify refused the request",
            "check the settings; if they are right, report this status as a K-Connector bug",
        )
    return None


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """Parse `Retry-After` in its seconds or HTTP-date form, capped; None when absent or bad.

    https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
    """
    if header is None or not header.strip():
        return None
    text = header.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)
