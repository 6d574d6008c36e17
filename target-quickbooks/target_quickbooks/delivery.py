"""Exactly-once delivery of mapped documents to one QuickBooks company.

The engine queues documents and delivers them wave by wave in dependency order: a document
waits until the documents it links to (or references by external_id) are in the ledger. For a
wave it asks `planning` what each document needs (nothing, create, update, void, delete),
resolves references (`references`), looks for its own copies when the ledger does not know a
document (`recovery`), hands the writes to `writer`, and turns every answer into ledger entries,
audit rows and dead letters (`recording`). A system error stops the run only after everything
QuickBooks acknowledged has been recorded.

Edits made in QuickBooks are merged, never overwritten silently (docs/conflicts.md): an update
answered with a stale SyncToken (5010), or of a document whose QuickBooks copy already holds
edits kept by an earlier merge, goes through `merge.three_way_merge`; a conflict on a critical
field is queued for review (`store.reviews`) and nothing is written. The operator commands
resolve reviews and retry dead letters through the same path (`operations.actions`, using
`write`, `enqueue` and `flush`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_quickbooks import (
    document_diff,
    document_type_guard,
    error_catalog,
    merge,
    merge_plan,
    payloads,
    refund_guard,
)
from target_quickbooks.contract import (
    ContractViolation,
    Operation,
    source_facts_of,
)
from target_quickbooks.errors import (
    ConflictError,
    DataError,
    DeliveryError,
    ErrorClass,
    SystemFaultError,
    TransientError,
)
from target_quickbooks.planning import (
    LEDGER_STATUS,
    OUTCOMES,
    WriteKind,
    WritePlan,
    body_hash,
    dependencies,
    existing_from,
    keep_unique_name,
    plan_write,
    renamed,
    required_dependencies,
    skip_reason,
    with_sync_token,
)
from target_quickbooks.reconciliation import reconcile
from target_quickbooks.recording import Records
from target_quickbooks.recovery import find_own_documents
from target_quickbooks.references import find_refs, same_person_customers
from target_quickbooks.request_ids import content_hash, write_request_id
from target_quickbooks.store.audit import AuditEntry, AuditFilter
from target_quickbooks.store.dead_letters import DeadLetter
from target_quickbooks.store.ledger import ALIAS_BODY_HASH, LedgerEntry, LedgerStatus
from target_quickbooks.store.review_queue import ReviewItem
from target_quickbooks.writer import PlanWriter, WriteOutcome

if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.references import ReferenceResolver
    from target_quickbooks.settings import Settings
    from target_quickbooks.store import Store

# Stale SyncTokens in a row before the write is dead-lettered as transient: each one means
# QuickBooks changed again between our read and our write.
_MAX_STALE_RETRIES = 3
_INVALID_RECORD_GUIDANCE = (
    "The record does not match the map-quickbooks output contract: upgrade map-quickbooks and "
    "target-quickbooks to matching versions, then retry."
)
_UNRECONCILED_GUIDANCE = (
    "QuickBooks computed different totals than the store (tax settings, rounding or a price "
    "rule). Compare the document in QuickBooks with the order, fix the tax/mapping setup, then "
    "retry; the document was written once and is not duplicated."
)
_MERGE_INPUT_GUIDANCE = (
    "QuickBooks' copy or the record lacks a usable timestamp (MetaData.LastUpdatedTime, "
    "source_updated_at), so the edits cannot be merged. Check the document in QuickBooks, then "
    "retry with `target-quickbooks-ops errors retry`."
)
_STALE_GUIDANCE = (
    "QuickBooks changed the document again during each attempt (someone is editing it now). "
    "Retry later with `target-quickbooks-ops errors retry`."
)


@dataclass
class DeliveryCounts:
    """What a run did (logged at the end of the run, asserted in tests)."""

    created: int = 0
    updated: int = 0
    voided: int = 0
    deleted: int = 0
    unchanged: int = 0
    adopted: int = 0
    absent: int = 0
    superseded: int = 0
    dead_lettered: int = 0
    merged: int = 0
    kept_quickbooks: int = 0
    conflicts: int = 0
    unreconciled: int = 0
    mapper_dead_letters: int = 0
    # An order's first recorded document type kept / a SalesReceipt written as a Payment.
    kept_document_type: int = 0
    converted_document_type: int = 0

    def as_log(self) -> str:
        """key=value pairs for the run summary."""
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self))


class DeliveryEngine:
    """Queues mapped documents and delivers them, wave by wave in dependency order."""

    def __init__(
        self,
        settings: Settings,
        client: QuickBooksClient,
        store: Store,
        resolver: ReferenceResolver,
        logger: logging.Logger,
    ) -> None:
        """Bind the collaborators; writes run on `max_concurrency` threads."""
        self._settings = settings
        self._realm = settings.realm_id
        self._client = client
        self._store = store
        self._resolver = resolver
        self._logger = logger
        self._writer = PlanWriter(
            client,
            max_concurrency=settings.max_concurrency,
            batch_size=settings.batch_size,
            use_batch_api=settings.use_batch_api,
        )
        self._pending: dict[str, MappedDocument] = {}
        # Documents written by a review resolution: a stale SyncToken re-applies, never re-merges.
        self._forced: set[str] = set()
        self._flush_mark = 0
        self.counts = DeliveryCounts()
        resolver.adopted_customers = self._adopted_customers

    @property
    def pending_count(self) -> int:
        """Documents received and not yet delivered or dead-lettered."""
        return len(self._pending)

    @property
    def client(self) -> QuickBooksClient:
        """The QuickBooks client (the operator commands read through it)."""
        return self._client

    @property
    def writer(self) -> PlanWriter:
        """The writer (its batch and single-write counters)."""
        return self._writer

    def close(self) -> None:
        """Stop the worker threads."""
        self._writer.close()

    # ------------------------------------------------------------------ input

    def enqueue(self, document: MappedDocument) -> None:
        """Queue a document; a newer record of the same external_id replaces a queued one."""
        if document.external_id in self._pending:
            self.counts.superseded += 1
        self._pending[document.external_id] = document

    def reject(self, stream: str, record: Mapping[str, Any], violation: ContractViolation) -> None:
        """Dead-letter a record that breaks the input contract."""
        external_id = str(record.get("external_id") or "<missing external_id>")
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

    @property
    def realm_id(self) -> str:
        """The company this engine writes to."""
        return self._realm

    @property
    def store(self) -> Store:
        """The target's store."""
        return self._store

    def write(self, plans: list[WritePlan], *, forced: bool = False) -> None:
        """Write plans and record every outcome, as a wave does.

        Args:
            plans: the writes (e.g. a review resolution's update).
            forced: a person decided this content: a stale SyncToken re-applies it on the new
                SyncToken instead of merging again.
        """
        ids = {plan.document.external_id for plan in plans} if forced else set()
        self._forced |= ids
        try:
            while plans:
                plans = self._record(self._writer.execute(plans))
        finally:
            self._forced -= ids

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
        return self._audit(
            document,
            operation,
            outcome,
            qbo_id=qbo_id,
            intuit_tid=intuit_tid,
            before=before,
            after=after,
            message=message,
        )

    # ------------------------------------------------------------------ flush

    def flush_if_due(self, every: int) -> None:
        """Flush early (dependencies permitting) once `every` more documents are queued.

        Documents still waiting for a dependency stay queued; the next early flush happens only
        after `every` further documents, so waiting documents are not re-examined per record.
        """
        if len(self._pending) >= self._flush_mark + every:
            self.flush(final=False)
            self._flush_mark = len(self._pending)

    def flush(self, *, final: bool) -> None:
        """Deliver queued documents; returns only when each is acknowledged or dead-lettered.

        Args:
            final: deliver everything queued (a STATE message follows). When False, documents
                whose dependencies are not in the ledger yet stay queued (they may still arrive).

        Raises:
            SystemFaultError: the run must stop (after recording what was acknowledged).
        """
        while self._pending:
            ready = self._ready(final=final)
            if not ready:
                if final:
                    self._dead_letter_cycle(list(self._pending.values()))
                    self._pending.clear()
                return
            for document in ready:
                del self._pending[document.external_id]
            self._deliver_wave(ready)
        self._flush_mark = 0

    def _ready(self, *, final: bool) -> list[MappedDocument]:
        """Documents none of whose dependencies is still queued.

        Before the final flush, documents that cannot do without a document not delivered yet
        (it may still arrive in this run) wait too.
        """
        queued = set(self._pending)
        free = [d for d in self._pending.values() if not (dependencies(d, queued) & queued)]
        if final:
            return free
        needed = set().union(*(required_dependencies(d) for d in free))
        known = set(self._store.ledger.get_many(self._realm, needed)) if needed else set()
        return [d for d in free if required_dependencies(d) <= known]

    def _dead_letter_cycle(self, documents: list[MappedDocument]) -> None:
        records = Records()
        for document in documents:
            error = DataError(
                "the document's dependencies form a cycle",
                code=error_catalog.MISSING_DEPENDENCY,
                element="links",
                guidance="Check the mapping rules' links for this order, then retry.",
            )
            self._letter(records, document, error, operation=document.operation.value)
        records.commit(self._store, self._realm)

    # ------------------------------------------------------------------ a wave

    def _deliver_wave(self, documents: list[MappedDocument]) -> None:
        records = Records()
        documents = self._guard_document_types(documents, records)
        entries = self._store.ledger.get_many(self._realm, [d.external_id for d in documents])
        to_write: list[tuple[MappedDocument, str]] = []
        for document in documents:
            digest = body_hash(document)
            entry = entries.get(document.external_id)
            reason = skip_reason(document, digest, entry)
            if reason is None:
                to_write.append((document, digest))
                continue
            self.counts.unchanged += 1
            records.audit.append(
                self._audit(document, document.operation.value, reason, qbo_id=_id_of(entry))
            )
        to_write = self._guard_refunds(to_write, records)
        bodies = self._resolve(to_write, records)
        unknown = [
            document
            for document, _ in to_write
            if document.external_id in bodies and _unknown(entries.get(document.external_id))
        ]
        found = find_own_documents(self._client, unknown) if unknown else {}
        # One person, one customer: an unknown Customer adopts the one with its e-mail.
        found |= same_person_customers(
            self._client, [d for d in unknown if d.external_id not in found]
        )
        # Two people, one name: new customers' names do not depend on arrival order.
        new = [d for d in unknown if d.external_id not in found]
        moved = self._settle_names(new, bodies, records)
        entries |= self._store.ledger.get_many(self._realm, moved & set(entries))
        refusals = self._refusals([document for document, _ in to_write])
        plans: list[WritePlan] = []
        for document, digest in to_write:
            if document.external_id not in bodies:
                continue  # dead-lettered while resolving
            plan = self._plan(
                records,
                document,
                digest=digest,
                entry=entries.get(document.external_id),
                body=bodies[document.external_id],
                adopted=found.get(document.external_id),
                refusals=refusals.get(document.external_id, 0),
            )
            if plan is not None:
                plans.append(plan)
        records.commit(self._store, self._realm)
        while plans:
            plans = self._record(self._writer.execute(plans))

    def _settle_names(
        self,
        unknown: list[MappedDocument],
        bodies: dict[str, dict[str, Any] | None],
        records: Records,
    ) -> set[str]:
        """New customers get their DisplayName by the same-name rule; returns who was renamed."""
        new = {
            d.external_id: body
            for d in unknown
            if d.entity == "Customer" and (body := bodies.get(d.external_id)) is not None
        }
        settled = self._resolver.settle_names(new) if new else None
        for external_id, name in (settled.names if settled else {}).items():
            bodies[external_id] = {**new[external_id], "DisplayName": name}
        for moved in settled.renamed if settled else []:
            records.audit.append(
                AuditEntry(
                    realm_id=self._realm,
                    operation="rename",
                    outcome="renamed" if moved.error is None else "failed",
                    external_id=moved.external_id,
                    entity="Customer",
                    qbo_id=str(moved.before.get("Id")),
                    request_id=moved.request_id,
                    intuit_tid=moved.intuit_tid,
                    before=moved.before,
                    after=moved.after,
                    message=moved.error or "another customer has the same name",
                )
            )
        return {moved.external_id for moved in settled.renamed} if settled else set()

    def _adopted_customers(self, external_ids: set[str]) -> set[str]:
        """Which of these customers K-Connector adopted (their audit has an "adopted" row)."""
        return {
            external_id
            for external_id in sorted(external_ids)
            if self._store.audit.query(
                self._realm, AuditFilter(external_id=external_id, outcome="adopted", limit=1)
            )
        }

    def _guard_refunds(
        self, to_write: list[tuple[MappedDocument, str]], records: Records
    ) -> list[tuple[MappedDocument, str]]:
        """Dead-letter refunds that would refund more than their order was paid (refund_guard)."""
        upserts = [d for d, _ in to_write if d.operation is Operation.UPSERT]
        orders = refund_guard.refund_orders(upserts)
        if not orders:
            return to_write
        entries = self._store.ledger.order_documents(self._realm, orders)
        refused = refund_guard.wave_set_aside(upserts, entries)
        for document, _ in to_write:
            verdict = refused.get(document.external_id)
            if verdict is not None:
                error = DataError(
                    verdict.message,
                    code=error_catalog.REFUND_EXCEEDS_PAID,
                    element=verdict.field,
                    guidance=verdict.guidance,
                )
                self._letter(records, document, error, operation="refund_guard")
        return [(d, digest) for d, digest in to_write if d.external_id not in refused]

    def _guard_document_types(
        self, documents: list[MappedDocument], records: Records
    ) -> list[MappedDocument]:
        """An order keeps the document type its ledger recorded first (document_type_guard)."""
        orders = document_type_guard.order_ids(documents)
        if not orders:
            return documents
        entries = self._store.ledger.order_documents(self._realm, orders)
        kept: list[MappedDocument] = []
        for decision in document_type_guard.wave_decisions(documents, entries):
            document = decision.document
            if decision.action is document_type_guard.Action.WRITE:
                kept.append(document)
            elif decision.action is document_type_guard.Action.REFUSE:
                error = DataError(
                    decision.message,
                    code=error_catalog.DOCUMENT_TYPE_KEPT,
                    element=decision.field,
                    guidance=decision.guidance,
                )
                self._letter(records, document, error, operation="document_type")
            else:
                converted = decision.action is document_type_guard.Action.CONVERT
                if converted:
                    self.counts.converted_document_type += 1
                    kept.append(document)
                else:
                    self.counts.kept_document_type += 1
                    records.delivered.append(document.external_id)
                records.audit.append(
                    self._audit(
                        document, "document_type", decision.action.value, message=decision.message
                    )
                )
        return kept

    def _refusals(self, documents: list[MappedDocument]) -> dict[str, int]:
        """Earlier definitive refusals, for documents with an open dead letter only."""
        ids = [document.external_id for document in documents]
        letters = self._store.dead_letters.open_ids(self._realm, ids) if ids else set()
        return self._store.audit.refusals(self._realm, letters) if letters else {}

    def _resolve(
        self, to_write: list[tuple[MappedDocument, str]], records: Records
    ) -> dict[str, dict[str, Any] | None]:
        """Resolved bodies by external_id (None for void/delete); failures dead-lettered."""
        upserts = [d for d, _ in to_write if d.operation is Operation.UPSERT]
        self._resolver.prefetch(ref for d in upserts for ref in find_refs(dict(d.body)))
        bodies: dict[str, dict[str, Any] | None] = {}
        for document, _ in to_write:
            if document.operation is not Operation.UPSERT:
                bodies[document.external_id] = None
                continue
            try:
                bodies[document.external_id] = self._resolver.resolve_body(document.body)
            except (DataError, TransientError, ConflictError) as exc:
                self._letter(records, document, exc, operation="resolve")
        return bodies

    def _plan(  # noqa: PLR0913 - the document and everything known about it
        self,
        records: Records,
        document: MappedDocument,
        *,
        digest: str,
        entry: LedgerEntry | None,
        body: dict[str, Any] | None,
        adopted: dict[str, Any] | None,
        refusals: int,
    ) -> WritePlan | None:
        if not _unknown(entry):
            adopted = None
        if entry is not None and body is not None and _merges(document, entry):
            # QuickBooks holds edits an earlier merge kept: a full update would overwrite them.
            return self._merge(
                records,
                document,
                ours=keep_unique_name(document, body, entry.snapshot),
                entry=entry,
                theirs=entry.snapshot or {},
                digest=digest,
                refusals=refusals,
            )
        existing = existing_from(entry, adopted)
        plan = plan_write(self._realm, document, digest, existing, body, refusals=refusals)
        if adopted is not None:
            self.counts.adopted += 1
            records.audit.append(
                self._audit(document, "adopt", "adopted", qbo_id=str(adopted["Id"]), after=adopted)
            )
            version = payloads.marker_version(document.entity, adopted, document.external_id)
            if plan is not None and plan.kind is WriteKind.UPDATE and version == plan.version:
                # QuickBooks already holds exactly this content (its answer was lost): record it.
                self._record_success(records, WriteOutcome(plan, document=adopted), count=False)
                return None
        if plan is None:
            self.counts.absent += 1
            records.audit.append(self._audit(document, document.operation.value, "absent"))
            records.delivered.append(document.external_id)
        return plan

    # ------------------------------------------------------------- outcomes

    def _record(self, outcomes: list[WriteOutcome]) -> list[WritePlan]:
        """Record outcomes; returns the plans to try again (stale SyncToken, taken name)."""
        records = Records()
        again: list[WritePlan] = []
        stop: DeliveryError | None = None
        for outcome in outcomes:
            plan, error = outcome.plan, outcome.error
            rename = renamed(plan) if error is not None and error.code == "6240" else None
            if error is None:
                self._record_success(records, outcome)
            elif error.error_class is ErrorClass.SYSTEM:
                stop = stop or error
                records.audit.append(self._failure_audit(plan, error))
            elif isinstance(error, ConflictError) and plan.kind is not WriteKind.CREATE:
                retry = self._after_stale(records, plan, error)
                if retry is not None:
                    again.append(retry)
            elif rename is not None and plan.attempt == 0:
                again.append(rename)  # the name is taken: once more under the unique name
            else:
                self._letter(records, plan.document, error, operation=plan.kind.value, plan=plan)
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

    def _record_success(
        self, records: Records, outcome: WriteOutcome, *, count: bool = True
    ) -> None:
        plan, document = outcome.plan, outcome.document
        if document is None:
            msg = "a successful outcome carries its document"
            raise ValueError(msg)
        source = plan.document
        qbo_id = str(document.get("Id") or (plan.before or {}).get("Id") or "")
        records.ledger.append(
            LedgerEntry(
                realm_id=self._realm,
                external_id=source.external_id,
                entity=source.entity,
                qbo_id=qbo_id,
                sync_token=str(document.get("SyncToken", "")),
                body_hash=plan.body_hash,
                status=LEDGER_STATUS[plan.kind],
                request_id=plan.request_id,
                snapshot=plan.before if plan.kind is WriteKind.DELETE else document,
                source_updated_at=source.source_updated_at,
                pushed_body=plan.resolved_body,
                expected_total=source.expected.total,
                expected_tax=source.expected.tax,
                currency=source.expected.currency,
                source_facts=source_facts_of(source),
            )
        )
        alias = self._customer_alias(plan)
        if alias is not None:
            records.ledger.append(alias)
        if count:
            name = OUTCOMES[plan.kind]  # the counter of the same name
            setattr(self.counts, name, getattr(self.counts, name) + 1)
            records.audit.append(
                self._audit(
                    source,
                    plan.kind.value,
                    OUTCOMES[plan.kind],
                    qbo_id=qbo_id,
                    request_id=plan.request_id,
                    intuit_tid=outcome.intuit_tid,
                    before=plan.before,
                    after=document,
                )
            )
        check = (
            reconcile(source.entity, source.expected, document)
            if plan.kind in {WriteKind.CREATE, WriteKind.UPDATE}
            else None
        )
        if check is None or check.matches:
            records.delivered.append(source.external_id)
            return
        self.counts.unreconciled += 1
        message = f"QuickBooks totals differ from the store's: {check.describe()}"
        error = DataError(
            message,
            code=error_catalog.UNRECONCILED,
            element="TotalAmt",
            guidance=_UNRECONCILED_GUIDANCE,
            intuit_tid=outcome.intuit_tid,
        )
        self._letter(records, source, error, operation="reconcile", plan=plan, qbo_id=qbo_id)

    def _customer_alias(self, plan: WritePlan) -> LedgerEntry | None:
        """``<order id>#customer``: the customer an order's documents were written for.

        A refund does not carry its order's customer; the mapper refers to it by this alias
        (docs/mapping.md, "Customers"), resolved through the ledger like any external_id.
        """
        source = plan.document
        customer = (plan.resolved_body or {}).get("CustomerRef")
        if source.entity == "Customer" or "#" not in source.external_id:
            return None
        if not isinstance(customer, dict) or not customer.get("value"):
            return None
        return LedgerEntry(
            realm_id=self._realm,
            external_id=source.external_id.split("#", 1)[0] + "#customer",
            entity="Customer",
            qbo_id=str(customer["value"]),
            sync_token="",
            body_hash=ALIAS_BODY_HASH,
            status=LedgerStatus.ACTIVE,
            source_updated_at=source.source_updated_at,
        )

    def _after_stale(
        self, records: Records, plan: WritePlan, error: DeliveryError
    ) -> WritePlan | None:
        """5010: re-read, then decide: already ours, merge again, re-apply, or give up."""
        source = plan.document
        try:
            current, tid = self._client.read(source.entity, str(plan.payload.get("Id", "")))
        except (DataError, TransientError, ConflictError) as exc:
            self._letter(records, source, exc, operation="read", plan=plan)
            return None
        version = payloads.marker_version(source.entity, current, source.external_id)
        if plan.kind is WriteKind.UPDATE and version == plan.version:
            # Our update was committed earlier (its answer was lost): nothing to write.
            self._record_success(records, WriteOutcome(plan, document=current, intuit_tid=tid))
            return None
        if plan.attempt >= _MAX_STALE_RETRIES:
            stale = TransientError(
                f"stale SyncToken on {plan.attempt + 1} attempts in a row",
                code=error.code,
                element="SyncToken",
                guidance=_STALE_GUIDANCE,
                intuit_tid=error.intuit_tid,
            )
            self._letter(records, source, stale, operation=plan.kind.value, plan=plan)
            return None
        token = str(current.get("SyncToken", ""))
        if plan.kind is not WriteKind.UPDATE or source.external_id in self._forced:
            # A void, a delete, or a person's decision: the same write on the new SyncToken.
            return with_sync_token(plan, token)
        if plan.resolved_body is None:
            msg = "an update plan carries its resolved body"
            raise ValueError(msg)
        entry = self._store.ledger.get(self._realm, source.external_id) or LedgerEntry(
            realm_id=self._realm,
            external_id=source.external_id,
            entity=source.entity,
            qbo_id=str(current.get("Id", "")),
            sync_token=token,
            body_hash="",
            status=LedgerStatus.ACTIVE,
            snapshot=plan.before,
        )
        return self._merge(
            records,
            source,
            ours=plan.resolved_body,
            entry=entry,
            theirs=current,
            digest=plan.body_hash,
            refusals=plan.refusals,
            intuit_tid=tid,
            attempt=plan.attempt + 1,
        )

    # ------------------------------------------------------------- merge

    def _merge(  # noqa: PLR0913 - the three versions and the write's identity
        self,
        records: Records,
        document: MappedDocument,
        *,
        ours: dict[str, Any],
        entry: LedgerEntry,
        theirs: dict[str, Any],
        digest: str,
        refusals: int,
        intuit_tid: str | None = None,
        attempt: int = 0,
    ) -> WritePlan | None:
        """Merge QuickBooks' copy, the ledger's base and the store's body; returns the write.

        ``no_change``/``take_theirs``: nothing is written, the ledger adopts QuickBooks' copy.
        ``take_ours``/``merged``: a sparse update on QuickBooks' current SyncToken.
        ``conflict``: nothing is written; the case is queued for review (once per fingerprint).
        """
        current = merge_plan.without_marker(document.entity, theirs, document.external_id)
        base = merge_plan.merge_base(entry, ours)
        try:
            result = merge.three_way_merge(
                base,
                current,
                ours,
                critical_fields=document.critical_fields,
                theirs_updated_at=merge.last_updated_time(theirs),
                ours_updated_at=merge_plan.source_time(document.source_updated_at),
                entity=document.entity,
            )
        except ValueError as exc:  # merge.MergeInputError, or an unreadable source_updated_at
            error = DataError(
                f"cannot merge the QuickBooks edits: {exc}",
                code=error_catalog.CONFLICT,
                guidance=_MERGE_INPUT_GUIDANCE,
                intuit_tid=intuit_tid,
            )
            self._letter(records, document, error, operation="merge", qbo_id=entry.qbo_id)
            return None
        decisions = ", ".join(
            f"{d.field}: {d.reason}"
            for d in result.field_decisions
            if d.reason is not merge.Reason.UNCHANGED
        )
        if result.outcome is merge.Outcome.CONFLICT:
            self._queue_review(
                records,
                document,
                entry=entry,
                versions=(base, current, ours),
                result=result,
                theirs=theirs,
                intuit_tid=intuit_tid,
            )
            return None
        token = str(theirs.get("SyncToken", ""))
        if result.body is None:
            payload = payloads.reference_payload(str(theirs.get("Id", entry.qbo_id)), token)
        else:
            payload = merge_plan.merged_payload(
                document.entity,
                result,
                ours,
                current,
                document.external_id,
                sync_token=token,
                version=digest[: payloads.VERSION_LENGTH],
            )
        request_id = write_request_id(
            self._realm,
            document.entity,
            document.external_id,
            WriteKind.UPDATE.value,
            content_hash(payload),
            refusals=refusals,
        )
        plan = WritePlan(
            self._realm,
            document,
            WriteKind.UPDATE,
            payload,
            request_id,
            digest,
            ours,
            theirs,
            attempt,
            refusals,
        )
        records.audit.append(
            self._audit(
                document,
                "merge",
                result.outcome.value,
                qbo_id=str(payload["Id"]),
                request_id=request_id if result.body is not None else None,
                intuit_tid=intuit_tid,
                before=base,
                after=current,
                message=decisions or None,
            )
        )
        if result.body is not None:
            self.counts.merged += 1
            return plan
        self.counts.kept_quickbooks += 1
        self._record_success(
            records, WriteOutcome(plan, document=theirs, intuit_tid=intuit_tid), count=False
        )
        return None

    def _queue_review(  # noqa: PLR0913 - the case and its context
        self,
        records: Records,
        document: MappedDocument,
        *,
        entry: LedgerEntry,
        versions: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
        result: merge.MergeResult,
        theirs: dict[str, Any],
        intuit_tid: str | None,
    ) -> None:
        """Queue a conflict for review; QuickBooks is not written."""
        base, current, ours = versions
        fields = tuple(conflict.field for conflict in result.conflicts)
        qbo_id = str(theirs.get("Id") or entry.qbo_id)
        item_id, new = self._store.reviews.add(
            ReviewItem(
                realm_id=self._realm,
                fingerprint=result.fingerprint,
                external_id=document.external_id,
                stream=document.stream,
                entity=document.entity,
                qbo_id=qbo_id,
                conflict_fields=fields,
                diff=document_diff.format_diff(document_diff.render_diff(base, current, ours)),
                base=base,
                theirs=current,
                ours=ours,
                record=dict(document.record),
            )
        )
        # QuickBooks' copy becomes the ledger's snapshot, the base stays: a re-run finds the
        # same conflict without writing, and queues nothing new.
        records.ledger.append(
            dataclasses.replace(
                entry,
                qbo_id=qbo_id,
                sync_token=str(theirs.get("SyncToken", entry.sync_token)),
                snapshot=theirs,
                pushed_body=base,
            )
        )
        self.counts.conflicts += 1
        records.audit.append(
            AuditEntry(
                realm_id=self._realm,
                operation="merge",
                outcome="conflict",
                external_id=document.external_id,
                entity=document.entity,
                qbo_id=qbo_id,
                intuit_tid=intuit_tid,
                error_class=ErrorClass.CONFLICT.value,
                error_code=error_catalog.CONFLICT,
                message=(
                    f"review {item_id} {'queued' if new else 'already queued'}: "
                    f"{', '.join(fields)} changed in QuickBooks and in the store"
                ),
                before=base,
                after=current,
            )
        )
        records.delivered.append(document.external_id)
        self._logger.warning(
            "event=review_queued external_id=%s entity=%s review=%s new=%s fields=%s",
            document.external_id,
            document.entity,
            item_id,
            new,
            ",".join(fields),
        )

    # ------------------------------------------------------------- records

    def _audit(  # noqa: PLR0913 - an audit row's fields
        self,
        document: MappedDocument,
        operation: str,
        outcome: str,
        *,
        qbo_id: str | None = None,
        request_id: str | None = None,
        intuit_tid: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            realm_id=self._realm,
            operation=operation,
            outcome=outcome,
            external_id=document.external_id,
            entity=document.entity,
            qbo_id=qbo_id,
            request_id=request_id,
            intuit_tid=intuit_tid,
            before=before,
            after=after,
            message=message,
        )

    def _failure_audit(self, plan: WritePlan, error: DeliveryError) -> AuditEntry:
        return AuditEntry(
            realm_id=self._realm,
            operation=plan.kind.value,
            outcome="failed",
            external_id=plan.document.external_id,
            entity=plan.document.entity,
            qbo_id=_payload_id(plan),
            request_id=plan.request_id,
            intuit_tid=error.intuit_tid,
            error_class=error.error_class.value,
            error_code=error.code,
            message=error.message,
            before=plan.before,
        )

    def _letter(  # noqa: PLR0913 - the failure and its context
        self,
        records: Records,
        document: MappedDocument,
        error: DeliveryError,
        *,
        operation: str,
        plan: WritePlan | None = None,
        qbo_id: str | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        code, message = error.code, error.message
        if isinstance(error, TransientError):
            code = error_catalog.RETRIES_EXHAUSTED
            message = f"gave up after {self._settings.max_attempts} attempts: {error.message}"
        if code == error_catalog.UNRECONCILED:
            outcome = "unreconciled"
        elif error.error_class is ErrorClass.CONFLICT:
            outcome = "conflict"
        else:
            outcome = "dead_letter"
            self.counts.dead_lettered += 1
        records.audit.append(
            AuditEntry(
                realm_id=self._realm,
                operation=operation,
                outcome=outcome,
                external_id=document.external_id,
                entity=document.entity,
                qbo_id=qbo_id or (_payload_id(plan) if plan else None),
                request_id=plan.request_id if plan else None,
                intuit_tid=error.intuit_tid,
                error_class=error.error_class.value,
                error_code=code,
                message=message,
                before=plan.before if plan else None,
                after=after,
            )
        )
        records.letters.append(
            DeadLetter(
                realm_id=self._realm,
                external_id=document.external_id,
                stream=document.stream,
                error_class=error.error_class.value,
                error_code=code,
                field=error.element,
                message=message,
                guidance=error.guidance,
                record=dict(document.record),
            )
        )
        self._logger.warning(
            "event=dead_letter external_id=%s entity=%s class=%s code=%s field=%s",
            document.external_id,
            document.entity,
            error.error_class.value,
            code,
            error.element,
        )


def _merges(document: MappedDocument, entry: LedgerEntry) -> bool:
    """Whether an upsert of a known document must merge instead of a full update."""
    return (
        document.operation is Operation.UPSERT
        and entry.status is LedgerStatus.ACTIVE
        and merge_plan.diverged(entry)
    )


def _unknown(entry: LedgerEntry | None) -> bool:
    """Whether the ledger does not know a live copy of the document."""
    return entry is None or entry.status is LedgerStatus.DELETED


def _id_of(entry: LedgerEntry | None) -> str | None:
    return entry.qbo_id if entry is not None else None


def _payload_id(plan: WritePlan) -> str | None:
    value = plan.payload.get("Id")
    return str(value) if value else None
