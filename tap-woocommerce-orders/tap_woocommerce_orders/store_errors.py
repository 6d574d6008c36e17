"""What a WooCommerce store's answer means, and what the user must do: one table, pure functions.

WordPress REST errors are JSON `{"code", "message", "data": {"status"}}`
(https://developer.wordpress.org/rest-api/using-the-rest-api/global-parameters/ and
`rest_convert_error_to_response`); WooCommerce's authentication errors are
`woocommerce_rest_authentication_error` (wrong secret, key without read permission) and, when no
valid key reached WordPress, the endpoint's `woocommerce_rest_cannot_view`
(https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication,
`class-wc-rest-authentication.php`). Anything in front of WordPress (a WAF, a page cache, the web
server when permalinks are "Plain") answers with HTML instead. Each answer gets an action
(retry, skip, fail) and, when it fails, the setting to change and the fix, in words. Response
bodies hold customer data: no message here ever includes one; WordPress's own message text is
only compared against known English texts, never repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from http import HTTPStatus
from typing import TYPE_CHECKING

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

if TYPE_CHECKING:
    from datetime import datetime

    import requests


class ErrorClass(StrEnum):
    """How an error is handled downstream (see docs: error catalogue)."""

    TRANSIENT = "transient"  # retried; fails the run only when retries run out
    SYSTEM = "system"  # the store or the settings must change; the run stops
    DATA = "data"  # one object cannot be read; the run goes on without it


class Action(StrEnum):
    """What the client does with an answer."""

    ACCEPT = "accept"
    RETRY = "retry"
    SKIP = "skip"
    FAIL = "fail"


class StoreError(FatalAPIError):
    """A store answer that stops the run: `setting` (or None) names what to change."""

    def __init__(
        self, message: str, *, error_class: ErrorClass, setting: str | None, code: str | None
    ) -> None:
        """Keep what the caller needs to act; the message carries the guidance."""
        super().__init__(message)
        self.error_class = error_class
        self.setting = setting
        self.code = code


class StoreObjectGoneError(StoreError):
    """The object asked for no longer exists (deleted between two requests)."""


class RetriableStoreError(RetriableAPIError):
    """A transient store answer: retried, after `retry_after` seconds when the store said so."""

    def __init__(
        self, message: str, response: requests.Response | None, retry_after: float | None
    ) -> None:
        """Keep the wait the store asked for."""
        super().__init__(message, response)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ResponseFacts:
    """What the classification reads from one HTTP answer (no body text)."""

    status: int
    is_json: bool
    code: str | None = None
    message: str | None = None
    invalid_params: tuple[str, ...] = ()
    retry_after: float | None = None
    path: str = ""
    redirected_from: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The action for an answer and, for a failure, the guidance."""

    action: Action
    error_class: ErrorClass | None = None
    setting: str | None = None
    guidance: str = ""


ACCEPT = Verdict(Action.ACCEPT)

_SECURITY_PLUGIN_CODES = frozenset(
    {
        "rest_login_required",
        "rest_forbidden",
        "rest_cannot_access",
        "rest_disabled",
        "rest_not_logged_in",
        "rest_authentication_required",
        "rest_user_cannot_view",
    }
)
_PARAM_SETTINGS = {
    "per_page": "per_page",
    "status": "statuses",
    "modified_after": "start_date",
    "modified_before": "start_date",
    "dates_are_gmt": "start_date",
}

