"""Intuit OAuth 2.0 tokens: issue, rotate, verify and revoke (pure state, no HTTP).

Facts emulated (each lifetime divided by the sandbox's ``time_scale``):

- Access tokens live one hour (``expires_in`` 3600): "Access tokens are valid for one hour",
  https://blogs.intuit.com/2024/06/03/oauth-token-management-done-the-right-way/
- Refresh tokens have a rolling 100-day life, extended by each use (same page); the response's
  ``x_refresh_token_expires_in`` is 8726400 seconds (101 days) in real responses, which we copy.
- Refresh tokens rotate: "the token endpoint returns a new refresh_token; the old refresh token
  becomes unusable" (https://nango.dev/blog/quickbooks-oauth-refresh-token-invalid-grant).
  Intuit does not document how long the superseded token keeps working; the emulator lets it
  work for `REFRESH_GRACE_SECONDS` after it was superseded, then answers ``invalid_grant``.
- Token endpoint errors use RFC 6749 bodies: ``{"error": "invalid_grant"}`` (HTTP 400) and
  ``{"error": "invalid_client"}`` (HTTP 401).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.qbo import fault_catalog

if TYPE_CHECKING:
    from kconnector_sandbox.qbo.timekeeping import Clock

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400
REFRESH_GRACE_SECONDS = 300


class OAuthError(Exception):
    """A token-endpoint refusal: HTTP status plus the RFC 6749 ``error`` code."""

    def __init__(self, status: int, error: str, description: str) -> None:
        """Build the refusal."""
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def as_json(self) -> dict[str, str]:
        """The token endpoint's JSON error body."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class ClientCredentials:
    """The app's client id and secret (HTTP Basic on the token endpoint)."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class TokenGrant:
    """What a successful refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int
    x_refresh_token_expires_in: int

    def as_json(self) -> dict[str, object]:
        """The token endpoint's JSON body."""
        return {
            "token_type": "bearer",
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "x_refresh_token_expires_in": self.x_refresh_token_expires_in,
        }


@dataclass
class _Token:
    realm_id: str
    expires_at: float
    superseded: bool = False


