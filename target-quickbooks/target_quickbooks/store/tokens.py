"""The newest OAuth tokens per company, written the moment QuickBooks issues them.

Tokens are never logged and never leave this table except to authenticate; `TokenRecord`'s
repr hides them. With `token_encryption_key` set they are also encrypted at rest (Fernet:
AES-128-CBC with an HMAC-SHA256, from the `cryptography` package), so a copy of the database
or a backup does not hand out access to the company's books. A row written without a key is
read as it is and encrypted at the next save (every refresh rotates the tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from target_quickbooks import error_catalog
from target_quickbooks.errors import SystemFaultError
from target_quickbooks.store.schema import oauth_tokens

if TYPE_CHECKING:
    import threading
    from collections.abc import Sequence

    from sqlalchemy.engine import Engine

# Marks an encrypted value; Intuit's tokens never start with it.
ENCRYPTED_PREFIX = "enc:v1:"
KEY_STEPS = (
    "Set token_encryption_key (TARGET_QUICKBOOKS_TOKEN_ENCRYPTION_KEY) to the key the tokens "
    "were saved with; when rotating keys, give the new key first and the old one after it, "
    "comma-separated. If the key is lost, run the OAuth consent again and set the new "
    "refresh_token."
)


class TokenCipher:
    """Encrypts with the first key, decrypts with any (so keys can be rotated)."""

    def __init__(self, keys: Sequence[str]) -> None:
        """`keys`: Fernet keys (urlsafe base64 of 32 bytes), the current one first.

        Raises:
            ValueError: a key that is not a Fernet key (the message names its position only).
        """
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                msg = (
                    f"token_encryption_key: key {position} is not a Fernet key (32 bytes in "
                    "urlsafe base64; target-quickbooks' README shows how to make one)"
                )
                raise ValueError(msg) from None
        if not fernets:
            msg = "token_encryption_key: no key given"
            raise ValueError(msg)
        self._fernet = MultiFernet(fernets)

    def seal(self, value: str) -> str:
        """The stored form of a token."""
        return ENCRYPTED_PREFIX + self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The token from its stored form.

        Raises:
            InvalidToken: no key decrypts it.
        """
        sealed = stored.removeprefix(ENCRYPTED_PREFIX).encode("ascii")
        return self._fernet.decrypt(sealed).decode("utf-8")


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
        """Bind to the store's engine and write lock (no encryption until `use_keys`)."""
        self._engine = engine
        self._lock = lock
        self._cipher: TokenCipher | None = None

    def use_keys(self, keys: Sequence[str]) -> None:
        """Encrypt tokens from now on with the first key; read them with any.

        Raises:
            ValueError: a key that is not a Fernet key.
        """
        self._cipher = TokenCipher(keys) if keys else None

    def _seal(self, value: str | None) -> str | None:
        if value is None or self._cipher is None:
            return value
        return self._cipher.seal(value)

    def _open(self, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(ENCRYPTED_PREFIX):
            return stored  # written before a key was set: encrypted at the next save
        if self._cipher is None:
            msg = "the stored QuickBooks tokens are encrypted and no token_encryption_key is set"
            raise SystemFaultError(msg, code=error_catalog.TOKEN_KEY, guidance=KEY_STEPS)
        try:
            return self._cipher.open(stored)
        except InvalidToken:
            msg = "no key in token_encryption_key decrypts the stored QuickBooks tokens"
            raise SystemFaultError(msg, code=error_catalog.TOKEN_KEY, guidance=KEY_STEPS) from None

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
        refresh_token = self._open(row["refresh_token"])
        if refresh_token is None:  # the column is NOT NULL
            return None
        return TokenRecord(
            realm_id=row["realm_id"],
            refresh_token=refresh_token,
            access_token=self._open(row["access_token"]),
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
            "refresh_token": self._seal(refresh_token),
            "access_token": self._seal(access_token),
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
