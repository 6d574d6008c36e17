"""The conversation with a WooCommerce store's REST API v3: auth, headers, errors, retries.

- Authentication (https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication-over-https):
  HTTP Basic with the consumer key and secret, or, for servers that do not pass the
  Authorization header to PHP, the same pair as `consumer_key`/`consumer_secret` query
  parameters. Both only over HTTPS unless `allow_insecure_http` is set (checked in `settings`).
- Every answer is classified by `store_errors.classify` (one table): JSON success is accepted,
  429 and 5xx are retried, everything else fails with the setting to change.
- Retries wait what `Retry-After` asks (seconds or HTTP date), capped, else 1, 2, 4... seconds;
  timeouts and dropped connections are retried the same way (the SDK's retry decorator).
- Logs and messages carry the path only: never the query string (it may hold the secret) nor a
  response body (order data is customer data). Whatever escapes (a `requests` connection error
  holds the full URL) is masked by the shared log redaction (`kconnector_canonical.redaction`).
- Redirects are followed on the store's host only, and each answer has a total deadline of
  `timeout` seconds (`kconnector_canonical.http_session.GuardedSession`).
"""

from __future__ import annotations

import decimal
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth
from singer_sdk.streams import RESTStream

from kconnector_canonical.http_session import GuardedSession
from tap_woocommerce_orders.store_errors import (
    CRITICAL_ERROR,
    HTML_OK,
    SERVER_ERROR,
    Action,
    ErrorClass,
    ResponseFacts,
    RetriableStoreError,
    StoreError,
    StoreObjectGoneError,
    body_error_fields,
    classify,
    retry_after_seconds,
)
from tap_woocommerce_orders.wc_values import SourceValueError, gmt_datetime

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable

    from backoff.types import Details
    from singer_sdk import Tap

    from tap_woocommerce_orders.settings import StoreSettings

MAX_RETRY_WAIT_SECONDS = 120.0
FIRST_RETRY_WAIT_SECONDS = 1.0


class QueryStringAuth(AuthBase):
    """The consumer key and secret as `consumer_key`/`consumer_secret` URL parameters."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        """Keep the pair."""
        self._params = {"consumer_key": consumer_key, "consumer_secret": consumer_secret}

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the credentials to the request's URL (once: the SDK may apply auth twice)."""
        if "consumer_key" not in parse_qs(urlsplit(request.url or "").query):
            request.prepare_url(request.url, self._params)
        return request


def authenticator_for(settings: StoreSettings) -> AuthBase:
    """The request authentication the settings ask for."""
    if settings.auth_method == "query_string":
        return QueryStringAuth(settings.consumer_key, settings.consumer_secret)
    return HTTPBasicAuth(settings.consumer_key, settings.consumer_secret)


def response_facts(response: requests.Response) -> ResponseFacts:
    """What `classify` needs from an answer; the body is read only for WordPress's error code."""
    body: object = None
    # Only an answer that declares itself HTML is taken for a page; a success is parsed later
    # by `parse_json_body`, which refuses anything but JSON, and an error body is read here.
    is_json = "html" not in response.headers.get("Content-Type", "").lower()
    if is_json and response.status_code >= requests.codes.bad_request:
        try:
            body = response.json()
        except ValueError:
            is_json = False
    code, message, params = body_error_fields(body)
    redirected_from = (
        urlsplit(response.history[0].url).netloc + urlsplit(response.history[0].url).path
        if response.history
        else None
    )
    return ResponseFacts(
        status=response.status_code,
        is_json=is_json,
        code=code,
        message=message,
        invalid_params=params,
        retry_after=retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC)),
        path=urlsplit(response.url).path,
        redirected_from=redirected_from,
    )


