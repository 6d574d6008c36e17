"""Turn delivery outcomes into ledger entries, audit rows and dead letters, written in one go.

`Records` collects what one step writes to the store; `OutcomeRecorder` fills it: a success
becomes a ledger entry (and the ``<order id>#customer`` alias of an order document), an audit
row and a reconciliation check; a failure becomes an audit row and a dead letter carrying the
error class, the field and the guidance. No QuickBooks call happens here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from target_quickbooks import error_catalog
from target_quickbooks.contract import source_facts_of
from target_quickbooks.errors import DataError, DeliveryError, ErrorClass, TransientError
from target_quickbooks.planning import LEDGER_STATUS, OUTCOMES, WriteKind
from target_quickbooks.reconciliation import reconcile
from target_quickbooks.store.audit import AuditEntry
from target_quickbooks.store.dead_letters import DeadLetter
from target_quickbooks.store.ledger import ALIAS_BODY_HASH, LedgerEntry, LedgerStatus

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.customer_writes import CustomerWrites
    from target_quickbooks.planning import WritePlan
    from target_quickbooks.store import Store
    from target_quickbooks.store.settled_lines import SettledLine
    from target_quickbooks.writer import WriteOutcome

_UNRECONCILED_GUIDANCE = (
    "QuickBooks computed different totals than the store (tax settings, rounding or a price "
    "rule). Compare the document in QuickBooks with the order, fix the tax/mapping setup, then "
    "retry; the document was written once and is not duplicated."
)


@dataclass
class Records:
    """Ledger entries, audit rows, dead letters and delivered external_ids of one step."""

    ledger: list[LedgerEntry] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    # (entity, QuickBooks Id) of documents QuickBooks changed as a side effect of our writes.
    side_effects: list[tuple[str, str]] = field(default_factory=list)
    # Input lines whose document was settled as itself (`input_screen`: the next run's fast path).
    settled: list[SettledLine] = field(default_factory=list)

    def commit(self, store: Store, realm_id: str) -> None:
        """Write everything collected (ledger first: it is what makes a re-run a no-op).

        The settled lines go last: each one says its ledger entry and its dead letter (resolved
        or not) are already written.
        """
        store.ledger.put_many(self.ledger)
        store.ledger.bump_sync_tokens(realm_id, self.side_effects)
        store.audit.append(self.audit)
        if self.delivered:
            store.dead_letters.resolve(realm_id, self.delivered)
        store.dead_letters.record(self.letters)
        store.settled_lines.record(realm_id, self.settled)
        self.ledger, self.audit, self.letters, self.delivered = [], [], [], []
        self.side_effects, self.settled = [], []


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
    # Copies of a customer the run had already written, addresses aside (customer_writes).
    customer_resends: int = 0
    # Records that reached the engine (the full path) / records skipped at the input line as
    # settled before (`input_screen`; also counted in `unchanged`).
    received: int = 0
    screened: int = 0

    def as_log(self) -> str:
        """key=value pairs for the run summary."""
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self))


class OutcomeRecorder:
    """Writes what happened to each document into `Records` and the run's counts."""

    def __init__(  # noqa: PLR0913 - the company, counts and logger, then the options by keyword
        self,
        realm_id: str,
        counts: DeliveryCounts,
        logger: logging.Logger,
        *,
        max_attempts: int,
        customers: CustomerWrites | None = None,
        knows_side_effects: bool = True,
        settled_lines: Callable[[MappedDocument, str], list[SettledLine]] | None = None,
    ) -> None:
        """Bind the company, the run's counts, the logger and the retry budget (for messages).

        `customers`, when given, learns every customer written (one write per customer per run).
        With `knows_side_effects`, a Payment created advances its Invoices' SyncTokens in the
        ledger (`applied_invoices`). `settled_lines` gives the input lines a document was parsed
        from (none for a document the run made itself), recorded once the document is settled.
        """
        self._settled_lines = settled_lines
        self._customers = customers
        self._knows_side_effects = knows_side_effects
        self.realm_id = realm_id
        self.counts = counts
        self._logger = logger
        self._max_attempts = max_attempts

    def audit(  # noqa: PLR0913 - an audit row's fields
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
        """An audit row about a document of this company."""
        return AuditEntry(
            realm_id=self.realm_id,
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

    def failure_audit(self, plan: WritePlan, error: DeliveryError) -> AuditEntry:
        """The audit row of a write QuickBooks refused (a system error: no dead letter)."""
        return AuditEntry(
            realm_id=self.realm_id,
            operation=plan.kind.value,
            outcome="failed",
            external_id=plan.document.external_id,
            entity=plan.document.entity,
            qbo_id=payload_id(plan),
            request_id=plan.request_id,
            intuit_tid=error.intuit_tid,
            error_class=error.error_class.value,
            error_code=error.code,
            message=error.message,
            before=plan.before,
        )

    def letter(  # noqa: PLR0913 - the failure and its context
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
        """Keep a document that cannot be delivered: a dead letter and its audit row."""
        code, message = error.code, error.message
        if isinstance(error, TransientError):
            code = error_catalog.RETRIES_EXHAUSTED
            message = f"gave up after {self._max_attempts} attempts: {error.message}"
        if code == error_catalog.UNRECONCILED:
            outcome = "unreconciled"
        elif error.error_class is ErrorClass.CONFLICT:
            outcome = "conflict"
        else:
            outcome = "dead_letter"
            self.counts.dead_lettered += 1
        records.audit.append(
            AuditEntry(
                realm_id=self.realm_id,
                operation=operation,
                outcome=outcome,
                external_id=document.external_id,
                entity=document.entity,
                qbo_id=qbo_id or (payload_id(plan) if plan else None),
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
                realm_id=self.realm_id,
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

    def success(self, records: Records, outcome: WriteOutcome, *, count: bool = True) -> None:
        """Record an acknowledged write: ledger entry, alias, audit row, reconciliation."""
        plan, document = outcome.plan, outcome.document
        if document is None:
            msg = "a successful outcome carries its document"
            raise ValueError(msg)
        source = plan.document
        qbo_id = str(document.get("Id") or (plan.before or {}).get("Id") or "")
        records.ledger.append(
            LedgerEntry(
                realm_id=self.realm_id,
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
        if self._customers is not None and plan.kind in {WriteKind.CREATE, WriteKind.UPDATE}:
            self._customers.remember(source)
        alias = self._customer_alias(plan)
        if alias is not None:
            records.ledger.append(alias)
        if self._knows_side_effects and plan.kind is WriteKind.CREATE:
            records.side_effects.extend(applied_invoices(source.entity, plan.payload))
        if count:
            name = OUTCOMES[plan.kind]  # the counter of the same name
            setattr(self.counts, name, getattr(self.counts, name) + 1)
            records.audit.append(
                self.audit(
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
            self.settled(records, source, plan.body_hash)
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
        self.letter(records, source, error, operation="reconcile", plan=plan, qbo_id=qbo_id)

    def settled(self, records: Records, document: MappedDocument, body_hash: str) -> None:
        """The document needs nothing more: remember the input line it came from, if any."""
        if self._settled_lines is not None:
            records.settled.extend(self._settled_lines(document, body_hash))

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
            realm_id=self.realm_id,
            external_id=source.external_id.split("#", 1)[0] + "#customer",
            entity="Customer",
            qbo_id=str(customer["value"]),
            sync_token="",
            body_hash=ALIAS_BODY_HASH,
            status=LedgerStatus.ACTIVE,
            source_updated_at=source.source_updated_at,
        )


def applied_invoices(entity: str, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The Invoices a Payment applies to, once per line linking them.

    Applying a Payment changes the Invoice (its Balance and LinkedTxn), and QuickBooks
    increments an object's SyncToken on every change to it: "SyncToken ... is incremented on
    each update" (Intuit, Invoice and Payment entity references, `SyncToken` attribute:
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice).
    The QuickBooks emulator does the same (kconnector_sandbox.qbo.company, `_refresh_balance`).
    Knowing the bump, the next update of the Invoice carries the right SyncToken without a read
    (Intuit meters read calls). Only a Payment's create is counted: an update re-applies in
    ways the API does not document, and a wrong guess costs one 5010 and one read, as before.
    """
    if entity != "Payment":
        return []
    return [
        ("Invoice", str(link["TxnId"]))
        for line in payload.get("Line") or []
        if isinstance(line, Mapping)
        for link in line.get("LinkedTxn") or []
        if isinstance(link, Mapping) and link.get("TxnType") == "Invoice" and link.get("TxnId")
    ]


def payload_id(plan: WritePlan) -> str | None:
    """The QuickBooks Id a write targets (None for a create)."""
    value = plan.payload.get("Id")
    return str(value) if value else None


__all__ = [
    "AuditEntry",
    "DeliveryCounts",
    "OutcomeRecorder",
    "Records",
    "applied_invoices",
    "payload_id",
]
