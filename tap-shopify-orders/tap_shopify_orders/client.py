"""The conversation with Shopify's GraphQL Admin API: auth, pacing, retries, error mapping.

One POST endpoint per API version (`/admin/api/<version>/graphql.json`), authenticated with the
`X-Shopify-Access-Token` header (https://shopify.dev/docs/api/admin-graphql). Every document goes
through `ShopifyStream.graphql`, which

1. waits in one place (`CostPacer.wait_before`) until the points the query will request have
   restored in the cost bucket, so a steady run is not throttled;
2. sends it through the SDK's backoff decorator: throttling (HTTP 429 with `Retry-After`, or the
   GraphQL `THROTTLED` code with the bucket's refill time), 5xx, timeouts and resets are
   retried with exponential backoff and full jitter, honouring Shopify's wait hints;
3. maps statuses and GraphQL error codes to typed errors (`errors.py`): 401/402/403/404/423 stop
   the run with the cause and the fix; so does a success that is not GraphQL JSON (an HTML page,
   truncated JSON, no `data`): whoever answers is not Shopify, and waiting will not change that
   (`ShopifyHostAnswerError`).

The session (`kconnector_canonical.http_session.GuardedSession`) never follows a redirect to
another host (the token header would follow it) and gives each answer a total deadline of
`REQUEST_TIMEOUT_SECONDS`; log lines are cleaned of the token by the shared log redaction.

JSON is parsed with `parse_float=Decimal`: no amount or rate ever becomes a float.
"""

from __future__ import annotations

import json
import random
import zlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import requests
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.streams import RESTStream

from kconnector_canonical.http_session import GuardedSession
from tap_shopify_orders.errors import (
    QueryCostTooHighError,
    ShopifyFatalError,
    ShopifyHostAnswerError,
    ShopifyRetriableError,
    ThrottledError,
    fatal_for_status,
    retry_after_seconds,
)
from tap_shopify_orders.throttle import CostPacer, ThrottleStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping

    import requests

    from tap_shopify_orders.settings import Settings

REQUEST_TIMEOUT_SECONDS = 60
SCOPE_FIX = (
    "grant read_orders and read_all_orders to the custom app, reinstall it and set the new "
    "`access_token`"
)
MAX_TRIES = 10
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


def retry_waits(
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
    uniform: Any = random.random,  # noqa: ANN401 - any () -> float, injectable for tests
) -> Generator[float, Any, None]:
    """Backoff waits: Shopify's own hint when it gave one, else exponential with full jitter.

    The `backoff` library sends each failure's exception into the generator.
    """
    failure = yield 0.0  # primed by backoff with None
    attempt = 0
    while True:
        hint = getattr(failure, "wait_seconds", None)
        if isinstance(hint, int | float):
            wait = min(float(hint), cap)
        else:
            wait = uniform() * min(cap, base * 2**attempt)
        attempt += 1
        failure = yield wait


def _graphql_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors = body.get("errors")
    if isinstance(errors, list):
        return [e for e in errors if isinstance(e, dict)]
    if isinstance(errors, str | dict):  # some gateways answer {"errors": "..."}
        return [{"message": str(errors)}]
    return []


