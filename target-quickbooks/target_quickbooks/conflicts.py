"""Edits made in QuickBooks: merged, re-applied or queued for review, never overwritten silently.

An update answered with a stale SyncToken (5010), or of a document whose QuickBooks copy already
holds edits kept by an earlier merge, goes through `merge.three_way_merge` (docs/conflicts.md):
non-critical fields merge last-write-wins, a conflict on a critical field is queued for review
(`store.reviews`) and nothing is written. Writes a person decided (a review resolution) are
re-applied on the new SyncToken instead of merged again.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from target_quickbooks import document_diff, error_catalog, merge, merge_plan, payloads
from target_quickbooks.errors import (
    ConflictError,
    DataError,
    DeliveryError,
    ErrorClass,
    TransientError,
)
from target_quickbooks.planning import WriteKind, WritePlan, with_sync_token
from target_quickbooks.request_ids import content_hash, write_request_id
from target_quickbooks.store.audit import AuditEntry
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus
from target_quickbooks.store.review_queue import ReviewItem
from target_quickbooks.writer import WriteOutcome

if TYPE_CHECKING:
    import logging

    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.merge import MergeResult
    from target_quickbooks.recording import OutcomeRecorder, Records
    from target_quickbooks.store import Store

# Stale SyncTokens in a row before the write is dead-lettered as transient: each one means
# QuickBooks changed again between our read and our write.
MAX_STALE_RETRIES = 3
_MERGE_INPUT_GUIDANCE = (
    "QuickBooks' copy or the record lacks a usable timestamp (MetaData.LastUpdatedTime, "
    "source_updated_at), so the edits cannot be merged. Check the document in QuickBooks, then "
    "retry with `target-quickbooks-ops errors retry`."
)
_STALE_GUIDANCE = (
    "QuickBooks changed the document again during each attempt (someone is editing it now). "
    "Retry later with `target-quickbooks-ops errors retry`."
)


class ConflictResolver:
    """Decides what to write when QuickBooks' copy changed under the ledger."""

    def __init__(
        self,
        client: QuickBooksClient,
        store: Store,
        recorder: OutcomeRecorder,
        logger: logging.Logger,
    ) -> None:
        """Bind the client (re-reads), the store (reviews, ledger) and the recorder."""
        self._client = client
        self._store = store
        self._recorder = recorder
        self._realm = recorder.realm_id
        self._logger = logger
        # Documents written by a review resolution: a stale SyncToken re-applies, never re-merges.
        self.forced: set[str] = set()

    def after_stale(
        self, records: Records, plan: WritePlan, error: DeliveryError
    ) -> WritePlan | None:
        """5010: re-read, then decide: already ours, merge again, re-apply, or give up."""
        source = plan.document
        try:
            current, tid = self._client.read(source.entity, str(plan.payload.get("Id", "")))
        except (DataError, TransientError, ConflictError) as exc:
            self._recorder.letter(records, source, exc, operation="read", plan=plan)
            return None
        version = payloads.marker_version(source.entity, current, source.external_id)
        if plan.kind is WriteKind.UPDATE and version == plan.version:
            # Our update was committed earlier (its answer was lost): nothing to write.
            self._recorder.success(records, WriteOutcome(plan, document=current, intuit_tid=tid))
            return None
        if plan.attempt >= MAX_STALE_RETRIES:
            stale = TransientError(
                f"stale SyncToken on {plan.attempt + 1} attempts in a row",
                code=error.code,
                element="SyncToken",
                guidance=_STALE_GUIDANCE,
                intuit_tid=error.intuit_tid,
            )
            self._recorder.letter(records, source, stale, operation=plan.kind.value, plan=plan)
            return None
        token = str(current.get("SyncToken", ""))
        if plan.kind is not WriteKind.UPDATE or source.external_id in self.forced:
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
        return self.merge(
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

    def merge(  # noqa: PLR0913 - the three versions and the write's identity
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
            self._recorder.letter(records, document, error, operation="merge", qbo_id=entry.qbo_id)
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
            self._recorder.audit(
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
        counts = self._recorder.counts
        if result.body is not None:
            counts.merged += 1
            return plan
        counts.kept_quickbooks += 1
        self._recorder.success(
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
        result: MergeResult,
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
        self._recorder.counts.conflicts += 1
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