CANNOT_VIEW_BASIC = (
    "WooCommerce did not see valid API credentials (woocommerce_rest_cannot_view). Either "
    "consumer_key is wrong or revoked, its WordPress user may not manage WooCommerce, or the "
    "web server strips the Authorization header before WordPress sees it (common with "
    "CGI/FastCGI hosting): then set auth_method to query_string (HTTPS only)."
)
CANNOT_VIEW_QUERY = (
    "WooCommerce did not accept consumer_key (woocommerce_rest_cannot_view): the key is wrong or "
    "revoked, or its WordPress user may not manage WooCommerce. Create a key under "
    "WooCommerce > Settings > Advanced > REST API with Read permission."
)
_AUTH_MESSAGES: tuple[tuple[str, str, str], ...] = (
    (
        "consumer secret is invalid",
        "consumer_secret",
        (
            "WooCommerce rejected consumer_secret for this consumer key "
            "(woocommerce_rest_authentication_error): copy the secret shown when the key was made."
        ),
    ),
    (
        "does not have read permissions",
        "consumer_key",
        (
            "This API key has no Read permission (woocommerce_rest_authentication_error): create a "
            "key with Read or Read/Write permission under WooCommerce > Settings > Advanced > "
            "REST API."
        ),
    ),
    (
        "consumer key is invalid",
        "consumer_key",
        (
            "WooCommerce does not know consumer_key (woocommerce_rest_authentication_error): "
            "create a key under WooCommerce > Settings > Advanced > REST API."
        ),
    ),
    (
        "consumer key is missing",
        "auth_method",
        (
            "The credentials did not reach WordPress (woocommerce_rest_authentication_error: "
            "consumer key is missing): the server strips the Authorization header; set "
            "auth_method to query_string (HTTPS only)."
        ),
    ),
)
_AUTH_FALLBACK = (
    "WooCommerce rejected the API credentials (woocommerce_rest_authentication_error): check "
    "consumer_key and consumer_secret, and that the key has Read permission."
)
NO_ROUTE = (
    "The store has no WooCommerce REST API v3 route here (rest_no_route): check that url is the "
    "WordPress site address and WooCommerce (3.5 or later) is active; a security plugin may "
    "also have removed the REST routes."
)
SECURITY_PLUGIN = (
    "The WordPress REST API is disabled or restricted by a security plugin ({code}): allow "
    "/wp-json/wc/v3/ for WooCommerce API keys in that plugin (e.g. Disable REST API, Wordfence, "
    "Solid Security), then run again."
)
HTML_OK = (
    "The store answered with an HTML page instead of JSON (HTTP 200): a page cache or CDN is "
    "serving cached pages for /wp-json/. Exclude /wp-json/ from caching, or check that url is "
    "the WordPress site address."
)
HTML_NOT_FOUND = (
    "WordPress did not route /wp-json/ to the REST API (HTTP 404 with an HTML page): set "
    "Settings > Permalinks to any structure other than 'Plain', or check that url is the "
    "WordPress site address."
)
HTML_FORBIDDEN = (
    "A firewall in front of the store refused the request before WordPress saw it (HTTP 403 "
    "with an HTML page), usually because of the User-Agent: set user_agent to a value the host "
    "allows, or ask the host to allow /wp-json/wc/v3/ for this client."
)
HTML_UNAUTHORIZED = (
    "The web server asks for its own password before WordPress (HTTP 401 with an HTML page, "
    "e.g. a protected staging site): remove that protection for /wp-json/."
)
HTML_CLIENT_ERROR = (
    "Something in front of WordPress refused the request (HTTP {status} with an HTML page): a "
    "host firewall or proxy; ask the host to allow /wp-json/wc/v3/ for this client."
)
INVALID_PARAMS = (
    "The store refused the request's parameters ({params}; rest_invalid_param): check {setting}."
)
GONE = "The order no longer exists ({code}); it was deleted while the tap read it."
OTHER_CLIENT_ERROR = "The store refused the request (HTTP {status}, {code})."
SERVER_ERROR = "The store failed to answer (HTTP {status}, {code})."
CRITICAL_ERROR = (
    "The store's WordPress reported a critical error (HTTP 500, internal_server_error): see the "
    "site's PHP error log or WooCommerce > Status > Logs."
)
REDIRECT_HINT = (
    " The request was redirected from {source}; credentials do not follow redirects to another "
    "address: set url to the final address."
)


def _fail(
    setting: str | None, guidance: str, error_class: ErrorClass = ErrorClass.SYSTEM
) -> Verdict:
    return Verdict(Action.FAIL, error_class, setting, guidance)


