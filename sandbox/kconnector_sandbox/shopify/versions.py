"""API versions the emulator accepts, as of its reference date (2026-03-31).

https://shopify.dev/docs/api/usage/versioning: a stable version is released each quarter and
supported for at least 12 months; a request for a version that is no longer supported is served by
the oldest supported stable version ("falls forward"), and the response's ``X-Shopify-API-Version``
header names the version actually used. A path that is not a version at all is answered 404.
"""

from __future__ import annotations

import re
from typing import Any

SUPPORTED_VERSIONS: tuple[str, ...] = ("2025-04", "2025-07", "2025-10", "2026-01")
RELEASE_CANDIDATE = "2026-04"
UNSTABLE = "unstable"
_VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")


def resolve_version(requested: str) -> str | None:
    """The version that serves `requested`, or None (404) when it is not a version handle."""
    if requested in {UNSTABLE, RELEASE_CANDIDATE, *SUPPORTED_VERSIONS}:
        return requested
    if not _VERSION.match(requested):
        return None
    if requested < SUPPORTED_VERSIONS[0]:
        return SUPPORTED_VERSIONS[0]
    return None  # a future quarter that is not released yet


def allows_concurrent_bulk_queries(version: str) -> int:
    """How many bulk queries may run at once: 1 before 2026-01, 5 from 2026-01 (bulk ops guide)."""
    if version == UNSTABLE or version >= "2026-01":
        return 5
    return 1


def public_versions() -> list[dict[str, Any]]:
    """The ``publicApiVersions`` list."""
    versions = [{"handle": v, "display_name": v, "supported": True} for v in SUPPORTED_VERSIONS]
    versions.append(
        {
            "handle": RELEASE_CANDIDATE,
            "display_name": f"{RELEASE_CANDIDATE} (Release candidate)",
            "supported": False,
        }
    )
    versions.append({"handle": UNSTABLE, "display_name": "unstable", "supported": False})
    return versions
