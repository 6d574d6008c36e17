"""Client protocol problems the emulator saw: tolerated or refused by QuickBooks, but client bugs.

QuickBooks answers 200 to several requests that still hurt the client: a ``requestid`` reused
with another body is answered with the first response, so the second write is silently lost
(https://blogs.intuit.com/2015/04/06/15346/); a missing ``minorversion``, or one below 75, is
served as minor version 75 since 2025-08-01, so a client asking for an older one reads a shape
it did not ask for (https://blogs.intuit.com/2025/01/21/changes-to-our-accounting-api-that-may-impact-your-application);
a write without a ``requestid`` cannot be retried safely. Others it refuses (a batch ``bId``
over 10 characters with a ``requestid``, a query POSTed without ``application/text``); the
emulator refuses them too and records them here, so a test can assert the client made none.

Only metadata is kept: kind, method, path (realm and entity ids), requestid and a detail naming
fields and lengths. Never a request body (customer data) nor a token.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

MAX_PROBLEMS = 1000
CURRENT_MINOR_VERSION = 75


class ProblemKind(StrEnum):
    """The client protocol problems the emulator recognises."""

    REQUESTID_REUSED = "requestid-reused-with-different-body"
    REQUESTID_TOO_LONG = "requestid-too-long"
    WRITE_WITHOUT_REQUESTID = "write-without-requestid"
    MINORVERSION_MISSING = "minorversion-missing"
    MINORVERSION_OBSOLETE = "minorversion-obsolete"
    BATCH_ID_TOO_LONG = "batch-bid-too-long"
    QUERY_CONTENT_TYPE = "query-content-type"


@dataclass(frozen=True)
class ClientProblem:
    """One problem, as ``GET /__admin/strict-report`` lists it."""

    kind: ProblemKind
    method: str
    path: str
    requestid: str | None
    detail: str

    def as_json(self) -> dict[str, Any]:
        """The problem as a JSON object."""
        return {**asdict(self), "kind": self.kind.value}


def minor_version_problem(minor: str | None) -> tuple[ProblemKind, str] | None:
    """The problem with a request's ``minorversion`` value, if any."""
    if minor is None or not minor.strip():
        return (
            ProblemKind.MINORVERSION_MISSING,
            f"no minorversion: QuickBooks serves {CURRENT_MINOR_VERSION}, send it explicitly",
        )
    if not minor.strip().isdigit() or int(minor) < CURRENT_MINOR_VERSION:
        return (
            ProblemKind.MINORVERSION_OBSOLETE,
            (
                f"minorversion {minor[:10]!r} is ignored since 2025-08-01 (1-74 deprecated); "
                f"send {CURRENT_MINOR_VERSION} or later"
            ),
        )
    return None


@dataclass
class StrictReport:
    """The problems seen since the last reset, oldest first (bounded; `dropped` counts the rest)."""

    problems: deque[ClientProblem] = field(default_factory=lambda: deque(maxlen=MAX_PROBLEMS))
    total: int = 0

    def record(
        self,
        kind: ProblemKind,
        method: str,
        path: str,
        requestid: str | None,
        detail: str,
    ) -> None:
        """Remember one problem."""
        self.problems.append(ClientProblem(kind, method, path, requestid, detail))
        self.total += 1

    def as_json(self) -> dict[str, Any]:
        """The report for ``GET /__admin/strict-report``."""
        return {
            "total": self.total,
            "dropped": self.total - len(self.problems),
            "problems": [problem.as_json() for problem in self.problems],
        }

    def clear(self) -> None:
        """Forget every problem."""
        self.problems.clear()
        self.total = 0
