"""Plan one wave: from ready documents to the writes QuickBooks must receive.

A wave is a set of documents none of which depends on another still queued. For each, the
guards run (`guards`), the ledger says whether anything changed (`planning.skip_reason`), the
references are resolved (`references`), copies of our own documents are looked for when the
ledger does not know a document (`recovery`, one person one customer, two people one name), and
`planning` turns what is known into a `WritePlan`. A document whose QuickBooks copy holds edits
kept by an earlier merge is merged instead (`conflicts`). Nothing is written to QuickBooks here
except what a reference creates (`references`, `on_missing: create`); what was decided is
recorded before the writes go.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_quickbooks import merge_plan, payloads
from target_quickbooks.contract import Operation
from target_quickbooks.errors import ConflictError, DataError, TransientError
from target_quickbooks.planning import (
    WriteKind,
    WritePlan,
    body_hash,
    existing_from,
    keep_unique_name,
    plan_write,
    skip_reason,
)
from target_quickbooks.recording import Records
from target_quickbooks.recovery import find_own_documents, lookup_keys
from target_quickbooks.references import email_of, find_refs, same_person_customers
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus
from target_quickbooks.writer import WriteOutcome

if TYPE_CHECKING:
    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.conflicts import ConflictResolver
    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.customer_writes import CustomerWrites
    from target_quickbooks.guards import WaveGuards
    from target_quickbooks.lookups import RunLookups
    from target_quickbooks.recording import OutcomeRecorder
    from target_quickbooks.references import ReferenceResolver
    from target_quickbooks.store import Store


# The audit outcome of a customer copy the run already wrote, addresses aside.
RESENT_CUSTOMER = "written_this_run"


@dataclass(frozen=True)
class Triage:
    """A wave's ledger entries and body hashes, and the documents that need a write."""

    entries: dict[str, LedgerEntry]
    digests: dict[str, str]
    writes: list[MappedDocument]
    triaged: dict[str, MappedDocument] = dataclasses.field(default_factory=dict)


