"""Checks a wave passes before anything is resolved or written (the guard hooks).

Each guard is a pure module deciding from the wave's documents and the ledger
(`document_type_guard`, `refund_guard`); this class runs them in order and turns their verdicts
into dead letters, audit rows and counts. A guard is a few lines here: read the ledger entries
it needs, ask the pure module, record what it refused.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from target_quickbooks import document_type_guard, error_catalog, posting_mode_guard, refund_guard
from target_quickbooks.contract import Operation
from target_quickbooks.errors import DataError

if TYPE_CHECKING:
    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.recording import OutcomeRecorder, Records
    from target_quickbooks.store import Store


class WaveGuards:
    """Runs the guards on a wave; refused documents are dead-lettered, kept ones audited."""

    def __init__(self, store: Store, recorder: OutcomeRecorder) -> None:
        """Bind the store (the ledger the guards consult) and the recorder."""
        self._store = store
        self._recorder = recorder
        self._realm = recorder.realm_id
        self._summaries = posting_mode_guard.SummaryIndex(store, self._realm)

    def posting_modes(
        self, documents: list[MappedDocument], records: Records
    ) -> list[MappedDocument]:
        """An order is in QuickBooks once, per order or in a summary (posting_mode_guard)."""
        kept: list[MappedDocument] = []
        for decision in posting_mode_guard.wave_decisions(documents, self._store, self._summaries):
            action, document = decision.action, decision.document
            if action in {posting_mode_guard.Action.WRITE, posting_mode_guard.Action.REDIRECT}:
                kept.append(document)
            else:
                records.delivered.append(document.external_id)
            if action is not posting_mode_guard.Action.WRITE:
                audit = self._recorder.audit(document, "posting_mode", action.value)
                records.audit.append(dataclasses.replace(audit, message=decision.message))
        return kept

    def document_types(
        self, documents: list[MappedDocument], records: Records
    ) -> list[MappedDocument]:
        """An order keeps the document type its ledger recorded first (document_type_guard)."""
        documents = self.posting_modes(documents, records)
        orders = document_type_guard.order_ids(documents)
        if not orders:
            return documents
        entries = self._store.ledger.order_documents(self._realm, orders, brief=True)
        counts = self._recorder.counts
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
                self._recorder.letter(records, document, error, operation="document_type")
            else:
                converted = decision.action is document_type_guard.Action.CONVERT
                if converted:
                    counts.converted_document_type += 1
                    kept.append(document)
                else:
                    counts.kept_document_type += 1
                    records.delivered.append(document.external_id)
                records.audit.append(
                    self._recorder.audit(
                        document, "document_type", decision.action.value, message=decision.message
                    )
                )
        return kept

    def refunds(
        self, to_write: list[tuple[MappedDocument, str]], records: Records
    ) -> list[tuple[MappedDocument, str]]:
        """Dead-letter refunds that would refund more than their order was paid (refund_guard)."""
        upserts = [d for d, _ in to_write if d.operation is Operation.UPSERT]
        orders = refund_guard.refund_orders(upserts)
        if not orders:
            return to_write
        entries = self._store.ledger.order_documents(self._realm, orders, brief=True)
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
                self._recorder.letter(records, document, error, operation="refund_guard")
        return [(d, digest) for d, digest in to_write if d.external_id not in refused]