def parse_json_body(response: requests.Response) -> Any:  # noqa: ANN401 - a JSON document
    """The answer's JSON, numbers as `Decimal` (money never passes through float).

    Raises:
        StoreError: when the store answered 2xx with something that is not JSON.
    """
    try:
        return json.loads(response.text, parse_float=decimal.Decimal)
    except ValueError as exc:
        raise StoreError(HTML_OK, error_class=ErrorClass.SYSTEM, setting="url", code=None) from exc


class WooCommerceStream(RESTStream[Any]):
    """Base for the tap's streams: the store's API base, auth, headers, errors and retries."""

    records_jsonpath = "$[*]"

    def __init__(self, tap: Tap, settings: StoreSettings) -> None:
        """Bind the stream to the checked settings."""
        self.settings = settings
        self._guarded_session: GuardedSession | None = None
        super().__init__(tap=tap)
        self.requests_session.verify = settings.verify_ssl
        if settings.auth_method == "query_string":
            # urllib3 logs each request line, query string included, at DEBUG: with the
            # credentials in the query string that line would carry the secret.
            connection_log = logging.getLogger("urllib3.connectionpool")
            if connection_log.getEffectiveLevel() < logging.INFO:
                connection_log.setLevel(logging.INFO)

    @property
    def requests_session(self) -> requests.Session:
        """The stream's session: redirects stay on the store's host, answers have a deadline.

        The credentials would follow a redirect to another host otherwise, and a host that
        drips its answer would hold the run forever: `timeout` bounds the whole answer.
        """
        if self._guarded_session is None:
            self._guarded_session = GuardedSession(total_timeout=self.settings.timeout)
        return self._guarded_session

    @property
    def url_base(self) -> str:
        """`<url>/wp-json/wc/v3`."""
        return self.settings.api_base

    @property
    def authenticator(self) -> AuthBase:
        """HTTP Basic or query-string credentials."""
        return authenticator_for(self.settings)

    @property
    def http_headers(self) -> dict[str, str]:
        """Ask for JSON."""
        return {"Accept": "application/json"}

    @property
    def user_agent(self) -> str:
        """The configured User-Agent (hosts' firewalls may block scripted agents)."""
        return self.settings.user_agent

    @property
    def timeout(self) -> int:
        """Seconds to wait for one answer."""
        return self.settings.timeout

    def validate_response(self, response: requests.Response) -> None:
        """Accept, retry or fail an answer as `store_errors.classify` says.

        Raises:
            RetriableStoreError: 429 and 5xx (retried by the SDK's decorator).
            StoreObjectGoneError: the object was deleted meanwhile.
            StoreError: anything else that is not a JSON success, with the fix.
        """
        facts = response_facts(response)
        verdict = classify(facts, auth_method=self.settings.auth_method)
        if verdict.action is Action.ACCEPT:
            return
        if verdict.action is Action.RETRY:
            message = (
                CRITICAL_ERROR
                if facts.code == "internal_server_error"
                else SERVER_ERROR.format(status=facts.status, code=facts.code or "no error code")
            )
            retry_message = f"{message} [{facts.path}]"
            raise RetriableStoreError(retry_message, response, facts.retry_after)
        error_type = StoreObjectGoneError if verdict.action is Action.SKIP else StoreError
        failure = f"{verdict.guidance} [HTTP {facts.status} {facts.path}]"
        raise error_type(
            failure,
            error_class=verdict.error_class or ErrorClass.SYSTEM,
            setting=verdict.setting,
            code=facts.code,
        )

    def response_error_message(self, response: requests.Response) -> str:
        """Status and path only: bodies hold customer data, query strings may hold the secret."""
        return f"HTTP {response.status_code} for path {urlsplit(response.url).path}"

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The list in the answer, numbers as `Decimal`.

        Raises:
            StoreError: when the answer is not a JSON list.
        """
        body = parse_json_body(response)
        if not isinstance(body, list):
            raise StoreError(HTML_OK, error_class=ErrorClass.SYSTEM, setting="url", code=None)
        yield from (item for item in body if isinstance(item, dict))

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:  # noqa: ANN401
        """One GET below the API base, with the stream's auth, checks and retries.

        Raises:
            StoreError: as `validate_response` (after the retries for transient answers).
        """
        prepared = self.build_prepared_request(
            method="GET", url=f"{self.url_base}{path}", headers=self.http_headers, params=params
        )
        response = self.request_decorator(self._request)(prepared, None)
        return parse_json_body(response)

    def first_modified(self, query: dict[str, str], status: str) -> datetime | None:
        """The UTC modification moment of the first order the store sorts into `query`.

        One request of one order (`per_page=1`, `orderby=modified&order=asc`): where the next
        orders are, so that empty windows are skipped instead of read. None when no order
        matches.

        Raises:
            StoreError: as `get_json`, or when the answer is not a list of orders.
        """
        params = {**query, "status": status, "per_page": 1, "orderby": "modified", "order": "asc"}
        body = self.get_json("/orders", params)
        if not isinstance(body, list):
            raise StoreError(HTML_OK, error_class=ErrorClass.SYSTEM, setting="url", code=None)
        if not body or not isinstance(body[0], dict):
            return None
        try:
            return gmt_datetime(body[0].get("date_modified_gmt"), "date_modified_gmt")
        except SourceValueError as exc:
            message = f"Order {body[0].get('id')} cannot be read: {exc}."
            raise StoreError(message, error_class=ErrorClass.DATA, setting=None, code=None) from exc

    def registered_statuses(self) -> list[str] | None:
        """The store's registered order statuses (plugins add their own), or None if unknown.

        `GET /reports/orders/totals` lists one row per status of `wc_get_order_statuses()`
        (`WC_REST_Report_Orders_Totals_Controller`, https://woocommerce.github.io/code-reference/
        files/woocommerce-includes-rest-api-controllers-version3-class-wc-rest-report-orders-
        totals-controller.html). A key whose user may not view reports, or a host that blocks
        the route, gives None: the caller then reads trash in a pass of its own.
        """
        try:
            body = self.get_json("/reports/orders/totals")
        except (StoreError, RetriableStoreError) as exc:
            self.logger.warning(
                "order statuses unknown (reports/orders/totals: %s): trashed orders are read "
                "in a second pass",
                type(exc).__name__,
            )
            return None
        if not isinstance(body, list):
            return None
        slugs = [row.get("slug") for row in body if isinstance(row, dict)]
        return [slug for slug in slugs if isinstance(slug, str) and slug] or None

    # Retries -----------------------------------------------------------------------------

    def backoff_max_tries(self) -> int:
        """The first try plus `max_retries`."""
        return self.settings.max_retries + 1

    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Waits between tries: `Retry-After` when the store sent it, else 1, 2, 4... (capped)."""
        return retry_waits()

    def backoff_jitter(self, value: float) -> float:
        """No jitter: the waits are the store's (Retry-After) or already spread by doubling."""
        return value

    def backoff_handler(self, details: Details) -> None:
        """One log line per retry: what failed, the path, the wait (no URL, no body)."""
        error = details.get("exception")
        self.logger.warning(
            "retrying stream=%s path=%s try=%s wait_seconds=%.1f error=%s",
            self.name,
            self.path,
            details.get("tries"),
            details.get("wait") or 0.0,
            type(error).__name__ if error is not None else "unknown",
        )


def retry_waits() -> Generator[float, Any, None]:
    """Backoff wait generator (the `backoff` protocol: each failure is sent in, a wait comes out).

    A `RetriableStoreError` with a `Retry-After` waits exactly that (capped); anything else waits
    1, 2, 4, ... seconds, capped.
    """
    attempt = 0
    error = yield 0.0  # primed by backoff before the first failure
    while True:
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float):
            wait = min(float(retry_after), MAX_RETRY_WAIT_SECONDS)
        else:
            wait = min(FIRST_RETRY_WAIT_SECONDS * 2**attempt, MAX_RETRY_WAIT_SECONDS)
        attempt += 1
        error = yield wait
