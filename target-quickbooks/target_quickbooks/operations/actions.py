"""What the operator commands do through the delivery engine: retry dead letters, resolve reviews.

Both go through the engine's own path (ledger, deterministic requestids, reference resolution,
merge, reconciliation, audit), so a retried or resolved document is written exactly once, like
any synced one.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from target_quickbooks import error_catalog, payloads
from target_quickbooks.contract import (
    DOCUMENT_STREAMS,
    ContractViolation,
    parse_document,
    source_facts_of,
)
from target_quickbooks.planning import WriteKind, WritePlan, body_hash
from target_quickbooks.reconciliation import reconcile
from target_quickbooks.recording import Records
from target_quickbooks.request_ids import content_hash, write_request_id
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus
from target_quickbooks.store.review_queue import Resolution

if TYPE_CHECKING:
    from collections.abc import Mapping

    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.delivery import DeliveryEngine
    from target_quickbooks.store.review_queue import ReviewItem


class OperatorActionError(ValueError):
    """An operator action that cannot be carried out (the message says why and what to do)."""


class OperatorActions:
    """Retry and resolve, on a connected delivery engine."""

    def __init__(self, engine: DeliveryEngine) -> None:
        """Bind the engine (its client, store and write path)."""
        self._engine = engine

    def retry(self, letter: Mapping[str, Any]) -> bool:
        """Deliver a dead letter's record again, through the same exactly-once path.

        The ledger and the deterministic requestid make it safe to retry anything: a document
        QuickBooks already holds is not written twice. Returns whether the letter is resolved.

        Raises:
            OperatorActionError: the letter cannot be retried by the target (a mapper's dead
                letter, or a record that no longer meets the contract).
            SystemFaultError: the retry hit a system error.
        """
        document = _document_of(str(letter["stream"]), letter.get("record"))
        if letter["error_code"] == error_catalog.UNRECONCILED:
            self._recheck_totals(document)
        else:
            self._engine.enqueue(document)
            self._engine.flush(final=True)
        row = self._engine.store.dead_letters.get(self._engine.realm_id, int(letter["id"]))
        done = row is not None and row["resolved_at"] is not None
        self._engine.store.audit.append(
            [
                self._engine.audit_entry(
                    document,
                    "retry",
                    "resolved" if done else "still_failing",
                    message=f"dead letter {letter['id']} ({letter['error_code']})",
                )
            ]
        )
        return done

    def _recheck_totals(self, document: MappedDocument) -> None:
        """An unreconciled document was written once; compare QuickBooks' totals again."""
        entry = self._engine.store.ledger.get(self._engine.realm_id, document.external_id)
        if entry is None:
            self._engine.enqueue(document)
            self._engine.flush(final=True)
            return
        current, tid = self._engine.client.read(document.entity, entry.qbo_id)
        check = reconcile(document.entity, document.expected, current)
        records = Records()
        records.ledger.append(
            dataclasses.replace(
                entry, sync_token=str(current.get("SyncToken", entry.sync_token)), snapshot=current
            )
        )
        records.audit.append(
            self._engine.audit_entry(
                document,
                "reconcile",
                "reconciled" if check is None or check.matches else "unreconciled",
                qbo_id=entry.qbo_id,
                intuit_tid=tid,
                after=current,
                message=None if check is None else check.describe(),
            )
        )
        if check is None or check.matches:
            records.delivered.append(document.external_id)
        records.commit(self._engine.store, self._engine.realm_id)

    def resolve_review(
        self,
        item: ReviewItem,
        resolution: Resolution,
        *,
        edited: Mapping[str, Any] | None = None,
    ) -> bool:
        """Carry out a person's decision on a review item; returns whether it is resolved.

        - accept QuickBooks: nothing is written; the ledger adopts QuickBooks' current copy as
          its snapshot (the store's version stays the merge base), so later store changes merge
          into it and the bookkeeper's version of the conflicting fields stays.
        - accept store / edited: the store's body (or the edited one) is written as an update
          on QuickBooks' current SyncToken, with the same requestid and ledger rules as any
          write (a retried resolution never writes twice).

        Raises:
            OperatorActionError: the item cannot be resolved (its record is unusable).
            SystemFaultError: a system error (e.g. the connection is revoked).
        """
        document = _document_of(item.stream, item.record)
        current, tid = self._engine.client.read(item.entity, item.qbo_id)
        digest = body_hash(document)
        ours = dict(item.ours or {})
        token = str(current.get("SyncToken", ""))
        label = f"review {item.id}"
        if resolution is Resolution.ACCEPT_QUICKBOOKS:
            records = Records()
            records.ledger.append(
                LedgerEntry(
                    realm_id=self._engine.realm_id,
                    external_id=document.external_id,
                    entity=document.entity,
                    qbo_id=str(current.get("Id", item.qbo_id)),
                    sync_token=token,
                    body_hash=digest,
                    status=LedgerStatus.ACTIVE,
                    snapshot=current,
                    source_updated_at=document.source_updated_at,
                    pushed_body=ours,
                    expected_total=document.expected.total,
                    expected_tax=document.expected.tax,
                    currency=document.expected.currency,
                    source_facts=source_facts_of(document),
                )
            )
            records.audit.append(
                self._engine.audit_entry(
                    document,
                    "resolve_review",
                    resolution.value,
                    qbo_id=item.qbo_id,
                    intuit_tid=tid,
                    before=ours,
                    after=current,
                    message=label,
                )
            )
            records.delivered.append(document.external_id)
            records.commit(self._engine.store, self._engine.realm_id)
            self._engine.store.reviews.resolve(self._engine.realm_id, int(item.id or 0), resolution)
            return True
        body = dict(edited) if edited is not None else ours
        payload = payloads.update_payload(
            document.entity,
            body,
            document.external_id,
            qbo_id=str(current.get("Id", item.qbo_id)),
            sync_token=token,
            version=digest[: payloads.VERSION_LENGTH],
        )
        request_id = write_request_id(
            self._engine.realm_id,
            document.entity,
            document.external_id,
            WriteKind.UPDATE.value,
            content_hash(payload),
        )
        plans = [
            WritePlan(
                self._engine.realm_id,
                document,
                WriteKind.UPDATE,
                payload,
                request_id,
                digest,
                ours,
                current,
            )
        ]
        self._engine.write(plans, forced=True)
        entry = self._engine.store.ledger.get(self._engine.realm_id, document.external_id)
        done = entry is not None and entry.body_hash == digest and entry.sync_token != token
        self._engine.store.audit.append(
            [
                self._engine.audit_entry(
                    document,
                    "resolve_review",
                    resolution.value if done else "failed",
                    qbo_id=item.qbo_id,
                    before=current,
                    after=entry.snapshot if done and entry is not None else None,
                    message=label,
                )
            ]
        )
        if done:
            self._engine.store.reviews.resolve(self._engine.realm_id, int(item.id or 0), resolution)
        return done


def _document_of(stream: str, record: Mapping[str, Any] | None) -> MappedDocument:
    if stream not in DOCUMENT_STREAMS or record is None:
        msg = (
            "this dead letter came from map-quickbooks (the order could not be mapped): "
            "fix the mapping rules or the order, then re-run the pipeline"
        )
        raise OperatorActionError(msg)
    document = parse_document(stream, record)
    if isinstance(document, ContractViolation):
        msg = f"the stored record does not meet the contract: {document.message}"
        raise OperatorActionError(msg)
    return document
