"""Which base URLs a plugin may send credentials to: HTTPS, or plain HTTP to loopback only.

A URL is parsed (`urllib.parse`), never compared by prefix: `http://localhost.example.com`
is not loopback. Loopback is the name `localhost`, 127.0.0.0/8 and ::1 (`ipaddress`).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    """Whether `host` (a URL's host name, brackets already removed) is this machine."""
    if not host:
        return False
    name = host.lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def base_url_problem(setting: str, url: str, *, allow_insecure_http: bool = False) -> str | None:
    """What is wrong with `url` as the base URL of `setting`, or None when it may be used.

    HTTPS is required, except to a loopback host (a local emulator) or when the operator set
    `allow_insecure_http` for a test server: over plain HTTP the credentials cross the network
    readable.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a non-numeric port raises here
    except ValueError:
        host = None
        parts = urlsplit("")
    if parts.scheme not in {"http", "https"} or not host:
        return f"{setting} must be an https:// URL such as https://example.com, got {url!r}"
    if parts.username is not None or parts.password is not None:
        return f"{setting} must not carry a user name or password; set the credentials instead"
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback_host(host):
        return (
            f"{setting} is plain http:// to {host}, which would send the credentials readable on "
            "the network; use https://, or set allow_insecure_http to true for a test server"
        )
    return None