def read_graphql_body(response: requests.Response, pacer: CostPacer, operation: str) -> Any:  # noqa: ANN401
    """The `data` of a GraphQL response, or the typed error its body means.

    Raises:
        ShopifyHostAnswerError: an HTML page, a body that is not JSON (truncated included),
            JSON that is not an object, or an object without `data` nor GraphQL errors.
        ShopifyRetriableError: INTERNAL_SERVER_ERROR.
        ThrottledError: THROTTLED, with the seconds until the requested cost is restored.
        QueryCostTooHighError: MAX_COST_EXCEEDED.
        ShopifyFatalError: ACCESS_DENIED and any other GraphQL error.
    """
    if "html" in response.headers.get("Content-Type", "").lower():
        raise ShopifyHostAnswerError(response.status_code, operation, "an HTML page")
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        answer = (
            "an HTML page"
            if response.content.lstrip()[:1] == b"<"
            else "a body that is not JSON (or JSON cut short)"
        )
        raise ShopifyHostAnswerError(response.status_code, operation, answer) from exc
    if not isinstance(body, dict):
        raise ShopifyHostAnswerError(response.status_code, operation, "JSON that is not an object")
    status = ThrottleStatus.from_extensions(body.get("extensions"))
    pacer.observe(operation, status)
    for error in _graphql_errors(body):
        extensions = error.get("extensions") or {}
        code = str(extensions.get("code") or "")
        if code == "THROTTLED" or str(error.get("message")).lower() == "throttled":
            wait = status.seconds_until(status.requested_cost or 0) if status else None
            msg = f"{operation} throttled by Shopify's cost bucket"
            raise ThrottledError(msg, wait_seconds=wait)
        if code == "MAX_COST_EXCEEDED":
            raise QueryCostTooHighError(
                int(extensions.get("cost") or 0), int(extensions.get("maxCost") or 1000)
            )
        if code == "INTERNAL_SERVER_ERROR":
            msg = f"Shopify had an internal error on {operation}"
            raise ShopifyRetriableError(msg)
        if code == "ACCESS_DENIED":
            cause = f"the access token may not read what {operation} asks for (a scope is missing)"
            raise ShopifyFatalError(code, cause, SCOPE_FIX)
        raise ShopifyFatalError(
            code or "GraphQL error",
            f"Shopify rejected {operation}: {str(error.get('message'))[:300]}",
            "check `api_version`; if it is supported, report this as a K-Connector bug",
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise ShopifyHostAnswerError(
            response.status_code, operation, "a success without `data` (an error body)"
        )
    return data


class ShopifyStream(RESTStream[Any]):
    """A stream that reads Shopify through GraphQL documents posted to the Admin endpoint."""

    path = ""
    http_method = "POST"
    timeout = REQUEST_TIMEOUT_SECONDS
    _guarded_session: GuardedSession | None = None

    @property
    def requests_session(self) -> requests.Session:
        """The stream's session: redirects stay on the shop's host, answers have a deadline.

        `requests` strips only `Authorization` on a cross-host redirect, so the
        `X-Shopify-Access-Token` header would follow; and a host that drips its answer would
        hold the run forever (the read timeout bounds each wait, not the whole answer).
        """
        if self._guarded_session is None:
            self._guarded_session = GuardedSession(total_timeout=float(self.timeout))
        return self._guarded_session

    @property
    def settings(self) -> Settings:
        """The tap's validated settings."""
        return cast("Settings", self._tap.settings)  # type: ignore[attr-defined]

    @property
    def pacer(self) -> CostPacer:
        """The cost bucket tracker shared by every stream of the tap (one bucket per shop)."""
        return cast("CostPacer", self._tap.pacer)  # type: ignore[attr-defined]

    @property
    def url_base(self) -> str:
        """The GraphQL endpoint of the configured API version."""
        return self.settings.graphql_url

    @property
    def authenticator(self) -> APIKeyAuthenticator:
        """`X-Shopify-Access-Token` on every request."""
        return APIKeyAuthenticator(
            key="X-Shopify-Access-Token",
            value=self.settings.access_token,
            location="header",
        )

    @property
    def http_headers(self) -> dict[str, str]:
        """JSON in, JSON out."""
        return {"Content-Type": "application/json", "Accept": "application/json"}

    def validate_response(self, response: requests.Response) -> None:
        """Map the HTTP status to a typed error (no waiting here: waits are in the backoff).

        Raises:
            ShopifyFatalError: 401, 402, 403, 404, 423 and other 4xx.
            ThrottledError: 429, with `Retry-After` as the wait hint.
            ShopifyRetriableError: 5xx, with `Retry-After` when given.
        """
        status = response.status_code
        if status < 400:  # noqa: PLR2004 - the success range
            return
        hint = retry_after_seconds(response.headers.get("Retry-After"))
        if status == 429:  # noqa: PLR2004 - too many requests
            msg = "Shopify answered 429 Too Many Requests"
            raise ThrottledError(msg, wait_seconds=hint)
        fatal = fatal_for_status(status)
        if fatal is not None:
            raise fatal
        msg = f"Shopify answered {status} {response.reason}"
        raise ShopifyRetriableError(msg, wait_seconds=hint)

    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Shopify's wait hints, else exponential backoff with full jitter (`retry_waits`)."""
        return retry_waits()

    def backoff_jitter(self, value: float) -> float:
        """No extra jitter: `retry_waits` already jitters, and hints are honoured as given."""
        return value

    def backoff_max_tries(self) -> int:
        """Tries per request before the run fails (a long throttle storm is survived)."""
        return MAX_TRIES

    def backoff_handler(self, details: Mapping[str, Any]) -> None:
        """One log line per retry: what failed and how long the wait is (never a body)."""
        failure = details.get("exception")
        args: tuple[Any, ...] = tuple(details.get("args") or ())
        self.logger.warning(
            "retrying operation=%s try=%s wait_s=%.2f reason=%s",
            args[1] if len(args) > 1 else "?",
            details.get("tries"),
            details.get("wait") or 0.0,
            type(failure).__name__ if failure else "unknown",
        )

    def _send(self, prepared: requests.PreparedRequest, operation: str) -> Any:  # noqa: ANN401
        self.pacer.wait_before(operation)
        response = self.requests_session.send(prepared, timeout=self.timeout)
        self.validate_response(response)
        return read_graphql_body(response, self.pacer, operation)

    def graphql(self, operation: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one GraphQL document and return its `data` (retried, paced, errors typed)."""
        prepared = self.build_prepared_request(
            method="POST",
            url=self.get_url(None),
            headers=self.http_headers,
            json={"query": document, "variables": variables, "operationName": operation}
            if operation in document
            else {"query": document, "variables": variables},
        )
        # The SDK's decorator (backoff with this class's wait generator, tries and handler)
        # wraps any callable; its annotation names only the SDK's own request signature.
        send = cast(
            "Callable[[requests.PreparedRequest, str], Any]",
            self.request_decorator(cast("Any", self._send)),
        )
        # Costs differ per document (a NextPage of lines is not one of refunds): pace per document.
        key = f"{operation}:{zlib.crc32(document.encode()):08x}"
        return cast("dict[str, Any]", send(prepared, key))
