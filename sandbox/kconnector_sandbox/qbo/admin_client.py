"""Small clients of the QuickBooks emulator's ``/__admin`` endpoints, for tests and scripts."""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit


def strict_report(base_url: str, *, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The client protocol problems the emulator at `base_url` recorded since its last reset.

    Each problem is ``{"kind", "method", "path", "requestid", "detail"}`` (see
    `kconnector_sandbox.qbo.strict_report`); an empty list means the client made none.

    Raises:
        ValueError: `base_url` is not an http(s) URL, or the answer is not a report.
        OSError: the emulator cannot be reached.
    """
    if urlsplit(base_url).scheme not in {"http", "https"}:
        msg = f"the emulator URL must be http(s), not {base_url!r}"
        raise ValueError(msg)
    url = base_url.rstrip("/") + "/__admin/strict-report"
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked
        report = json.loads(response.read())
    problems = report.get("problems") if isinstance(report, dict) else None
    if not isinstance(problems, list):
        msg = "the emulator's strict report has no problems list"
        raise ValueError(msg)  # noqa: TRY004 - a malformed answer, not a wrong argument type
    return [dict(problem) for problem in problems]
