"""The newest OAuth tokens per company, written the moment QuickBooks issues them.

Tokens are never logged and never leave this table except to authenticate; `TokenRecord`'s
repr hides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from target_quickbooks.store.schema import oauth_tokens

if TYPE_CHECKING:
    import threading

    from sqlalchemy.engine import Engine


@dataclass(frozen=True, repr=False)
class TokenRecord:
    """A company's stored tokens."""

    realm_id: str
    refresh_token: str
    access_token: str | None
    expires_at: datetime | None
    rotated_at: datetime

    def __repr__(self) -> str:
        """No token values in a repr."""
        return f"TokenRecord(realm_id={self.realm_id!r}, rotated_at={self.rotated_at!r})"


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class TokenVault:
    """Loads and saves a company's tokens (one row per realm)."""

    def __init__(self, engine: Engine, lock: threading.RLock) -> None:
        """Bind to the store's engine and write lock."""
        self._engine = engine
        self._lock = lock

    def load(self, realm_id: str) -> TokenRecord | None:
        """The stored tokens of a company, if any."""
        with self._engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(oauth_tokens).where(oauth_tokens.c.realm_id == realm_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        rotated = _aware(row["rotated_at"])
        return TokenRecord(
            realm_id=row["realm_id"],
            refresh_token=row["refresh_token"],
            access_token=row["access_token"],
            expires_at=_aware(row["expires_at"]),
            rotated_at=rotated or datetime.now(UTC),
        )

    def save(
        self,
        realm_id: str,
        *,
        refresh_token: str,
        access_token: str | None,
        expires_at: datetime | None,
    ) -> None:
        """Replace the company's tokens and commit before returning."""
        values = {
            "refresh_token": refresh_token,
            "access_token": access_token,
            "expires_at": expires_at,
            "rotated_at": datetime.now(UTC),
        }
        with self._lock, self._engine.begin() as connection:
            updated = connection.execute(
                sa.update(oauth_tokens).where(oauth_tokens.c.realm_id == realm_id).values(**values)
            )
            if updated.rowcount == 0:
                connection.execute(sa.insert(oauth_tokens).values(realm_id=realm_id, **values))

    def forget_access_token(self, realm_id: str) -> None:
        """Drop a rejected access token (the refresh token stays)."""
        with self._lock, self._engine.begin() as connection:
            connection.execute(
                sa.update(oauth_tokens)
                .where(oauth_tokens.c.realm_id == realm_id)
                .values(access_token=None, expires_at=None)
            )
