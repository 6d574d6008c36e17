"""The conversation with the QuickBooks Online Accounting API for one company.

Every request: explicit connect/read timeouts, ``minorversion``, a bearer token (refreshed on
401, once), the realm's rate limits and concurrency cap, retries of transient failures with
backoff (`retry_policy`), and the response classified by `error_catalog`. Writes carry their
``requestid`` (https://blogs.intuit.com/2015/04/06/15346/), so a retried write is answered with
the first response instead of being performed twice.

URLs (https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features): create and
update ``POST /v3/company/{realm}/{entity}``, void/delete ``?operation=void|delete``, read
``GET .../{entity}/{id}``, query ``GET .../query?query=``, batch ``POST .../batch``
(https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/batch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import backoff
import requests

from kconnector_canonical.http_session import CrossHostRedirectError, ResponseDeadlineError
from target_quickbooks import error_catalog, qbo_json
from target_quickbooks.auth import RECONNECT_STEPS
from target_quickbooks.error_catalog import Action, action_for_status, entry_for_fault
from target_quickbooks.errors import (
    AccessTokenRejectedError,
    ConflictError,
    DataError,
    DeliveryError,
    ErrorClass,
    SystemFaultError,
    TransientError,
)
from target_quickbooks.rate_limits import RateLimitWaitError
from target_quickbooks.retry_policy import parse_retry_after, retry_waits
from target_quickbooks.settings import CONNECT_TIMEOUT_SECONDS

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping

    from target_quickbooks.auth import TokenManager
    from target_quickbooks.rate_limits import RealmRateLimiter
    from target_quickbooks.settings import Settings

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_MAX_MESSAGE = 300
_ERROR_TYPES: dict[ErrorClass, type[DeliveryError]] = {
    ErrorClass.TRANSIENT: TransientError,
    ErrorClass.DATA: DataError,
    ErrorClass.CONFLICT: ConflictError,
    ErrorClass.SYSTEM: SystemFaultError,
}


def redact(text: str) -> str:
    """A fault text made safe for logs and dead letters: no e-mail addresses, bounded length."""
    cleaned = _EMAIL.sub("<email>", " ".join(text.split()))
    return cleaned if len(cleaned) <= _MAX_MESSAGE else cleaned[: _MAX_MESSAGE - 1] + "…"


def fault_error(fault: object, *, status: int, intuit_tid: str | None) -> DeliveryError:
    """The typed error for a QuickBooks ``Fault`` object (from a response or a batch item)."""
    errors = fault.get("Error") if isinstance(fault, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = str(first.get("code") or "unknown")
    entry = entry_for_fault(code, status)
    message = redact(
        f"{entry.title} (QuickBooks {code}): {first.get('Detail') or first.get('Message') or ''}"
    )
    error_type = _ERROR_TYPES[entry.error_class]
    return error_type(
        message,
        code=code,
        guidance=entry.guidance,
        element=str(first.get("element") or "") or None,
        status=status,
        intuit_tid=intuit_tid,
    )


@dataclass(frozen=True)
class ApiResponse:
    """A parsed successful response."""

    payload: dict[str, Any]
    intuit_tid: str | None


class QuickBooksClient:
    """HTTP calls to one company, with auth, limits, retries and error classification."""

    def __init__(
        self,
        settings: Settings,
        tokens: TokenManager,
        limiter: RealmRateLimiter,
        session: requests.Session,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        """Bind the collaborators."""
        self._settings = settings
        self._tokens = tokens
        self._limiter = limiter
        self._session = session
        self._logger = logger
        self._base = f"{settings.api_url}/v3/company/{settings.realm_id}"
        self._timeout = (CONNECT_TIMEOUT_SECONDS, settings.request_timeout_seconds)
        self._send_with_retry = backoff.on_exception(
            retry_waits,
            TransientError,
            max_tries=settings.max_attempts,
            jitter=None,
            logger=None,
            on_backoff=self._log_backoff,
            base=settings.min_backoff_seconds,
            cap=settings.max_backoff_seconds,
        )(self._send_once)
        # Called with (entity, body) after every write request, answered or not (the run's
        # look-ups forget what a write may have changed: `lookups.RunLookups.forget`).
        self.write_observers: list[Callable[[str, Mapping[str, Any]], None]] = []

    @property
    def max_concurrency(self) -> int:
        """Requests this client may have in flight at once (the limiter's cap)."""
        return self._limiter.max_concurrency

    # ------------------------------------------------------------------ API

    def query(self, statement: str) -> list[dict[str, Any]]:
        """Run one query statement (one page); returns the entities found.

        The statement travels in a POST body (``Content-Type: application/text``) rather than
        the URL: lookups carry customer names and e-mails, which do not belong in URLs (access
        logs), and a 30-value ``IN`` list stays clear of URL length limits.
        """
        response = self._send("POST", "/query", text=statement)
        result = response.payload.get("QueryResponse")
        if not isinstance(result, dict):
            msg = "query response without QueryResponse"
            raise self._unknown_shape(msg)
        found: list[dict[str, Any]] = []
        for key, value in result.items():
            if isinstance(value, list):
                found.extend(item for item in value if isinstance(item, dict))
            elif key not in {"startPosition", "maxResults", "totalCount"}:
                msg = f"unexpected QueryResponse member {key}"
                raise self._unknown_shape(msg)
        return found

    def read(self, entity: str, entity_id: str) -> tuple[dict[str, Any], str | None]:
        """Read one entity by Id; returns it and the response's intuit_tid."""
        response = self._send("GET", f"/{entity.lower()}/{entity_id}")
        return self._entity_of(response, entity), response.intuit_tid

    def write(
        self,
        entity: str,
        body: dict[str, Any],
        *,
        request_id: str,
        operation: str | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """Create/update (or void/delete with `operation`) one entity, idempotently."""
        params = {"requestid": request_id}
        if operation is not None:
            params["operation"] = operation
        try:
            response = self._send("POST", f"/{entity.lower()}", params=params, body=body)
        finally:
            self._written([(entity, body)])
        return self._entity_of(response, entity), response.intuit_tid

    def batch(
        self, items: list[dict[str, Any]], *, request_id: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Send one batch request; returns its BatchItemResponse entries and the intuit_tid."""
        try:
            response = self._send(
                "POST",
                "/batch",
                params={"requestid": request_id},
                body={"BatchItemRequest": items},
                is_batch=True,
            )
        finally:
            self._written(
                (entity, body)
                for item in items
                for entity, body in item.items()
                if isinstance(body, dict)
            )
        entries = response.payload.get("BatchItemResponse")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            msg = "batch response without BatchItemResponse"
            raise self._unknown_shape(msg)
        return entries, response.intuit_tid

    # ------------------------------------------------------------ internals

    def _written(self, bodies: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        if self.write_observers:
            for entity, body in list(bodies):
                for observer in self.write_observers:
                    observer(entity, body)

    def _entity_of(self, response: ApiResponse, entity: str) -> dict[str, Any]:
        document = response.payload.get(entity)
        if not isinstance(document, dict):
            msg = f"response without {entity}"
            raise self._unknown_shape(msg)
        return document

    def _unknown_shape(self, what: str) -> SystemFaultError:
        return SystemFaultError(
            f"QuickBooks answered in an unknown shape: {what}",
            code=error_catalog.UNKNOWN_RESPONSE,
            guidance=(
                "The QuickBooks API answered in a shape K-Connector does not know: the API "
                "may have changed (check minor_version). Update K-Connector or contact support."
            ),
        )

    def _log_backoff(self, details: Any) -> None:  # noqa: ANN401 - backoff's details dict
        if self._logger is not None:
            error = details.get("exception")
            self._logger.warning(
                "event=retry realm=%s tries=%s wait=%.2f code=%s",
                self._settings.realm_id,
                details.get("tries"),
                details.get("wait") or 0.0,
                getattr(error, "code", "?"),
            )

    def _send(  # noqa: PLR0913 - one keyword per kind of request content
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        text: str | None = None,
        is_batch: bool = False,
    ) -> ApiResponse:
        all_params = {"minorversion": self._settings.minor_version, **(params or {})}
        content: tuple[bytes, str] | None = None
        if body is not None:
            content = (qbo_json.dumps(body).encode(), "application/json")
        elif text is not None:
            content = (text.encode(), "application/text")
        try:
            return self._send_with_retry(method, path, all_params, content, is_batch=is_batch)
        except AccessTokenRejectedError:
            pass
        # The token was refused although it looked valid: refresh once and try again.
        try:
            return self._send_with_retry(method, path, all_params, content, is_batch=is_batch)
        except AccessTokenRejectedError as exc:
            msg = "QuickBooks rejected a freshly refreshed access token (HTTP 401)"
            raise SystemFaultError(
                msg,
                code="3200",
                guidance=RECONNECT_STEPS,
                status=exc.status,
                intuit_tid=exc.intuit_tid,
            ) from None

    def _send_once(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        content: tuple[bytes, str] | None,
        *,
        is_batch: bool,
    ) -> ApiResponse:
        token = self._tokens.access_token()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if content is not None:
            data, headers["Content-Type"] = content
        try:
            with self._limiter.slot(is_batch=is_batch):
                response = self._session.request(
                    method,
                    self._base + path,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self._timeout,
                )
        except CrossHostRedirectError:
            msg = "QuickBooks' address redirected to another host; the access token was not sent"
            raise SystemFaultError(
                msg,
                code=error_catalog.UNKNOWN_RESPONSE,
                guidance=(
                    "Set api_url to the API's own address (or leave it unset for Intuit's); "
                    "K-Connector never sends credentials to a host it was redirected to."
                ),
            ) from None
        except RateLimitWaitError:
            msg = "client-side rate limiter could not admit the request in time"
            raise TransientError(
                msg,
                code="rate-limit",
                guidance="Retried with backoff.",
            ) from None
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            # The write may have been committed: the retry carries the same requestid.
            # A cut-off answer says so: host, path and deadline (no query, no credential).
            cause = str(exc) if isinstance(exc, ResponseDeadlineError) else type(exc).__name__
            msg = f"network failure ({cause})"
            raise TransientError(
                msg,
                code="network",
                guidance="Retried with the same requestid, so QuickBooks never applies it twice.",
            ) from None
        return self._classify(response, token)

    def _classify(self, response: requests.Response, token: str) -> ApiResponse:
        status = response.status_code
        tid = response.headers.get("intuit_tid")
        rule = action_for_status(status)
        payload = self._json_or_none(response)
        if rule.action is Action.SUCCEED:
            if payload is None:
                msg = f"HTTP {status} without a JSON object"
                raise self._unknown_shape(msg)
            if "Fault" in payload:
                raise fault_error(payload["Fault"], status=status, intuit_tid=tid)
            return ApiResponse(payload, tid)
        if rule.action is Action.REFRESH_TOKEN:
            self._tokens.reject(token)
            msg = "QuickBooks rejected the access token (HTTP 401)"
            raise AccessTokenRejectedError(
                msg,
                code="3200",
                guidance=rule.guidance,
                status=status,
                intuit_tid=tid,
            )
        if rule.action is Action.RETRY:
            msg = f"QuickBooks answered HTTP {status}"
            raise TransientError(
                msg,
                code=self._fault_code(payload) or str(status),
                guidance=rule.guidance,
                status=status,
                intuit_tid=tid,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if rule.action is Action.CLASSIFY_FAULT and payload is not None and "Fault" in payload:
            raise fault_error(payload["Fault"], status=status, intuit_tid=tid)
        if rule.action is Action.CLASSIFY_FAULT:
            msg = f"HTTP {status} without a Fault"
            raise self._unknown_shape(msg)
        msg = f"QuickBooks answered HTTP {status}"
        raise SystemFaultError(
            msg,
            code=self._fault_code(payload) or str(status),
            guidance=rule.guidance,
            status=status,
            intuit_tid=tid,
        )

    @staticmethod
    def _json_or_none(response: requests.Response) -> dict[str, Any] | None:
        try:
            parsed = qbo_json.loads(response.content or b"")
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    @staticmethod
    def _fault_code(payload: dict[str, Any] | None) -> str | None:
        if payload is None:
            return None
        fault = payload.get("Fault")
        errors = fault.get("Error") if isinstance(fault, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = errors[0].get("code")
            return str(code) if code is not None else None
        return None
