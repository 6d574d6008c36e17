"""The ``requestid`` query parameter: a repeated id returns the original response.

https://blogs.intuit.com/2015/04/06/15346/ : "If the service receives another request with the
same RequestID, instead of performing the operation again or returning an error, the service
sends the same response as it did for the original request"; the id must be unique per company;
at most 50 characters (36 on batch). Intuit does not publish how long ids are remembered: the
emulator keeps them for `RETENTION_SECONDS` (not divided by ``time_scale``, so an exactly-once
test never loses its id to a fast clock).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kconnector_sandbox.qbo.timekeeping import Clock

RETENTION_SECONDS = 24 * 3600.0
MAX_REQUEST_ID_LENGTH = 50
MAX_BATCH_REQUEST_ID_LENGTH = 36


def request_digest(body: bytes) -> str:
    """SHA-256 (hex) of a request body: a reused requestid with another body is a client bug."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    """A response as first sent: status and body bytes, and a digest of the request's body."""

    status: int
    body: bytes
    stored_at: float
    request_digest: str = ""


@dataclass
class RequestIdCache:
    """Responses by (realm, requestid), oldest first, expiring after the retention window."""

    clock: Clock
    _entries: OrderedDict[tuple[str, str], StoredResponse] = field(default_factory=OrderedDict)

    def lookup(self, realm_id: str, request_id: str) -> StoredResponse | None:
        """The stored response for this id, if still retained."""
        self._expire()
        return self._entries.get((realm_id, request_id))

    def store(
        self,
        realm_id: str,
        request_id: str,
        status: int,
        body: bytes,
        digest: str = "",
    ) -> None:
        """Remember the response sent for this id (and `digest`, that of the request's body)."""
        self._entries[(realm_id, request_id)] = StoredResponse(status, body, self.clock(), digest)

    def _expire(self) -> None:
        horizon = self.clock() - RETENTION_SECONDS
        while self._entries:
            key, first = next(iter(self._entries.items()))
            if first.stored_at > horizon:
                break
            del self._entries[key]

    def export_state(self) -> list[dict[str, Any]]:
        """The retained entries, oldest first, as JSON values (bodies are UTF-8 JSON text)."""
        self._expire()
        return [
            {
                "realm_id": realm_id,
                "request_id": request_id,
                "status": stored.status,
                "body": stored.body.decode("utf-8"),
                "stored_at": stored.stored_at,
                "request_digest": stored.request_digest,
            }
            for (realm_id, request_id), stored in self._entries.items()
        ]

    def restore_state(self, entries: list[dict[str, Any]]) -> None:
        """Replace the entries with those of `export_state` (expired ones are dropped).

        Raises:
            KeyError, TypeError, ValueError: `entries` is not what `export_state` produces.
        """
        self._entries.clear()
        for entry in entries:
            self._entries[str(entry["realm_id"]), str(entry["request_id"])] = StoredResponse(
                int(entry["status"]),
                str(entry["body"]).encode("utf-8"),
                float(entry["stored_at"]),
                str(entry.get("request_digest", "")),  # absent in older state files
            )
        self._expire()

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        """Number of retained ids."""
        return len(self._entries)
