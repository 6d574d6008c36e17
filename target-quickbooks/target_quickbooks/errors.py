"""Typed errors of the delivery layer: each carries its error class, code, field and guidance.

The error class decides what happens next (see docs/errors.md):

- ``transient``: retried with exponential backoff and jitter, dead-lettered if it never succeeds;
- ``data``: this document cannot be written as it is; dead-lettered at once, the run continues;
- ``conflict``: QuickBooks holds a different version than the one we last wrote; recorded for
  review, never overwritten silently;
- ``system``: nothing will succeed until a person acts (revoked connection, API change); the run
  stops with a non-zero exit and the alert hook is called.

Messages never carry a raw response body (order data is customer PII) nor a secret.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    """What a failure means for the run."""

    TRANSIENT = "transient"
    DATA = "data"
    CONFLICT = "conflict"
    SYSTEM = "system"


class DeliveryError(Exception):
    """A failure to deliver, with what the caller and the user need to act on it."""

    error_class: ErrorClass = ErrorClass.DATA

    def __init__(  # noqa: PLR0913 - each field is part of the error's public record
        self,
        message: str,
        *,
        code: str,
        guidance: str,
        element: str | None = None,
        status: int | None = None,
        intuit_tid: str | None = None,
    ) -> None:
        """Build the error.

        Args:
            message: what went wrong, without PII or secrets.
            code: the QuickBooks fault code, HTTP status or a K-Connector code (TQB-...).
            guidance: what the user does about it.
            element: the offending field or element, when known.
            status: the HTTP status, when the error came from a response.
            intuit_tid: QuickBooks' transaction id of the response, to quote to Intuit support.
        """
        super().__init__(message)
        self.message = message
        self.code = code
        self.guidance = guidance
        self.element = element
        self.status = status
        self.intuit_tid = intuit_tid


class TransientError(DeliveryError):
    """Worth retrying: throttling, 5xx, resets, timeouts."""

    error_class = ErrorClass.TRANSIENT

    def __init__(  # noqa: PLR0913 - DeliveryError's fields plus the wait hint
        self,
        message: str,
        *,
        code: str,
        guidance: str,
        element: str | None = None,
        status: int | None = None,
        intuit_tid: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Build the error; `retry_after` is the server's requested wait in seconds."""
        super().__init__(
            message,
            code=code,
            guidance=guidance,
            element=element,
            status=status,
            intuit_tid=intuit_tid,
        )
        self.retry_after = retry_after


class DataError(DeliveryError):
    """This document cannot be written as it is; the others can."""

    error_class = ErrorClass.DATA


class ConflictError(DeliveryError):
    """QuickBooks' document changed since we last wrote it (stale SyncToken, code 5010)."""

    error_class = ErrorClass.CONFLICT


class SystemFaultError(DeliveryError):
    """Nothing will succeed until a person acts: stop the run."""

    error_class = ErrorClass.SYSTEM


class AccessTokenRejectedError(DeliveryError):
    """HTTP 401 on an API call: the access token expired early or was revoked; refresh once."""

    error_class = ErrorClass.SYSTEM
