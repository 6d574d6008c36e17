"""Writes in flight: batch requests queued or sent and not yet recorded, and what they block.

QuickBooks admits 40 batch requests per company in any rolling minute
(https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles), and the
client's limiter (`rate_limits`) counts them over a rolling window. A slot that frees while no
batch request is waiting for it is used late, and every later use of that slot is late by as
much. The engine therefore plans and records while earlier batch requests wait on the limiter
(`DeliveryTuning.pipelined`): a document is planned as soon as nothing in flight can change
what its planning reads. This module keeps what is in flight and answers that question:

- **Same document.** A document with a write in flight is not planned again before that
  write's outcome is in the ledger (a newer record of it waits, then is weighed against what
  the first one wrote).
- **Linked documents, both ways.** A document whose dependency is in flight waits for it (a
  receipt for its customer); a document that a write in flight depends on waits too (an
  Invoice's new copy while a Payment applied to it is out: the Payment moves the Invoice's
  SyncToken, which the ledger learns when the Payment is recorded).
- **Same person, same name.** A new customer whose DisplayName or e-mail is that of a
  customer in flight waits: the same-name and same-person rules read QuickBooks for them.

Outcomes are recorded in the order the requests were queued, on the engine's thread only: the
store, the ledger and the engine's queues are touched by that one thread, the worker threads
only send.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from target_quickbooks.references import email_of

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable

    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.planning import WritePlan
    from target_quickbooks.writer import PlanWriter, SentRequest, WriteOutcome

# A planning key: (entity, field, casefolded value) a rule reads QuickBooks by.
PlanningKey = tuple[str, str, str]


def planning_keys(document: MappedDocument) -> frozenset[PlanningKey]:
    """The values whose answers in QuickBooks a write of this document may change.

    A new customer's DisplayName (the same-name rule) and e-mail (the same-person rule); other
    look-ups find a document's own copy by its marker, which no other write changes.
    """
    if document.entity != "Customer":
        return frozenset()
    keys: set[PlanningKey] = set()
    name = document.body.get("DisplayName")
    if isinstance(name, str) and name.strip():
        keys.add(("Customer", "DisplayName", name.strip().casefold()))
    email = email_of(document.body)
    if email:
        keys.add(("Customer", "PrimaryEmailAddr", email.casefold()))
    return frozenset(keys)


@dataclass(frozen=True)
class _InFlight:
    """One request queued or sent, with what it blocks until its outcomes are recorded."""

    sent: SentRequest
    ids: frozenset[str]
    linked: frozenset[str]
    keys: frozenset[PlanningKey]


class WritesInFlight:
    """The requests queued on the writer and not yet recorded, oldest first."""

    def __init__(self, writer: PlanWriter, logger: logging.Logger) -> None:
        """Bind the writer whose worker threads send the requests."""
        self._writer = writer
        self._logger = logger
        self._queue: deque[_InFlight] = deque()
        self._ids: Counter[str] = Counter()
        self._linked: Counter[str] = Counter()
        self._keys: Counter[PlanningKey] = Counter()
        self._answered = threading.Event()

    @property
    def busy(self) -> bool:
        """Whether any request is queued, sent or answered and not yet recorded."""
        return bool(self._queue)

    @property
    def requests(self) -> int:
        """Requests not yet recorded."""
        return len(self._queue)

    def answered(self) -> bool:
        """Whether the oldest request is answered (its outcomes can be recorded now)."""
        return bool(self._queue) and self._queue[0].sent.future.done()

    def submit(
        self,
        plans: list[WritePlan],
        *,
        links: Callable[[MappedDocument], Iterable[str]],
        also: Iterable[str] = (),
    ) -> None:
        """Queue the plans' writes; their documents block what `blocks` says until recorded.

        Args:
            plans: the writes.
            links: a document's dependencies (external_ids).
            also: more external_ids to hold until the last of these requests is recorded
                (documents of the wave a guard wrote as another document).
        """
        sent = self._writer.submit(plans)
        for index, request in enumerate(sent):
            documents = [plan.document for plan in request.plans]
            ids = {document.external_id for document in documents}
            if index == len(sent) - 1:
                ids.update(also)
            linked = {link for document in documents for link in links(document)}
            keys = {key for document in documents for key in planning_keys(document)}
            entry = _InFlight(request, frozenset(ids), frozenset(linked), frozenset(keys))
            self._queue.append(entry)
            self._ids.update(entry.ids)
            self._linked.update(entry.linked)
            self._keys.update(entry.keys)

    def blocks(self, document: MappedDocument, dependencies: Iterable[str]) -> bool:
        """Whether a write in flight may change what planning this document reads."""
        if not self._queue:
            return False
        external_id = document.external_id
        if self._ids[external_id] or self._linked[external_id]:
            return True
        if any(self._ids[dependency] for dependency in dependencies):
            return True
        return any(self._keys[key] for key in planning_keys(document))

    @property
    def ids(self) -> set[str]:
        """external_ids with a write in flight."""
        return {external_id for external_id, count in self._ids.items() if count}

    def record_answered(
        self,
        record: Callable[[list[WriteOutcome]], list[WritePlan]],
        *,
        links: Callable[[MappedDocument], Iterable[str]],
        wait: bool,
    ) -> None:
        """Record the answered requests, oldest first (waiting for the oldest when `wait`).

        Args:
            record: records outcomes; returns the plans to send again (submitted before the
                request is released, so their documents stay blocked without a gap).
            links: a retried document's dependencies.
            wait: wait for the oldest request's answer (then record only those answered).

        Raises:
            Exception: what `record` or a worker thread raised (a `SystemFaultError` stops the
                run), once every other request in flight is answered and recorded.
        """
        while True:
            try:
                answered = self._oldest(wait=wait)
            except Exception:
                self._release()
                self.record_remaining(record)
                raise
            if answered is None:
                return
            try:
                again = record(answered)
            except Exception:
                self._release()
                self.record_remaining(record)
                raise
            if again:
                self.submit(again, links=links)
            self._release()
            wait = False

    def record_remaining(self, record: Callable[[list[WriteOutcome]], list[WritePlan]]) -> None:
        """After a stop: await every request in flight and record what QuickBooks answered.

        Their retries are not sent, as a stopped wave's are not; the first failure is the one
        the run stops with, so later ones are logged only (at DEBUG: they may carry data).
        """
        while self._queue:
            try:
                answered = self._oldest(wait=True)
                if answered is not None:
                    record(answered)
            except Exception:  # the run already stops on the first failure
                self._logger.debug("a failure after the run's stop", exc_info=True)
            finally:
                self._release()

    def _oldest(self, *, wait: bool) -> list[WriteOutcome] | None:
        """The oldest request's outcomes (waiting for its answer when `wait`).

        Returns:
            None when nothing is in flight, or (when not waiting) the oldest is not answered.

        Raises:
            Exception: whatever the worker thread raised (an unexpected failure).
        """
        if not self._queue or (not wait and not self._queue[0].sent.future.done()):
            return None
        return self._queue[0].sent.future.result()

    def _release(self) -> None:
        """The oldest request's outcomes are recorded: what it blocked is free."""
        entry = self._queue.popleft()
        self._ids.subtract(entry.ids)
        self._linked.subtract(entry.linked)
        self._keys.subtract(entry.keys)
        for counter in (self._ids, self._linked, self._keys):
            if len(counter) > _COMPACT_AT:
                for key in [key for key, count in counter.items() if count <= 0]:
                    del counter[key]


# Counters keep zero entries until they pass this size (then they are pruned).
_COMPACT_AT = 4096