@dataclass
class TokenAuthority:
    """All tokens of the emulated Intuit OAuth server, per realm."""

    credentials: ClientCredentials
    clock: Clock
    seed: int = 0
    time_scale: float = 1.0
    _access: dict[str, _Token] = field(default_factory=dict)
    _refresh: dict[str, _Token] = field(default_factory=dict)
    _minted: int = 0  # tokens minted so far: the next token's serial (kept across restarts)

    def _scaled(self, seconds: int) -> float:
        return seconds / self.time_scale

    def _mint(self, kind: str, realm_id: str) -> str:
        serial = self._minted
        self._minted += 1
        digest = hashlib.sha256(f"{self.seed}:{realm_id}:{kind}:{serial}".encode()).hexdigest()
        prefix = "AB11" if kind == "refresh" else "eyJhbGciOiJkaXIi."
        return prefix + digest

    def initial_refresh_token_of(self, realm_id: str) -> str:
        """The deterministic first refresh token of a realm (printed in the banner)."""
        return "AB11" + hashlib.sha256(f"{self.seed}:{realm_id}:initial".encode()).hexdigest()

    def initial_refresh_token(self, realm_id: str) -> str:
        """Arm (or re-arm) the first refresh token of a realm and return it."""
        token = self.initial_refresh_token_of(realm_id)
        self._refresh[token] = _Token(realm_id, self.clock() + self._scaled(REFRESH_TOKEN_SECONDS))
        return token

    def check_client(self, client_id: str, client_secret: str) -> None:
        """Verify the HTTP Basic credentials.

        Raises:
            OAuthError: ``invalid_client`` (401).
        """
        if (client_id, client_secret) != (
            self.credentials.client_id,
            self.credentials.client_secret,
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed")

    def refresh(self, refresh_token: str) -> TokenGrant:
        """Exchange a refresh token for a new access token and a new (rotated) refresh token.

        Raises:
            OAuthError: ``invalid_grant`` (400) for an unknown, expired or revoked token.
        """
        now = self.clock()
        current = self._refresh.get(refresh_token)
        if current is None or current.expires_at <= now:
            self._refresh.pop(refresh_token, None)
            raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        if not current.superseded:
            current.superseded = True
            current.expires_at = min(current.expires_at, now + self._scaled(REFRESH_GRACE_SECONDS))
        access = self._mint("access", current.realm_id)
        rotated = self._mint("refresh", current.realm_id)
        self._access[access] = _Token(current.realm_id, now + self._scaled(ACCESS_TOKEN_SECONDS))
        self._refresh[rotated] = _Token(current.realm_id, now + self._scaled(REFRESH_TOKEN_SECONDS))
        self._forget_expired(now)
        return TokenGrant(
            access_token=access,
            refresh_token=rotated,
            expires_in=max(1, round(self._scaled(ACCESS_TOKEN_SECONDS))),
            x_refresh_token_expires_in=max(1, round(self._scaled(REFRESH_TOKEN_SECONDS))),
        )

    def authenticate(self, authorization: str | None, realm_id: str) -> None:
        """Check an API request's ``Authorization: Bearer`` header for `realm_id`.

        Raises:
            QboFault: 401 AuthenticationFailed (missing, malformed, expired or revoked token),
                403 AuthorizationFault (token of another company).
        """
        if not authorization:
            msg = "Authorization header is missing"
            raise fault_catalog.authentication_failed(msg)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "Malformed bearer token"
            raise fault_catalog.authentication_failed(msg)
        grant = self._access.get(token.strip())
        if grant is None:
            msg = "Token revoked or unknown"
            raise fault_catalog.authentication_failed(msg)
        if grant.expires_at <= self.clock():
            msg = "Token expired"
            raise fault_catalog.authentication_failed(msg)
        if grant.realm_id != realm_id:
            raise fault_catalog.unknown_realm(realm_id)

    def revoke_realm(self, realm_id: str) -> int:
        """Revoke every access and refresh token of a realm (the user disconnected the app).

        Returns:
            How many tokens were revoked.
        """
        revoked = 0
        for store in (self._access, self._refresh):
            for token in [t for t, g in store.items() if g.realm_id == realm_id]:
                del store[token]
                revoked += 1
        return revoked

    def revoke_token(self, token: str) -> bool:
        """Revoke the connection a token belongs to (Intuit's revoke endpoint); False if unknown."""
        grant = self._refresh.get(token) or self._access.get(token)
        if grant is None:
            return False
        self.revoke_realm(grant.realm_id)
        return True

    def export_state(self) -> dict[str, Any]:
        """The live tokens (expiry as epoch seconds) and the mint counter, as JSON values."""
        now = self.clock()

        def live(store: dict[str, _Token]) -> dict[str, dict[str, Any]]:
            return {
                token: {
                    "realm_id": grant.realm_id,
                    "expires_at": grant.expires_at,
                    "superseded": grant.superseded,
                }
                for token, grant in store.items()
                if grant.expires_at > now
            }

        return {
            "minted": self._minted,
            "access": live(self._access),
            "refresh": live(self._refresh),
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        """Replace every token with those of `export_state`.

        Raises:
            KeyError, TypeError, ValueError: `state` is not what `export_state` produces.
        """

        def grants(stored: dict[str, dict[str, Any]]) -> dict[str, _Token]:
            return {
                str(token): _Token(
                    str(grant["realm_id"]), float(grant["expires_at"]), bool(grant["superseded"])
                )
                for token, grant in stored.items()
            }

        self._minted = int(state["minted"])
        self._access = grants(state["access"])
        self._refresh = grants(state["refresh"])

    def _forget_expired(self, now: float) -> None:
        if len(self._access) + len(self._refresh) < 4096:  # noqa: PLR2004 - sweep threshold
            return
        for store in (self._access, self._refresh):
            for token in [t for t, g in store.items() if g.expires_at <= now]:
                del store[token]
