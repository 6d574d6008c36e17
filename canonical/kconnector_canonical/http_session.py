"""The one HTTP session of every K-Connector plugin: credentials stay on their host, answers end.

- Redirects: `requests` strips only the `Authorization` header when a redirect leaves the host
  (`Session.rebuild_auth`, https://requests.readthedocs.io/en/latest/api/#requests.Session.rebuild_auth);
  a custom credential header (Shopify's `X-Shopify-Access-Token`), a query-string credential or a
  307/308 re-posted body (the OAuth refresh token) would follow. `GuardedSession` follows a
  redirect only within the same host (an http -> https upgrade included) and refuses any other
  with `CrossHostRedirectError`, before the redirected request is sent.
- Deadline: a read timeout bounds each wait for bytes, not the whole answer, so a host dripping
  one byte at a time keeps a plugin waiting forever. `GuardedSession` streams each answer and
  stops when `total_timeout` seconds have passed since the request was sent, raising
  `ResponseDeadlineError` (a `requests.Timeout`, so every plugin retries it like any timeout).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_READ_SIZE = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CrossHostRedirectError(requests.exceptions.RequestException):
    """The server redirected to another host (or from https to http): not followed."""


class ResponseDeadlineError(requests.exceptions.Timeout):
    """The whole answer did not arrive within the total deadline (retryable like a timeout)."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def same_host_redirect(from_url: str, to_url: str) -> bool:
    """Whether a redirect from `from_url` to `to_url` stays with the same server.

    Same scheme, host and port; or the same host upgraded from http to https on default ports.
    """
    old, new = _origin(from_url), _origin(to_url)
    if old == new:
        return True
    return old[1] == new[1] and old[0] == "http" and new[0] == "https" and new[2] == 443  # noqa: PLR2004


def _where(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.hostname or '?'}{parts.path}"


class GuardedSession(requests.Session):
    """A `requests.Session` that keeps credentials on their host and bounds each answer."""

    def __init__(
        self,
        *,
        total_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`total_timeout`: seconds for a whole answer; None: each request's read timeout."""
        super().__init__()
        self.total_timeout = total_timeout
        self._clock = clock

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """Refuse a redirect that leaves the host before anything is sent there.

        Raises:
            CrossHostRedirectError: the redirect goes to another host, port or scheme.
        """
        origin = response.request.url if response.request is not None else None
        if origin is not None and not same_host_redirect(origin, prepared_request.url or ""):
            response.close()
            msg = (
                f"the server at {_where(origin)} redirected to another host "
                f"({_where(prepared_request.url)}); K-Connector does not send credentials "
                "across hosts. Set the final address in the settings instead"
            )
            raise CrossHostRedirectError(msg, response=response)
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # noqa: ANN401
        """Send, then read the body within the total deadline (unless the caller streams).

        Raises:
            ResponseDeadlineError: the answer was not complete within `total_timeout`.
        """
        stream = bool(kwargs.pop("stream", False))
        started = self._clock()
        response = super().send(request, stream=True, **kwargs)
        if not stream:
            total = self.total_timeout
            if total is None:
                total = _read_timeout(kwargs.get("timeout"))
            self._read_within_deadline(response, started, total)
        return response

    def _read_within_deadline(
        self, response: requests.Response, started: float, total: float | None
    ) -> None:
        deadline = None if total is None else started + total
        chunks: list[bytes] = []
        try:
            for chunk in _arrivals(response):
                chunks.append(chunk)
                if deadline is not None and self._clock() > deadline:
                    break
            else:
                # What `requests` itself does when it reads a non-streamed body.
                response._content = b"".join(chunks)  # noqa: SLF001
                response._content_consumed = True  # type: ignore[attr-defined]  # noqa: SLF001
                return
        finally:
            response.close()
        msg = (
            f"{_where(response.url)} did not finish its answer within "
            f"{total:g} s (a slow or stalled host)"
        )
        raise ResponseDeadlineError(msg, response=response)


def _read_timeout(timeout: object) -> float | None:
    """The read part of a `requests` timeout (a number, or a (connect, read) pair)."""
    if isinstance(timeout, tuple) and len(timeout) == 2:  # noqa: PLR2004 - (connect, read)
        timeout = timeout[1]
    return float(timeout) if isinstance(timeout, int | float) else None


def _arrivals(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives; urllib3's read errors mapped as `requests` maps them."""
    while True:
        try:
            # read1 returns what has arrived (at most one wait of the read timeout), so the
            # deadline is checked between arrivals, not after a whole buffer fills.
            chunk = response.raw.read1(_READ_SIZE, decode_content=True)
        except requests.exceptions.RequestException:
            raise
        except Exception as exc:
            mapped = _as_requests_error(exc, response)
            if mapped is None:
                raise
            raise mapped from exc
        if not chunk:
            return
        yield chunk


def _as_requests_error(
    error: Exception, response: requests.Response
) -> requests.exceptions.RequestException | None:
    from urllib3.exceptions import (  # noqa: PLC0415 - only on the error path
        DecodeError,
        ProtocolError,
        ReadTimeoutError,
        SSLError,
    )

    if isinstance(error, ReadTimeoutError):
        return requests.exceptions.ReadTimeout(str(error), response=response)
    if isinstance(error, ProtocolError):
        return requests.exceptions.ChunkedEncodingError(str(error), response=response)
    if isinstance(error, DecodeError):
        return requests.exceptions.ContentDecodingError(str(error), response=response)
    if isinstance(error, SSLError):
        return requests.exceptions.SSLError(str(error), response=response)
    return None
