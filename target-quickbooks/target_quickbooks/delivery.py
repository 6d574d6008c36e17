"""Exactly-once delivery of mapped documents to one QuickBooks company.

The engine queues documents and delivers them wave by wave in dependency order: a document
waits until the documents it links to (or references by external_id) are in the ledger. Each
part reads in one sitting, and each depends only on the parts below it:

- `DeliveryEngine` (here): the queue, the waves, the write loop and the run's stop on a system
  error, which comes only after everything QuickBooks acknowledged has been recorded.
- `in_flight.WritesInFlight`: the batch requests queued or sent and not yet recorded, and the
  documents they keep from being planned (the engine plans, records and reads input while
  they wait on the limiter: `DeliveryTuning.pipelined`).
- `wave_planning.WavePlanner`: a wave's documents to write plans (guards, ledger, references,
  recovery, same-name rule, `planning`).
- `guards.WaveGuards`: the guard hooks a wave passes first (document type, refunds).
- `conflicts.ConflictResolver`: edits made in QuickBooks, merged or queued for review
  (docs/conflicts.md); stale SyncTokens (5010).
- `recording.OutcomeRecorder`: outcomes to ledger entries, audit rows and dead letters.
- `writer.PlanWriter`: the writes, in batch requests of up to 30, on worker threads.

The operator commands resolve reviews and retry dead letters through the same path
(`operations.actions`, using `write`, `enqueue` and `flush`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_quickbooks import error_catalog, packing
from target_quickbooks.conflicts import ConflictResolver
from target_quickbooks.customer_writes import CustomerWrites
from target_quickbooks.errors import (
    ConflictError,
    DataError,
    DeliveryError,
    ErrorClass,
    SystemFaultError,
)
from target_quickbooks.guards import WaveGuards
from target_quickbooks.in_flight import WritesInFlight
from target_quickbooks.lookups import RunLookups
from target_quickbooks.planning import (
    WriteKind,
    WritePlan,
    required_dependencies,
    static_dependencies,
    under_unique_name,
    with_queued_invoices,
)
from target_quickbooks.planning import body_hash as planning_body_hash
from target_quickbooks.recording import DeliveryCounts, OutcomeRecorder, Records
from target_quickbooks.store.audit import AuditEntry
from target_quickbooks.store.dead_letters import DeadLetter
from target_quickbooks.store.settled_lines import SettledLine
from target_quickbooks.wave_planning import WavePlanner
from target_quickbooks.writer import PlanWriter, WriteOutcome

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping

    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.contract import ContractViolation, MappedDocument
    from target_quickbooks.references import ReferenceResolver
    from target_quickbooks.settings import Settings
    from target_quickbooks.store import Store

_INVALID_RECORD_GUIDANCE = (
    "The record does not match the map-quickbooks output contract: upgrade map-quickbooks and "
    "target-quickbooks to matching versions, then retry."
)

__all__ = ["DeliveryCounts", "DeliveryEngine", "DeliveryTuning"]


@dataclass(frozen=True)
class DeliveryTuning:
    """How hard the engine works at QuickBooks' limits; everything on by default.

    Off only to measure what each part is worth (bench/bench_target_realistic.py compares a
    run with `BEFORE_ISSUE_18` against the default, side by side).
    """

    # Hold a wave's last writes for the next wave so batch requests go out full (`packing`).
    fill_batches: bool = True
    # Write a customer once per run unless it really changed (`customer_writes`).
    one_write_per_customer: bool = True
    # A Payment created advances its Invoices' SyncTokens in the ledger (no re-read later).
    knows_payment_side_effects: bool = True
    # Look-ups sized by the run: the queued documents' keys asked ahead, 100 values a query,
    # answers kept for the run and forgotten when a write may change them (`lookups`).
    run_sized_lookups: bool = True
    # Plan and record while earlier batch requests wait on the limiter, and read input while
    # they fly, so a batch request is ready whenever a limiter slot frees (`in_flight`).
    pipelined: bool = True


# The engine as it was before batch filling (docs/operations.md, "Throughput").
BEFORE_ISSUE_18 = DeliveryTuning(
    fill_batches=False,
    one_write_per_customer=False,
    knows_payment_side_effects=False,
    run_sized_lookups=False,
    pipelined=False,
)

# An early flush comes once this many batch requests' worth of documents are queued (the
# sinks call `flush_if_due` with it).
FLUSH_BATCHES = 20
# Requests kept queued on the writer beyond its worker threads before the engine waits for
# answers instead of reading on: enough to cover the reading and planning of the next
# documents (a batch request goes about every 1.5 s at 40 a minute).
_QUEUED_AHEAD = 4
# Documents queued (waiting for their dependencies) before the engine waits for answers
# instead of reading on, in multiples of the early flush's size.
_PENDING_CAP = 4
# With fewer requests queued than worker threads, the early flush comes after this many batch
# requests' worth of new documents (not the usual 20): the writer is about to run dry.
_STARVING_BATCHES = 5


class DeliveryEngine:
    """Queues mapped documents and delivers them, wave by wave in dependency order."""

    def __init__(  # noqa: PLR0913 - the collaborators, and the tuning by keyword
        self,
        settings: Settings,
        client: QuickBooksClient,
        store: Store,
        resolver: ReferenceResolver,
        logger: logging.Logger,
        *,
        tuning: DeliveryTuning | None = None,
    ) -> None:
        """Bind the collaborators; writes run on `max_concurrency` threads."""
        self.tuning = tuning or DeliveryTuning()
        self._settings = settings
        self._realm = settings.realm_id
        self._client = client
        self._store = store
        self._logger = logger
        # Pipelined, the engine's own queries run while batch requests wait on the limiter,
        # each holding a concurrency slot as it waits: one slot is left to the queries.
        writers = settings.max_concurrency
        if self.tuning.pipelined and writers > 1:
            writers -= 1
        self._writer = PlanWriter(
            client,
            max_concurrency=writers,
            batch_size=settings.batch_size,
            use_batch_api=settings.use_batch_api,
        )
        self._pending: dict[str, MappedDocument] = {}
        # Per queued document: (its static dependencies, those it cannot do without).
        self._needs: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._flush_mark = 0
        self._flight = WritesInFlight(self._writer, logger)
        # Documents a wave held whole once while nothing was in flight (`_held_back`).
        self._held_once: set[str] = set()
        # The documents whose look-up keys the last look-ahead asked for (`_pump`).
        self._looked: set[str] = set()
        # The early flush's size, as the sinks ask for it (`flush_if_due` sets it).
        self._every = settings.batch_size * FLUSH_BATCHES
        # The digest of the input line each queued document was parsed from (`input_screen`).
        self._lines: dict[str, tuple[MappedDocument, str]] = {}
        self._superseded: dict[str, list[tuple[MappedDocument, str]]] = {}
        # The external_ids of the records that took the full path in this run.
        self._received: set[str] = set()
        # The input screen's settings fingerprint (`input_screen.fingerprint_id`), kept with
        # each settled line; set by the target when the screen is on.
        self.input_fingerprint: str | None = None
        self.counts = DeliveryCounts()
        customers = CustomerWrites() if self.tuning.one_write_per_customer else None
        self._recorder = OutcomeRecorder(
            self._realm,
            self.counts,
            logger,
            max_attempts=settings.max_attempts,
            customers=customers,
            knows_side_effects=self.tuning.knows_payment_side_effects,
            settled_lines=self._settled_lines,
        )
        self._conflicts = ConflictResolver(client, store, self._recorder, logger)
        lookups = None
        if self.tuning.run_sized_lookups:
            lookups = RunLookups(client)
            client.write_observers.append(lookups.forget)
            resolver.lookups = lookups
        self._planner = WavePlanner(
            client,
            store,
            resolver,
            self._recorder,
            guards=WaveGuards(store, self._recorder),
            conflicts=self._conflicts,
            customers=customers,
            lookups=lookups,
        )

    @property
    def pending_count(self) -> int:
        """Documents received and not yet delivered or dead-lettered."""
        return len(self._pending)

    def received(self, external_id: str) -> bool:
        """Whether a record of this document came through the full path in this run."""
        return external_id in self._received

    @property
    def client(self) -> QuickBooksClient:
        """The QuickBooks client (the operator commands read through it)."""
        return self._client

    @property
    def writer(self) -> PlanWriter:
        """The writer (its batch and single-write counters)."""
        return self._writer

    @property
    def realm_id(self) -> str:
        """The company this engine writes to."""
        return self._realm

    @property
    def store(self) -> Store:
        """The target's store."""
        return self._store

    def close(self) -> None:
        """Record what QuickBooks answered to writes still in flight; stop the worker threads."""
        self._flight.record_remaining(self._record)
        self._writer.close()

    # ------------------------------------------------------------------ input

    def enqueue(self, document: MappedDocument, *, line_digest: str | None = None) -> None:
        """Queue a document; a newer record of the same external_id replaces a queued one.

        Args:
            document: the mapped document.
            line_digest: the digest of the input line it was parsed from (`input_screen`):
                recorded when the document is settled, so the same line skips the full path
                in a later run.
        """
        self.counts.received += 1
        self._received.add(document.external_id)
        earlier = self._lines.pop(document.external_id, None)
        if line_digest is not None:
            self._lines[document.external_id] = (document, line_digest)
            if earlier is not None and document.external_id in self._pending:
                # Superseded before it was looked at: settled with the copy that replaced it.
                self._superseded.setdefault(document.external_id, []).append(earlier)
        if document.external_id in self._pending:
            self.counts.superseded += 1
        self._pending[document.external_id] = document
        self._needs[document.external_id] = (
            static_dependencies(document),
            frozenset(required_dependencies(document)),
        )

    def reject(self, stream: str, record: Mapping[str, Any], violation: ContractViolation) -> None:
        """Dead-letter a record that breaks the input contract."""
        self.counts.received += 1
        external_id = str(record.get("external_id") or "<missing external_id>")
        self._received.add(external_id)
        records = Records()
        records.letters.append(
            DeadLetter(
                realm_id=self._realm,
                external_id=external_id,
                stream=stream,
                error_class=ErrorClass.DATA.value,
                error_code=error_catalog.INVALID_RECORD,
                field=violation.field,
                message=violation.message,
                guidance=_INVALID_RECORD_GUIDANCE,
                record=dict(record),
            )
        )
        records.audit.append(
            AuditEntry(
                realm_id=self._realm,
                operation="receive",
                outcome="dead_letter",
                external_id=external_id,
                error_class=ErrorClass.DATA.value,
                error_code=error_catalog.INVALID_RECORD,
                message=violation.message,
            )
        )
        records.commit(self._store, self._realm)
        self.counts.dead_lettered += 1

    def store_mapper_dead_letter(self, stream: str, record: Mapping[str, Any]) -> None:
        """Keep a dead letter the mapper produced (data class, the mapper's code and guidance)."""
        self._store.dead_letters.record(
            [
                DeadLetter(
                    realm_id=self._realm,
                    external_id=str(record["external_id"]),
                    stream=stream,
                    error_class=ErrorClass.DATA.value,
                    error_code=str(record["error_code"]),
                    field=record.get("field"),
                    message=str(record["message"]),
                    guidance=str(record["guidance"]),
                    record=dict(record),
                )
            ]
        )
        self.counts.mapper_dead_letters += 1

    # ------------------------------------------------ for operator actions

    def write(self, plans: list[WritePlan], *, forced: bool = False) -> None:
        """Write plans and record every outcome, as a wave does.

        Args:
            plans: the writes (e.g. a review resolution's update).
            forced: a person decided this content: a stale SyncToken re-applies it on the new
                SyncToken instead of merging again.
        """
        ids = {plan.document.external_id for plan in plans} if forced else set()
        self._conflicts.forced |= ids
        try:
            while plans:
                plans = self._record(self._writer.execute(plans))
        finally:
            self._conflicts.forced -= ids

    def audit_entry(  # noqa: PLR0913 - an audit row's fields
        self,
        document: MappedDocument,
        operation: str,
        outcome: str,
        *,
        qbo_id: str | None = None,
        intuit_tid: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> AuditEntry:
        """An audit row about a document of this company."""
        return self._recorder.audit(
            document,
            operation,
            outcome,
            qbo_id=qbo_id,
            intuit_tid=intuit_tid,
            before=before,
            after=after,
            message=message,
        )

    def _settled_lines(self, document: MappedDocument, body_hash: str) -> list[SettledLine]:
        """The input lines of a document settled as itself (not one a guard made from it).

        With it, the lines of the copies it superseded in the queue: what they held is known
        (each was parsed and validated), and a later run weighs it against the ledger anew.
        """
        queued = self._lines.get(document.external_id)
        if queued is None or queued[0] is not document:
            return []
        del self._lines[document.external_id]
        superseded = self._superseded.pop(document.external_id, [])
        copies = [(document, queued[1], body_hash)]
        copies += [(earlier, digest, planning_body_hash(earlier)) for earlier, digest in superseded]
        return [
            SettledLine(
                line_digest=digest,
                external_id=copy.external_id,
                stream=copy.stream,
                entity=copy.entity,
                operation=copy.operation.value,
                source_updated_at=copy.source_updated_at,
                body_hash=copy_hash,
                fingerprint=self.input_fingerprint,
            )
            for copy, digest, copy_hash in copies
        ]

    # ------------------------------------------------------------------ flush

    def flush_if_due(self, every: int) -> None:
        """Flush early (dependencies permitting) once `every` more documents are queued.

        Documents still waiting for a dependency stay queued; the next early flush happens only
        after `every` further documents, so waiting documents are not re-examined per record.
        Pipelined, the early flush comes sooner (after `_STARVING_BATCHES` batch requests'
        worth of documents) when fewer requests are queued than there are worker threads, and
        answers that came in are recorded (and the documents they free sent) at once.
        """
        self._every = every
        due = self._flush_mark + every
        if self.tuning.pipelined and self._flight.requests < self._writer.max_concurrency:
            due = min(due, self._flush_mark + self._settings.batch_size * _STARVING_BATCHES)
        if len(self._pending) >= due:
            self.flush(final=False)
            self._flush_mark = len(self._pending)
        elif self.tuning.pipelined and self._flight.answered():
            self._pump(final=False, fresh=False)

    def flush(self, *, final: bool) -> None:
        """Deliver queued documents.

        Args:
            final: deliver everything queued and return only when each is acknowledged and
                recorded, or dead-lettered (a STATE message follows). When False, documents
                whose dependencies are not in the ledger yet stay queued (they may still
                arrive), and, pipelined, writes may still be in flight on return: their
                outcomes are recorded by a later call (`flush_if_due`, `flush`, `close`).

        Raises:
            SystemFaultError: the run must stop (after recording what was acknowledged).
        """
        if self.tuning.pipelined:
            self._pump(final=final, fresh=True)
        else:
            self._flush_in_waves(final=final)
        if final:
            self._settled()

    def _flush_in_waves(self, *, final: bool) -> None:
        """`flush` before issue 18: each wave written, answered and recorded before the next."""
        while self._pending:
            ready = self._ready(final=final)
            if not ready:
                if final:
                    self._dead_letter_cycle(list(self._pending.values()))
                    self._pending.clear()
                    self._needs.clear()
                return
            queued = set(self._pending)
            for document in ready:
                del self._pending[document.external_id]
            held = self._deliver_wave(ready, queued, final=final)
            for document in held:
                self._pending[document.external_id] = document
            for document in ready:
                if document.external_id not in self._pending:
                    self._needs.pop(document.external_id, None)
            if held and not final and len(held) == len(ready):
                return  # nothing but held documents: they wait for the next records
        self._flush_mark = 0

    def _settled(self) -> None:
        """After the final flush: every document is settled or dead-lettered by now."""
        self._flush_mark = 0
        self._held_once.clear()
        self._lines.clear()
        self._superseded.clear()

    def _ready(self, *, final: bool, looked_only: bool = False) -> list[MappedDocument]:
        """Documents none of whose dependencies is still queued (or in flight).

        Before the final flush, documents that cannot do without a document not delivered yet
        (it may still arrive in this run) wait too; so do documents a write in flight may
        change the planning of (`in_flight`), and, with `looked_only`, those that came after
        the last look-ahead.
        """
        queued = set(self._pending)
        flight = self._flight
        if flight.busy:
            queued |= flight.ids
        free: list[MappedDocument] = []
        for document in self._pending.values():
            if looked_only and document.external_id not in self._looked:
                continue
            dependencies = self._dependencies(document, queued)
            if dependencies & queued or flight.blocks(document, dependencies):
                continue
            free.append(document)
        if final:
            return free
        needed = set().union(*(self._needs[d.external_id][1] for d in free))
        known = set(self._store.ledger.get_many(self._realm, needed)) if needed else set()
        return [d for d in free if self._needs[d.external_id][1] <= known]

    def _dependencies(self, document: MappedDocument, queued: set[str]) -> set[str]:
        """`planning.dependencies`, from what `enqueue` computed once per document."""
        static, _ = self._needs[document.external_id]
        return with_queued_invoices(static, queued, document.external_id)

    # ------------------------------------------------------- pipelined flush

    def _pump(self, *, final: bool, fresh: bool) -> None:
        """Record what was answered, send what is ready; wait only when the writer is fed.

        Returns (when not final) once fewer than `_QUEUED_AHEAD` requests beyond the worker
        threads are queued, so the next records are read while the limiter holds the queued
        ones; the final flush returns when nothing is queued or in flight.

        Args:
            final: the final flush (a STATE message follows).
            fresh: look ahead for every queued document first (an early or final flush); when
                False, only documents looked ahead for before are sent (answers of earlier
                requests unblocked them), so look-ups are asked for many documents at once.
        """
        enough = self._writer.max_concurrency + _QUEUED_AHEAD
        cap = _PENDING_CAP * self._every
        if fresh:
            self._planner.look_ahead(list(self._pending.values()))
            self._looked = set(self._pending)
        # Planned a slice at a time, so the first batch requests of a large wave go out while
        # the rest of it is planned.
        limit = self._settings.batch_size * self._writer.max_concurrency
        while True:
            self._record_answered(wait=False)
            progressed = False
            if self._flight.requests < enough:
                progressed = self._send_ready(final=final, looked_only=not final, limit=limit)
            if not self._flight.busy:
                if progressed:
                    continue
                if final and self._pending:
                    self._dead_letter_cycle(list(self._pending.values()))
                    self._pending.clear()
                    self._needs.clear()
                return
            if progressed:
                continue
            if final or self._flight.requests >= enough or len(self._pending) >= cap:
                self._record_answered(wait=True)
                continue
            return

    def _send_ready(self, *, final: bool, looked_only: bool, limit: int) -> bool:
        """Plan up to `limit` ready documents and queue their writes; whether any left the queue."""
        free = self._ready(final=final, looked_only=looked_only)
        ready = free[:limit]
        if not ready:
            return False
        queued = set(self._pending) | self._flight.ids
        for document in ready:
            del self._pending[document.external_id]
        held = self._deliver_wave(ready, queued, final=final, more=len(free) > limit)
        for document in held:
            self._pending[document.external_id] = document
        for document in ready:
            if document.external_id not in self._pending:
                self._needs.pop(document.external_id, None)
        return len(held) < len(ready)

    def _links(self, queued: set[str]) -> Callable[[MappedDocument], set[str]]:
        """A document's dependencies, for what its write in flight blocks."""
        return lambda document: with_queued_invoices(
            static_dependencies(document), queued, document.external_id
        )

    def _record_answered(self, *, wait: bool) -> None:
        """Record the answered requests, oldest first (waiting for the oldest when `wait`).

        Raises:
            SystemFaultError: the run must stop; every other request in flight is awaited and
                recorded first.
        """
        self._flight.record_answered(self._record, links=self._retry_links, wait=wait)

    def _retry_links(self, document: MappedDocument) -> set[str]:
        """A retried document's dependencies, for what its write in flight blocks."""
        return self._links(set(self._pending))(document)

    def _dead_letter_cycle(self, documents: list[MappedDocument]) -> None:
        records = Records()
        for document in documents:
            error = DataError(
                "the document's dependencies form a cycle",
                code=error_catalog.MISSING_DEPENDENCY,
                element="links",
                guidance="Check the mapping rules' links for this order, then retry.",
            )
            self._recorder.letter(records, document, error, operation=document.operation.value)
        records.commit(self._store, self._realm)

    def _deliver_wave(
        self, documents: list[MappedDocument], queued: set[str], *, final: bool, more: bool = False
    ) -> list[MappedDocument]:
        """Deliver a wave (pipelined: queue its writes); returns the documents held back.

        Held documents wait for the next wave so that this wave's batch requests are full
        (`packing`); `more`: other documents are ready already (the wave is a slice of them).
        """
        triage = self._planner.triage(documents)
        # Documents that need no write leave the queue now and may free others at once.
        more = more or len(triage.writes) < len(documents)
        held = self._held_back(triage.writes, queued, final=final, more=more)
        if held:
            ids = {document.external_id for document in held}
            documents = [document for document in documents if document.external_id not in ids]
        if self.tuning.pipelined:
            plans = self._planner.plan(documents, triage)
            if plans:
                planned = {plan.document.external_id for plan in plans}
                also = [d.external_id for d in documents if d.external_id not in planned]
                self._flight.submit(plans, links=self._links(queued), also=also)
            return held
        self._planner.look_ahead([*self._pending.values(), *held])
        plans = self._planner.plan(documents, triage)
        while plans:
            plans = self._record(self._writer.execute(plans))
        return held

    def _held_back(
        self, writes: list[MappedDocument], queued: set[str], *, final: bool, more: bool
    ) -> list[MappedDocument]:
        """The writes kept for the next wave so this wave's batch requests are full."""
        waiting = list(self._pending.values())
        if not self.tuning.fill_batches or not self._settings.use_batch_api:
            return []
        # Pipelined, a next wave is sure to come while requests are in flight and while other
        # ready documents wait for their slice: the whole wave may wait for it.
        joinable = self.tuning.pipelined and (self._flight.busy or more)
        if final and not waiting and not joinable:
            return []  # the last wave: nothing else can fill its batch requests
        needed_later = set().union(*(self._dependencies(d, queued) for d in waiting))
        held = packing.held_back(writes, needed_later, batch_size=self._settings.batch_size)
        if len(held) < len(writes) or joinable:
            return held
        ids = {document.external_id for document in held}
        if self.tuning.pipelined and not final and not ids & self._held_once:
            # Nothing in flight: the whole wave waits once for the next records (the early
            # flush comes sooner when the writer runs dry); held again, it goes.
            self._held_once |= ids
            return held
        self._held_once -= ids
        # The whole wave would wait: only leaves may (before the final flush, for more records);
        # a document others depend on goes now, or its dependents would pile up to the end.
        if final or any(document.external_id in needed_later for document in held):
            return []
        return held

    # ------------------------------------------------------------- outcomes

    def _record(self, outcomes: list[WriteOutcome]) -> list[WritePlan]:
        """Record outcomes; returns the plans to try again (stale SyncToken, taken name)."""
        records = Records()
        again: list[WritePlan] = []
        stop: DeliveryError | None = None
        for outcome in outcomes:
            plan, error = outcome.plan, outcome.error
            suffixed = (
                under_unique_name(plan) if error is not None and error.code == "6240" else None
            )
            if error is None:
                self._recorder.success(records, outcome)
            elif error.error_class is ErrorClass.SYSTEM:
                stop = stop or error
                records.audit.append(self._recorder.failure_audit(plan, error))
            elif isinstance(error, ConflictError) and plan.kind is not WriteKind.CREATE:
                retry = self._conflicts.after_stale(records, plan, error)
                if retry is not None:
                    again.append(retry)
            elif suffixed is not None and plan.attempt == 0:
                again.append(suffixed)  # the name is taken: once more under the unique name
            else:
                self._recorder.letter(
                    records, plan.document, error, operation=plan.kind.value, plan=plan
                )
        records.commit(self._store, self._realm)
        if stop is not None:
            raise SystemFaultError(
                stop.message,
                code=stop.code,
                guidance=stop.guidance,
                element=stop.element,
                status=stop.status,
                intuit_tid=stop.intuit_tid,
            )
        return again