def _authentication(facts: ResponseFacts) -> Verdict:
    text = (facts.message or "").lower()
    for needle, setting, guidance in _AUTH_MESSAGES:
        if needle in text:
            return _fail(setting, guidance)
    return _fail("consumer_secret", _AUTH_FALLBACK)


def _json_error(facts: ResponseFacts, auth_method: str) -> Verdict:  # noqa: PLR0911 - one branch per documented code
    code = facts.code or "unknown"
    if (
        facts.status == HTTPStatus.TOO_MANY_REQUESTS
        or facts.status >= HTTPStatus.INTERNAL_SERVER_ERROR
    ):
        return Verdict(Action.RETRY, ErrorClass.TRANSIENT)
    if code == "woocommerce_rest_cannot_view":
        if auth_method == "query_string":
            return _fail("consumer_key", CANNOT_VIEW_QUERY)
        return _fail("auth_method", CANNOT_VIEW_BASIC)
    if code == "woocommerce_rest_authentication_error":
        return _authentication(facts)
    if code == "rest_no_route":
        return _fail("url", NO_ROUTE)
    if code in _SECURITY_PLUGIN_CODES:
        return _fail(None, SECURITY_PLUGIN.format(code=code))
    if code == "rest_invalid_param":
        settings = sorted({_PARAM_SETTINGS.get(p, p) for p in facts.invalid_params}) or ["settings"]
        params = ", ".join(facts.invalid_params) or "unknown"
        return _fail(settings[0], INVALID_PARAMS.format(params=params, setting=", ".join(settings)))
    if code.endswith("_invalid_id") and facts.status == HTTPStatus.NOT_FOUND:
        return Verdict(Action.SKIP, ErrorClass.DATA, None, GONE.format(code=code))
    return _fail(None, OTHER_CLIENT_ERROR.format(status=facts.status, code=code))


def _html_answer(facts: ResponseFacts) -> Verdict:
    status = facts.status
    if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return Verdict(Action.RETRY, ErrorClass.TRANSIENT)
    if status < HTTPStatus.MULTIPLE_CHOICES:
        return _fail("url", HTML_OK)
    if status == HTTPStatus.NOT_FOUND:
        return _fail("url", HTML_NOT_FOUND)
    if status == HTTPStatus.FORBIDDEN:
        return _fail("user_agent", HTML_FORBIDDEN)
    if status == HTTPStatus.UNAUTHORIZED:
        return _fail("url", HTML_UNAUTHORIZED)
    return _fail(None, HTML_CLIENT_ERROR.format(status=status))


def classify(facts: ResponseFacts, *, auth_method: str) -> Verdict:
    """The action for one answer (the client's whole status/body -> action table).

    Args:
        facts: what the answer says (status, whether it is JSON, WordPress's error code).
        auth_method: the configured authentication method (the fix differs).

    Returns:
        ACCEPT for a JSON success; RETRY for 429 and 5xx; SKIP for an object deleted in the
        meantime; FAIL with the setting to change and the guidance otherwise.
    """
    if facts.is_json and facts.status < HTTPStatus.BAD_REQUEST:
        return ACCEPT
    verdict = _json_error(facts, auth_method) if facts.is_json else _html_answer(facts)
    if verdict.action is Action.FAIL and facts.redirected_from:
        hint = REDIRECT_HINT.format(source=facts.redirected_from)
        return Verdict(
            verdict.action, verdict.error_class, verdict.setting, verdict.guidance + hint
        )
    return verdict


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` in seconds, from either of its forms (RFC 9110 section 10.2.3).

    Returns:
        The wait, never negative; None when the header is absent or unreadable.
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - now).total_seconds())


def body_error_fields(body: object) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(code, message, invalid parameter names) of a WordPress error body, if it is one."""
    if not isinstance(body, dict):
        return None, None, ()
    code = body.get("code")
    message = body.get("message")
    data = body.get("data")
    params = data.get("params") if isinstance(data, dict) else None
    names = tuple(sorted(params)) if isinstance(params, dict) else ()
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
        names,
    )
