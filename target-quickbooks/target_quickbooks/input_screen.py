"""The fast path of an unchanged rerun: records settled before are known by their raw line.

A rerun of the same input used to parse, validate, hash and triage every record to find that
nothing changed (about 2 ms of CPU per record). Here the reader (`singer_input`) hands the
target its raw lines, a chunk at a time, before anything is parsed. Each line gets a digest
(BLAKE2b of the line, keyed by the settings fingerprint), and one query per chunk asks the store
for the lines settled before (`store.settled_lines`) with their document's ledger entry as it is
now. A line is skipped, counted and audited as the full path would have ("unchanged" or
"skipped_older"), only when all of these hold:

- the very same line (byte for byte, under the same settings fingerprint and target code) was
  parsed, validated and settled by the full path in an earlier run: delivered as itself, or
  found needing no write;
- the ledger holds its document, and `planning.ledger_verdict` says nothing needs writing, from
  what the line held (source time, body hash) against the entry as it is now;
- the document has no open dead letter and no open review;
- its stream's SCHEMA came earlier in this run (a RECORD before its SCHEMA still stops the run).

Everything else takes the full path: a new or edited record, a different setting, a record
dead-lettered or waiting in review, a document the guards turned into another one (a receipt
recorded as a Payment, a refund redirected to a summary's customer), a ledger entry that moved
on. What the line held is recorded only when the full path settles the very document parsed
from it (`DeliveryEngine.enqueue` keeps the digest beside it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata, resources
from typing import TYPE_CHECKING, Any

from target_quickbooks.contract import Operation
from target_quickbooks.planning import ledger_verdict
from target_quickbooks.store.audit import AuditEntry
from target_quickbooks.store.ledger import LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from target_quickbooks.recording import DeliveryCounts
    from target_quickbooks.store import Store
    from target_quickbooks.store.settled_lines import LineMatch

# Settings that change how or when documents are written, never what: left out of the
# fingerprint, so tuning them keeps the fast path. Every other setting (and any setting added
# later) is in it, so changing it sends every record through the full path once.
NOT_SHAPING = frozenset(
    {
        "token_url",
        "allow_insecure_http",
        "database_url",
        "max_concurrency",
        "use_batch_api",
        "batch_size",
        "requests_per_minute",
        "batch_requests_per_minute",
        "rate_limit_window_seconds",
        "request_timeout_seconds",
        "max_attempts",
        "min_backoff_seconds",
        "max_backoff_seconds",
        "allow_plaintext_tokens",
        "writer_lease_wait_seconds",
        "alert_command",
        "input_fast_path",
    }
)
# A line is screened only if it may be a RECORD (anything else goes to the reader as it is).
_RECORD_MARK = '"RECORD"'
_DIGEST_BYTES = 16


def settings_fingerprint(
    config: Mapping[str, Any], config_schema: Mapping[str, Any], *, code: str
) -> bytes:
    """32 bytes that change when a setting that shapes what is written changes.

    Args:
        config: the target's settings.
        config_schema: their JSON Schema (settings marked `secret` are left out: credentials
            decide where, not what, and a secret never goes into a stored digest).
        code: the target's code fingerprint (`code_fingerprint`).
    """
    properties = config_schema.get("properties") or {}
    shaping = {
        name: value
        for name, value in config.items()
        if name not in NOT_SHAPING and not (properties.get(name) or {}).get("secret")
    }
    text = json.dumps({"code": code, "settings": shaping}, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=32).digest()


def code_fingerprint() -> str:
    """The target's version and the text of its modules and schemas (a new target re-checks)."""
    digest = hashlib.blake2b(digest_size=32)
    try:
        digest.update(metadata.version("target-quickbooks").encode())
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed with its code
        digest.update(b"unversioned")
    package = resources.files("target_quickbooks")
    stack = [package]
    files: list[tuple[str, bytes]] = []
    while stack:
        folder = stack.pop()
        for item in folder.iterdir():
            if item.is_dir():
                if item.name != "__pycache__":
                    stack.append(item)
            elif item.name.endswith((".py", ".json")):
                files.append((str(item), item.read_bytes()))
    for name, content in sorted(files):
        digest.update(name.rsplit("target_quickbooks", 1)[-1].encode())
        digest.update(content)
    return digest.hexdigest()


