"""Send planned writes: through the batch endpoint in chunks (or one by one), concurrently.

A batch carries a ``requestid`` derived from its items' ids, so a retried batch is answered
with its first response. Items QuickBooks refuses inside a batch come back as per-item faults;
transient ones are retried alone (with backoff); a batch refused as a whole is split into single
writes to isolate the culprit. Voids always go one by one (``?operation=void``): the batch
endpoint takes create, update, delete and query
(https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/batch).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_quickbooks import error_catalog, payloads
from target_quickbooks.client import fault_error
from target_quickbooks.errors import (
    ConflictError,
    DataError,
    DeliveryError,
    SystemFaultError,
    TransientError,
)
from target_quickbooks.planning import WriteKind
from target_quickbooks.request_ids import batch_request_id

if TYPE_CHECKING:
    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.planning import WritePlan


@dataclass(frozen=True)
class WriteOutcome:
    """What QuickBooks answered to one plan: the document, or the error."""

    plan: WritePlan
    document: dict[str, Any] | None = None
    intuit_tid: str | None = None
    error: DeliveryError | None = None


@dataclass(frozen=True)
class SentRequest:
    """A batch request (or a single write) queued on the worker threads."""

    plans: list[WritePlan]
    future: Future[list[WriteOutcome]]


def _missing_item(tid: str | None, what: str) -> SystemFaultError:
    msg = f"a batch response {what}"
    return SystemFaultError(
        msg,
        code=error_catalog.UNKNOWN_RESPONSE,
        guidance="The QuickBooks batch API answered in an unknown shape: update K-Connector.",
        intuit_tid=tid,
    )


class PlanWriter:
    """Runs plans on a pool of `max_concurrency` threads (the limiter caps the realm too)."""

    def __init__(
        self,
        client: QuickBooksClient,
        *,
        max_concurrency: int,
        batch_size: int,
        use_batch_api: bool,
    ) -> None:
        """Bind the client and the batching settings."""
        self._client = client
        self._batch_size = batch_size
        self._use_batch_api = use_batch_api
        self.max_concurrency = max_concurrency
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="qbo-write"
        )
        self._lock = threading.Lock()
        self.batches = 0
        self.single_writes = 0

    def close(self) -> None:
        """Stop the worker threads."""
        self._executor.shutdown(wait=True)

    def execute(self, plans: list[WritePlan]) -> list[WriteOutcome]:
        """Write every plan; returns one outcome per plan once all are settled."""
        outcomes: list[WriteOutcome] = []
        for sent in self.submit(plans):
            outcomes.extend(sent.future.result())
        return outcomes

    def submit(self, plans: list[WritePlan]) -> list[SentRequest]:
        """Queue every plan's write on the worker threads and return at once.

        Returns:
            One entry per batch request (up to `batch_size` plans) or single write, in the
            order they were queued; each future answers its plans' outcomes.
        """
        batched = [p for p in plans if p.kind is not WriteKind.VOID] if self._use_batch_api else []
        singles = [p for p in plans if p.kind is WriteKind.VOID or not self._use_batch_api]
        size = self._batch_size
        chunks = [batched[start : start + size] for start in range(0, len(batched), size)]
        sent = [
            SentRequest(chunk, self._executor.submit(self._run_batch, chunk)) for chunk in chunks
        ]
        sent.extend(
            SentRequest([plan], self._executor.submit(self._run_singles, [plan]))
            for plan in singles
        )
        return sent

    def _count(self, *, batch: bool) -> None:
        with self._lock:
            if batch:
                self.batches += 1
            else:
                self.single_writes += 1

    def _run_singles(self, plans: list[WritePlan]) -> list[WriteOutcome]:
        return [self._run_single(plan) for plan in plans]

    def _run_single(self, plan: WritePlan) -> WriteOutcome:
        operation = plan.kind.value if plan.kind in {WriteKind.VOID, WriteKind.DELETE} else None
        self._count(batch=False)
        try:
            document, tid = self._client.write(
                plan.document.entity, plan.payload, request_id=plan.request_id, operation=operation
            )
        except DeliveryError as exc:
            return WriteOutcome(plan, error=exc)
        return WriteOutcome(plan, document=document, intuit_tid=tid)

    def _run_batch(self, plans: list[WritePlan]) -> list[WriteOutcome]:
        items = [
            payloads.batch_item(f"b{index}", plan.document.entity, plan.kind.value, plan.payload)
            for index, plan in enumerate(plans)
        ]
        request_id = batch_request_id(plans[0].realm_id, [plan.request_id for plan in plans])
        self._count(batch=True)
        try:
            entries, tid = self._client.batch(items, request_id=request_id)
        except (DataError, ConflictError):
            # The batch as a whole was refused: isolate the culprit by writing one by one.
            return [self._run_single(plan) for plan in plans]
        except DeliveryError as exc:
            return [WriteOutcome(plan, error=exc) for plan in plans]
        by_id = {str(entry.get("bId")): entry for entry in entries}
        outcomes: list[WriteOutcome] = []
        for index, plan in enumerate(plans):
            entry = by_id.get(f"b{index}")
            if entry is None:
                outcomes.append(WriteOutcome(plan, error=_missing_item(tid, "lacks an item")))
            elif "Fault" in entry:
                error = fault_error(entry["Fault"], status=400, intuit_tid=tid)
                if isinstance(error, TransientError):
                    outcomes.append(self._run_single(plan))
                else:
                    outcomes.append(WriteOutcome(plan, error=error))
            elif isinstance(entry.get(plan.document.entity), dict):
                document = entry[plan.document.entity]
                outcomes.append(WriteOutcome(plan, document=document, intuit_tid=tid))
            else:
                error = _missing_item(tid, "item lacks its entity")
                outcomes.append(WriteOutcome(plan, error=error))
        return outcomes