class WavePlanner:
    """Turns a wave of ready documents into write plans, recording every decision."""

    def __init__(  # noqa: PLR0913 - the collaborators of a wave
        self,
        client: QuickBooksClient,
        store: Store,
        resolver: ReferenceResolver,
        recorder: OutcomeRecorder,
        *,
        guards: WaveGuards,
        conflicts: ConflictResolver,
        customers: CustomerWrites | None = None,
        lookups: RunLookups | None = None,
    ) -> None:
        """Bind the collaborators.

        Args:
            client: QuickBooks (look-ups of our own documents, same-person customers).
            store: the ledger, audit log and dead letters.
            resolver: the reference resolver.
            recorder: records outcomes.
            guards: the guard hooks.
            conflicts: merges edits made in QuickBooks.
            customers: the customers this run wrote (one write per customer per run), or None
                to write every changed copy.
            lookups: the run's look-ups (asked ahead, kept for the run), or None for each
                wave's own queries.
        """
        self._lookups = lookups
        self._customers = customers
        self._client = client
        self._store = store
        self._resolver = resolver
        self._recorder = recorder
        self._guards = guards
        self._conflicts = conflicts
        self._realm = recorder.realm_id

    def look_ahead(self, documents: list[MappedDocument]) -> None:
        """Queued documents: the next look-ups also ask for those the ledger does not know."""
        if self._lookups is None or not documents:
            return
        live = self._store.ledger.live_ids(self._realm, [d.external_id for d in documents])
        ahead: dict[tuple[str, str], set[str]] = {}
        for document in documents:
            if document.external_id in live:
                continue
            for entity, field, value in lookup_keys(document):
                ahead.setdefault((entity, field), set()).add(value)
            email = email_of(document.body) if document.entity == "Customer" else None
            if email:
                ahead.setdefault(("Customer", "PrimaryEmailAddr"), set()).add(email.casefold())
        for (entity, field), values in sorted(ahead.items()):
            self._lookups.expect(entity, field, values)

    def triage(self, documents: list[MappedDocument]) -> Triage:
        """What the ledger says of each document: its entry, body hash, and whether to write."""
        entries = self._store.ledger.get_many(self._realm, [d.external_id for d in documents])
        digests = {d.external_id: body_hash(d) for d in documents}
        writes = [
            d
            for d in documents
            if self._skip(d, digests[d.external_id], entries.get(d.external_id)) is None
        ]
        return Triage(entries, digests, writes, {d.external_id: d for d in documents})

    def _skip(self, document: MappedDocument, digest: str, entry: LedgerEntry | None) -> str | None:
        """Why the document needs no write (`planning.skip_reason`, one write per customer)."""
        reason = skip_reason(document, digest, entry)
        customers = self._customers
        if reason is None and entry is not None and customers and customers.covers(document):
            return RESENT_CUSTOMER
        return reason

    def plan(
        self, documents: list[MappedDocument], triage: Triage | None = None
    ) -> list[WritePlan]:
        """The writes of a wave; what needs no write is recorded (and committed) here.

        Args:
            documents: the wave.
            triage: `triage` of these documents (or more), when the caller already asked.
        """
        records = Records()
        known = triage or Triage({}, {}, [])
        documents = self._guards.document_types(documents, records)
        # A guard may hand back another document (a redirect, a receipt recorded as a Payment):
        # the triage's hash and entry hold for the very documents it triaged only.
        fresh = {d.external_id for d in documents if known.triaged.get(d.external_id) is not d}
        entries = {
            d.external_id: entry
            for d in documents
            if d.external_id not in fresh and (entry := known.entries.get(d.external_id))
        }
        digests = {
            d.external_id: known.digests[d.external_id]
            for d in documents
            if d.external_id not in fresh
        }
        if fresh:
            entries |= self._store.ledger.get_many(self._realm, fresh)
            digests |= {d.external_id: body_hash(d) for d in documents if d.external_id in fresh}
        to_write = self._needing_writes(documents, digests, entries, records)
        to_write = self._guards.refunds(to_write, records)
        bodies = self._resolve(to_write, records)
        unknown = [
            document
            for document, _ in to_write
            if document.external_id in bodies and _unknown(entries.get(document.external_id))
        ]
        found = find_own_documents(self._client, unknown, self._lookups) if unknown else {}
        # One person, one customer: an unknown Customer adopts the one with its e-mail.
        found |= same_person_customers(
            self._client, [d for d in unknown if d.external_id not in found], self._lookups
        )
        # Two people, one name: the first new customer with a name takes it, in arrival order.
        self._settle_names([d for d in unknown if d.external_id not in found], bodies)
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
        return plans

    def _needing_writes(
        self,
        documents: list[MappedDocument],
        digests: dict[str, str],
        entries: dict[str, LedgerEntry],
        records: Records,
    ) -> list[tuple[MappedDocument, str]]:
        """(document, body hash) of those needing a write; the others recorded as skipped."""
        counts = self._recorder.counts
        to_write: list[tuple[MappedDocument, str]] = []
        for document in documents:
            digest = digests[document.external_id]
            entry = entries.get(document.external_id)
            reason = self._skip(document, digest, entry)
            if reason is None:
                to_write.append((document, digest))
                continue
            if reason == RESENT_CUSTOMER and entry is not None:
                # Written earlier in this run, addresses aside: the ledger takes this copy (a
                # re-run finds it unchanged), QuickBooks keeps what the run wrote.
                counts.customer_resends += 1
                records.ledger.append(
                    dataclasses.replace(
                        entry, body_hash=digest, source_updated_at=document.source_updated_at
                    )
                )
            counts.unchanged += 1
            self._recorder.settled(records, document, digest)
            records.audit.append(
                self._recorder.audit(
                    document, document.operation.value, reason, qbo_id=_id_of(entry)
                )
            )
        return to_write

    def _settle_names(
        self, unknown: list[MappedDocument], bodies: dict[str, dict[str, Any] | None]
    ) -> None:
        """New customers get their DisplayName by the same-name rule (`settle_names`).

        `unknown` is in the wave's order, which is the order the records arrived in (the
        engine queues documents as they come): the first of two namesakes gets the plain name.
        """
        new = {
            d.external_id: body
            for d in unknown
            if d.entity == "Customer" and (body := bodies.get(d.external_id)) is not None
        }
        if not new:
            return
        for external_id, name in self._resolver.settle_names(new).items():
            bodies[external_id] = {**new[external_id], "DisplayName": name}

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
                self._recorder.letter(records, document, exc, operation="resolve")
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
            return self._conflicts.merge(
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
        recorder = self._recorder
        if adopted is not None:
            recorder.counts.adopted += 1
            records.audit.append(
                recorder.audit(
                    document, "adopt", "adopted", qbo_id=str(adopted["Id"]), after=adopted
                )
            )
            version = payloads.marker_version(document.entity, adopted, document.external_id)
            if plan is not None and plan.kind is WriteKind.UPDATE and version == plan.version:
                # QuickBooks already holds exactly this content (its answer was lost): record it.
                recorder.success(records, WriteOutcome(plan, document=adopted), count=False)
                return None
        if plan is None:
            recorder.counts.absent += 1
            records.audit.append(recorder.audit(document, document.operation.value, "absent"))
            records.delivered.append(document.external_id)
        return plan


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
