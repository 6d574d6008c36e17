"""WooCommerce REST API keys and the authentication decision (`WC_REST_Authentication`).

Over HTTPS WooCommerce reads the key from `consumer_key`/`consumer_secret` query parameters
first, else from HTTP Basic auth. An unknown key is not an error by itself (the request is just
not authenticated, and the endpoint's permission check then answers
`woocommerce_rest_cannot_view`); a known key with a wrong secret is
`woocommerce_rest_authentication_error` "Consumer secret is invalid." (401, with a
`WWW-Authenticate: Basic` header); a key without read permission used for a GET is
`woocommerce_rest_authentication_error` "The API key provided does not have read permissions."
(401). The emulator serves plain HTTP on loopback but authenticates as WooCommerce does over
HTTPS (OAuth 1.0a for plain HTTP is not emulated).
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-wc-rest-authentication.php
https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from kconnector_sandbox.woocommerce.wp_json import WPError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret '
    'in the password field."'
)
AUTH_ERROR = "woocommerce_rest_authentication_error"
BAD_SECRET = "Consumer secret is invalid."  # noqa: S105 - an error message, not a secret
NO_READ_PERMISSION = "The API key provided does not have read permissions."
NO_WRITE_PERMISSION = "The API key provided does not have write permissions."
READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Permission(Enum):
    """A key's permission (WooCommerce > Settings > Advanced > REST API)."""

    READ = "read"
    WRITE = "write"
    READ_WRITE = "read_write"


@dataclass(frozen=True)
class ApiKey:
    """A consumer key/secret pair and what it may do."""

    consumer_key: str
    consumer_secret: str
    permission: Permission
    user_id: int = 1
    description: str = ""


def demo_keys(seed: int) -> tuple[ApiKey, ...]:
    """The demo keys: read/write, read-only and write-only (stable per seed)."""

    def hexed(label: str) -> str:
        return hmac.new(str(seed).encode(), label.encode(), "sha1").hexdigest()

    return (
        ApiKey(
            "ck_" + hexed("ck-rw"), "cs_" + hexed("cs-rw"), Permission.READ_WRITE, 1, "K-Connector"
        ),
        ApiKey("ck_" + hexed("ck-r"), "cs_" + hexed("cs-r"), Permission.READ, 1, "Read only"),
        ApiKey("ck_" + hexed("ck-w"), "cs_" + hexed("cs-w"), Permission.WRITE, 1, "Write only"),
    )


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _query_value(params: Sequence[tuple[str, str]], name: str) -> str:
    value = ""
    for key, raw in params:
        if key == name:
            value = raw
    return value


def authenticate(
    keys: Mapping[str, ApiKey],
    method: str,
    params: Sequence[tuple[str, str]],
    authorization: str | None,
) -> ApiKey | None:
    """The key this request authenticates as, or None when it carries no known key.

    Raises:
        WPError: wrong secret for a known key, or the key lacks the permission the method needs.
    """
    consumer_key, consumer_secret = "", ""
    query_key, query_secret = (
        _query_value(params, "consumer_key"),
        _query_value(params, "consumer_secret"),
    )
    if query_key and query_secret:
        consumer_key, consumer_secret = query_key, query_secret
    else:
        basic = _basic_credentials(authorization)
        if basic is not None and basic[0] and basic[1]:
            consumer_key, consumer_secret = basic
    if not consumer_key or not consumer_secret:
        return None
    key = keys.get(consumer_key)
    if key is None:
        return None
    if not hmac.compare_digest(key.consumer_secret, consumer_secret):
        raise WPError(AUTH_ERROR, BAD_SECRET, 401, headers={"WWW-Authenticate": BASIC_REALM})
    if method in READ_METHODS and key.permission is Permission.WRITE:
        raise WPError(AUTH_ERROR, NO_READ_PERMISSION, 401)
    if method in WRITE_METHODS and key.permission is Permission.READ:
        raise WPError(AUTH_ERROR, NO_WRITE_PERMISSION, 401)
    return key


def cannot_view(*, collection: bool) -> WPError:
    """The permission check's answer to an unauthenticated read (status 401 when logged out)."""
    message = (
        "Sorry, you cannot list resources."
        if collection
        else "Sorry, you cannot view this resource."
    )
    return WPError("woocommerce_rest_cannot_view", message, 401)