def fingerprint_id(fingerprint: bytes) -> str:
    """The short name of a settings fingerprint kept beside each settled line (for pruning)."""
    return fingerprint.hex()[:16]


def line_digest(fingerprint: bytes, line: str) -> str:
    """The digest of one raw input line under one settings fingerprint."""
    data = line.rstrip("\r\n").encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=_DIGEST_BYTES, key=fingerprint).hexdigest()


def fast_verdict(match: LineMatch) -> str | None:
    """The full path's verdict for a settled line, from the facts alone (None: full path)."""
    line = match.line
    try:
        operation, status = Operation(line.operation), LedgerStatus(match.status)
    except ValueError:
        return None
    return ledger_verdict(
        operation,
        line.source_updated_at,
        line.body_hash,
        entry_source_updated_at=match.ledger_source_updated_at,
        entry_body_hash=match.ledger_body_hash,
        entry_status=status,
    )


@dataclass(frozen=True)
class Screened:
    """One input line as screened: its digest, and what settles it when it needs no work."""

    digest: str
    stream: str | None = None
    audit: AuditEntry | None = None

    @property
    def settled(self) -> bool:
        """Whether the line needs nothing (skipped at the input)."""
        return self.audit is not None


class InputScreen:
    """Screens chunks of raw lines against the store; counts and audits the lines skipped."""

    def __init__(
        self,
        store: Store,
        realm_id: str,
        counts: DeliveryCounts,
        fingerprint: bytes,
        *,
        received: Callable[[str], bool],
    ) -> None:
        """Bind to the company's store and the run's counts.

        Args:
            store: the target's store.
            realm_id: the company.
            counts: the run's counts.
            fingerprint: `settings_fingerprint` of this run.
            received: whether a record of this external_id took the full path in this run.
        """
        self._store = store
        self._realm = realm_id
        self._counts = counts
        self._received = received
        self.fingerprint = fingerprint
        self._audit: list[AuditEntry] = []

    def screen(self, lines: Sequence[str]) -> list[Screened]:
        """Each line's digest and, for a line settled before that still needs nothing, why."""
        digests = [line_digest(self.fingerprint, line) for line in lines]
        wanted = [d for d, line in zip(digests, lines, strict=True) if _RECORD_MARK in line]
        matches = self._store.settled_lines.matches(self._realm, wanted) if wanted else {}
        screened: list[Screened] = []
        now = datetime.now(UTC)  # one time for the chunk's audit rows (read just now)
        for digest in digests:
            match = matches.get(digest)
            verdict = fast_verdict(match) if match is not None else None
            if match is None or verdict is None:
                screened.append(Screened(digest))
                continue
            line = match.line
            audit = AuditEntry(
                realm_id=self._realm,
                operation=line.operation,
                outcome=verdict,
                external_id=line.external_id,
                entity=line.entity,
                qbo_id=match.qbo_id,
                ts=now,
            )
            screened.append(Screened(digest, line.stream, audit))
        return screened

    def skip(self, screened: Screened) -> bool:
        """Skip a settled line, counted (its audit row is written with `flush`); or refuse.

        Refused (False: the line takes the full path) when a record of the same document took
        the full path earlier in this run: the full path settles the later record of a document
        after the earlier one (it replaces it in the queue, or weighs it against what the
        earlier one wrote), and only the full path can.
        """
        audit = screened.audit
        if audit is None or audit.external_id is None or self._received(audit.external_id):
            return False
        self._counts.unchanged += 1
        self._counts.screened += 1
        self._audit.append(audit)
        return True

    def flush(self) -> None:
        """Write the audit rows of the lines skipped so far (one insert)."""
        if self._audit:
            self._store.audit.append(self._audit)
            self._audit = []
