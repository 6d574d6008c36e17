"""What the emulator served: counts per status and per method + route, and recent requests.

Only metadata is kept (method, route, status, realm, requestid); bodies are never logged.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

_ID_SEGMENT = re.compile(r"^\d+$")
_RECENT = 500


def route_of(method: str, path: str) -> str:
    """The route template of a path: realm ids and entity ids replaced by placeholders."""
    parts = path.split("/")
    if len(parts) > 3 and parts[1:3] == ["v3", "company"]:  # noqa: PLR2004 - /v3/company/{realm}
        parts[3] = "{realmId}"
        if len(parts) > 5 and _ID_SEGMENT.match(parts[5]):  # noqa: PLR2004 - /{entity}/{id}
            parts[5] = "{id}"
    return f"{method} {'/'.join(parts)}"


@dataclass
class RequestLog:
    """Counters and a bounded list of recent requests."""

    by_status: Counter[int] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_RECENT))

    def record(self, method: str, path: str, status: int, query: dict[str, str]) -> None:
        """Count one served request (a reset connection is recorded with status 0)."""
        route = route_of(method, path)
        self.by_status[status] += 1
        self.by_route[route] += 1
        self.recent.append(
            {
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "requestid": query.get("requestid"),
                "minorversion": query.get("minorversion"),
            }
        )

    def summary(self) -> dict[str, Any]:
        """The log as JSON for ``GET /__admin/requests``."""
        return {
            "total": sum(self.by_status.values()),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "by_route": dict(sorted(self.by_route.items())),
            "recent": list(self.recent),
        }

    def clear(self) -> None:
        """Forget everything."""
        self.by_status.clear()
        self.by_route.clear()
        self.recent.clear()
