"""OAuth 2.0 access for one company: refresh before expiry and on 401, rotation persisted first.

QuickBooks access tokens live one hour and every refresh returns a new refresh token, the old one
becoming unusable (Intuit's OAuth FAQ,
https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq
and https://nango.dev/blog/quickbooks-oauth-refresh-token-invalid-grant). So the newest refresh
token is committed to the store the moment it is issued, before the new access token is used,
and the stored token is preferred over the configured one. A crash between the token endpoint's
answer and that commit leaves the previous token in the store: the next run presents it again,
which works as long as the token server still honours a just-superseded token (the K-Connector
QuickBooks emulator keeps one valid for a grace period; Intuit does not document its own), and
the configured token is tried next.

``invalid_grant`` (expired or revoked) is a system error with the reconnect steps; tokens never
appear in a log line, an exception or an audit row (each token received is registered with the
shared log redaction, `kconnector_canonical.redaction`). The refresh token is never re-posted to
another host: a redirect off the token endpoint's host stops the run (`GuardedSession`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import backoff
import requests

from kconnector_canonical.http_session import CrossHostRedirectError, ResponseDeadlineError
from kconnector_canonical.redaction import register_secret
from target_quickbooks import error_catalog
from target_quickbooks.errors import SystemFaultError, TransientError
from target_quickbooks.retry_policy import parse_retry_after, retry_waits
from target_quickbooks.settings import CONNECT_TIMEOUT_SECONDS
from target_quickbooks.store.audit import AuditEntry

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from target_quickbooks.settings import Settings
    from target_quickbooks.store.audit import AuditLog
    from target_quickbooks.store.tokens import TokenVault

RECONNECT_STEPS = (
    "QuickBooks refused the stored refresh token (expired, revoked, or the app was "
    "disconnected from the company). To reconnect: (1) sign in to the Intuit Developer portal, "
    "open the app, 'Keys & credentials', and check client_id and client_secret for the "
    "environment; (2) run the OAuth consent again as an admin of the company (for example with "
    "the Intuit OAuth 2.0 Playground, scope com.intuit.quickbooks.accounting) and note the new "
    "refresh token and the realm id; (3) set refresh_token (and realm_id if it changed) in the "
    "target's settings, e.g. `meltano config target-quickbooks set refresh_token`; (4) re-run "
    "the pipeline: the new token replaces the stored one and nothing already delivered is sent "
    "twice."
)
CLIENT_REJECTED_STEPS = (
    "The token endpoint rejected the app's client_id/client_secret (invalid_client). Copy "
    "them again from the Intuit Developer portal, 'Keys & credentials' of the right "
    "environment (sandbox or production), set them in the target's settings and re-run."
)
_TOKEN_TIMEOUT_SECONDS = 30.0
_DEFAULT_MARGIN = timedelta(seconds=60)


class InvalidGrantError(Exception):
    """The token endpoint answered ``invalid_grant`` for one refresh token."""


@dataclass(frozen=True, repr=False)
class TokenGrant:
    """A successful refresh (values never printed)."""

    access_token: str
    refresh_token: str
    expires_in: float

    def __repr__(self) -> str:
        """No token values."""
        return f"TokenGrant(expires_in={self.expires_in})"


class TokenManager:
    """Hands out a valid access token for one realm, refreshing and persisting as needed."""

    def __init__(  # noqa: PLR0913 - collaborators are injected for tests
        self,
        settings: Settings,
        vault: TokenVault,
        session: requests.Session,
        *,
        audit: AuditLog | None = None,
        logger: logging.Logger | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Bind to settings, the token vault and an HTTP session."""
        self._settings = settings
        self._vault = vault
        self._session = session
        self._audit = audit
        self._logger = logger
        self._now = now
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._refresh_at: datetime | None = None
        stored = vault.load(settings.realm_id)
        if stored is not None:
            register_secret(stored.refresh_token)
            register_secret(stored.access_token)
        if stored is not None and stored.access_token and stored.expires_at is not None:
            self._access_token = stored.access_token
            self._refresh_at = stored.expires_at - _DEFAULT_MARGIN
        self._exchange_with_retry = backoff.on_exception(
            retry_waits,
            TransientError,
            max_tries=settings.max_attempts,
            jitter=None,
            logger=None,
            base=settings.min_backoff_seconds,
            cap=settings.max_backoff_seconds,
        )(self._exchange)

    def access_token(self) -> str:
        """A usable access token (refreshed first when missing or about to expire)."""
        with self._lock:
            if (
                self._access_token is None
                or self._refresh_at is None
                or self._now() >= self._refresh_at
            ):
                return self._refresh_locked()
            return self._access_token

    def reject(self, token: str) -> None:
        """An API call answered 401 with `token`: the next `access_token()` refreshes."""
        with self._lock:
            if self._access_token == token:
                self._access_token = None
                self._vault.forget_access_token(self._settings.realm_id)

    def _refresh_locked(self) -> str:
        realm = self._settings.realm_id
        stored = self._vault.load(realm)
        candidates = [stored.refresh_token] if stored is not None else []
        if self._settings.refresh_token not in candidates:
            # A token set in the config after a reconnect supersedes a dead stored one.
            candidates.append(self._settings.refresh_token)
        grant: TokenGrant | None = None
        for candidate in candidates:
            try:
                grant = self._exchange_with_retry(candidate)
                break
            except InvalidGrantError:
                continue
        if grant is None:
            if self._logger is not None:
                self._logger.error("event=token_refresh realm=%s outcome=invalid_grant", realm)
            msg = "QuickBooks refused the refresh token (invalid_grant)"
            raise SystemFaultError(
                msg,
                code=error_catalog.TOKEN_REVOKED,
                guidance=RECONNECT_STEPS,
            )
        now = self._now()
        expires_at = now + timedelta(seconds=grant.expires_in)
        # Commit the rotated refresh token before the new access token is used.
        self._vault.save(
            realm,
            refresh_token=grant.refresh_token,
            access_token=grant.access_token,
            expires_at=expires_at,
        )
        margin = min(_DEFAULT_MARGIN, timedelta(seconds=grant.expires_in / 10))
        self._access_token = grant.access_token
        self._refresh_at = expires_at - margin
        if self._logger is not None:
            self._logger.info("event=token_refresh realm=%s outcome=rotated", realm)
        if self._audit is not None:
            self._audit.append(
                [AuditEntry(realm_id=realm, operation="token_refresh", outcome="rotated")]
            )
        return grant.access_token

    def _exchange(self, refresh_token: str) -> TokenGrant:
        try:
            response = self._session.post(
                self._settings.token_url,
                auth=(self._settings.client_id, self._settings.client_secret),
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                headers={"Accept": "application/json"},
                timeout=(CONNECT_TIMEOUT_SECONDS, _TOKEN_TIMEOUT_SECONDS),
            )
        except CrossHostRedirectError:
            msg = "the token endpoint redirected to another host; the refresh token was not sent"
            raise SystemFaultError(
                msg,
                code=error_catalog.UNKNOWN_RESPONSE,
                guidance=(
                    "Set token_url to the token endpoint itself (Intuit's is "
                    "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer); K-Connector "
                    "never sends credentials to a host it was redirected to."
                ),
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            msg = (
                f"token endpoint too slow ({exc})"
                if isinstance(exc, ResponseDeadlineError)
                else f"token endpoint unreachable ({type(exc).__name__})"
            )
            raise TransientError(msg, code="network", guidance="Retried with backoff.") from None
        return self._grant_from(response)

    def _grant_from(self, response: requests.Response) -> TokenGrant:
        status = response.status_code
        body: dict[str, Any] = {}
        try:
            parsed = response.json()
            if isinstance(parsed, dict):
                body = parsed
        except ValueError:
            body = {}
        if status == 200 and isinstance(body.get("access_token"), str):  # noqa: PLR2004
            refresh = body.get("refresh_token")
            if not isinstance(refresh, str) or not refresh:
                msg = "token endpoint answered without a refresh_token"
                raise SystemFaultError(
                    msg, code=error_catalog.UNKNOWN_RESPONSE, guidance=RECONNECT_STEPS
                )
            register_secret(body["access_token"])
            register_secret(refresh)
            return TokenGrant(
                access_token=body["access_token"],
                refresh_token=refresh,
                expires_in=float(body.get("expires_in") or 3600),
            )
        error = str(body.get("error") or "")
        if error == "invalid_grant":
            raise InvalidGrantError
        if status == 401 or error == "invalid_client":  # noqa: PLR2004
            msg = "the token endpoint rejected the app credentials (invalid_client)"
            raise SystemFaultError(
                msg,
                code=error_catalog.CLIENT_REJECTED,
                guidance=CLIENT_REJECTED_STEPS,
                status=status,
            )
        if status == 429 or status >= 500:  # noqa: PLR2004
            msg = f"token endpoint answered HTTP {status}"
            raise TransientError(
                msg,
                code=str(status),
                guidance="Retried with backoff.",
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        msg = f"token endpoint answered HTTP {status} ({error or 'no error code'})"
        raise SystemFaultError(msg, code=str(status), guidance=RECONNECT_STEPS, status=status)
