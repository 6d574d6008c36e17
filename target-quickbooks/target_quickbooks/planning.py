"""What to do with each mapped document (pure functions, no I/O).

The ledger decides: unchanged body hash -> nothing; known document -> update with its Id and
SyncToken; unknown -> create; void/delete need a known document. Each plan carries the
deterministic ``requestid`` of its write and the content version written into the marker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from target_quickbooks import payloads
from target_quickbooks.contract import Operation
from target_quickbooks.references import external_id_dependencies, required_external_ids
from target_quickbooks.request_ids import content_hash, write_request_id
from target_quickbooks.store.ledger import LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Iterable

    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.store.ledger import LedgerEntry


class WriteKind(StrEnum):
    """The QuickBooks operation a plan performs."""

    CREATE = "create"
    UPDATE = "update"
    VOID = "void"
    DELETE = "delete"


LEDGER_STATUS = {
    WriteKind.CREATE: LedgerStatus.ACTIVE,
    WriteKind.UPDATE: LedgerStatus.ACTIVE,
    WriteKind.VOID: LedgerStatus.VOIDED,
    WriteKind.DELETE: LedgerStatus.DELETED,
}
OUTCOMES = {
    WriteKind.CREATE: "created",
    WriteKind.UPDATE: "updated",
    WriteKind.VOID: "voided",
    WriteKind.DELETE: "deleted",
}


@dataclass(frozen=True)
class Existing:
    """The document's copy in QuickBooks as far as we know it."""

    qbo_id: str
    sync_token: str
    snapshot: dict[str, Any] | None


@dataclass(frozen=True)
class WritePlan:
    """One write, with everything needed to repeat it identically."""

    realm_id: str
    document: MappedDocument
    kind: WriteKind
    payload: dict[str, Any]
    request_id: str
    body_hash: str
    resolved_body: dict[str, Any] | None
    before: dict[str, Any] | None
    attempt: int = 0
    refusals: int = 0

    @property
    def version(self) -> str:
        """The content version written into the marker."""
        return self.body_hash[: payloads.VERSION_LENGTH]


def body_hash(document: MappedDocument) -> str:
    """Hash of what the mapper asked for (operation + body, references still symbolic)."""
    return content_hash({"operation": document.operation.value, "body": dict(document.body)})


# A refund's customer is the alias ``<order id>#customer`` (docs/mapping.md, "Customers"). The
# alias is never a queued document: the ledger records it when one of the order's own documents
# is written. These are the order documents that carry the customer and so record the alias.
CUSTOMER_ALIAS_SUFFIX = "#customer"
ALIAS_WRITERS = ("#sales_receipt", "#invoice")


def alias_writers(external_ids: set[str]) -> set[str]:
    """The order documents whose delivery records each ``<order id>#customer`` alias."""
    return {
        external_id.removesuffix(CUSTOMER_ALIAS_SUFFIX) + role
        for external_id in external_ids
        if external_id.endswith(CUSTOMER_ALIAS_SUFFIX)
        for role in ALIAS_WRITERS
    }


def dependencies(document: MappedDocument, queued: Iterable[str] = ()) -> set[str]:
    """external_ids to write before this document when they are in the same run.

    A reference to an order's customer alias depends on the order's SalesReceipt or Invoice:
    a refund queued with its order waits for it instead of failing in the same wave. With
    `queued` (the documents waiting in this run), it also waits for the order's per-shipment
    invoices (`<order id>#invoice:<fulfillment id>`, invoice_on `fulfillment`).
    """
    return with_queued_invoices(static_dependencies(document), queued, document.external_id)


def static_dependencies(document: MappedDocument) -> frozenset[str]:
    """`dependencies` without the queued per-shipment invoices (computed once per document)."""
    needed = set(document.links.values()) | external_id_dependencies(dict(document.body))
    needed |= alias_writers(needed)
    needed.discard(document.external_id)
    return frozenset(needed)


def with_queued_invoices(
    static: frozenset[str], queued: Iterable[str], external_id: str
) -> set[str]:
    """`static_dependencies` plus the queued per-shipment invoices of the aliased orders."""
    needed = set(static)
    aliases = {
        n.removesuffix(CUSTOMER_ALIAS_SUFFIX) for n in needed if n.endswith(CUSTOMER_ALIAS_SUFFIX)
    }
    if aliases:
        prefixes = tuple(f"{order}#invoice:" for order in aliases)
        needed |= {e for e in queued if e.startswith(prefixes) and e != external_id}
    return needed


def required_dependencies(document: MappedDocument) -> set[str]:
    """external_ids that must be in the ledger before this document can be written at all.

    A reference with a fallback, a default or a create policy can be resolved without the
    document it names; a bare ``by: external_id`` reference (e.g. a refund's
    ``<order id>#customer`` alias) cannot.
    """
    needed = required_external_ids(dict(document.body))
    needed.discard(document.external_id)
    return needed


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def skip_reason(document: MappedDocument, digest: str, entry: LedgerEntry | None) -> str | None:
    """Why nothing needs to be written ("unchanged", "skipped_older"), or None."""
    if entry is None:
        return None
    return ledger_verdict(
        document.operation,
        document.source_updated_at,
        digest,
        entry_source_updated_at=entry.source_updated_at,
        entry_body_hash=entry.body_hash,
        entry_status=entry.status,
    )


def ledger_verdict(  # noqa: PLR0913 - both sides of the comparison
    operation: Operation,
    source_updated_at: str | None,
    digest: str,
    *,
    entry_source_updated_at: str | None,
    entry_body_hash: str,
    entry_status: LedgerStatus,
) -> str | None:
    """`skip_reason` from the facts alone (the input's fast path has no `MappedDocument`)."""
    ours, theirs = _parse_time(source_updated_at), _parse_time(entry_source_updated_at)
    if ours is not None and theirs is not None and ours < theirs:
        return "skipped_older"
    if entry_body_hash == digest:
        return "unchanged"
    if operation is Operation.VOID and entry_status is not LedgerStatus.ACTIVE:
        return "unchanged"
    if operation is Operation.DELETE and entry_status is LedgerStatus.DELETED:
        return "unchanged"
    return None


def existing_from(entry: LedgerEntry | None, adopted: dict[str, Any] | None) -> Existing | None:
    """The known QuickBooks copy: the ledger's, else one found by its marker."""
    if entry is not None and entry.status is not LedgerStatus.DELETED:
        return Existing(entry.qbo_id, entry.sync_token, entry.snapshot)
    if adopted is not None:
        return Existing(str(adopted["Id"]), str(adopted.get("SyncToken", "0")), adopted)
    return None


def _plan(  # noqa: PLR0913 - a plan's fields
    realm_id: str,
    document: MappedDocument,
    kind: WriteKind,
    payload: dict[str, Any],
    *,
    digest: str,
    body: dict[str, Any] | None,
    before: dict[str, Any] | None,
    attempt: int = 0,
    refusals: int = 0,
) -> WritePlan:
    request_id = write_request_id(
        realm_id,
        document.entity,
        document.external_id,
        kind.value,
        content_hash(payload),
        refusals=refusals,
    )
    return WritePlan(
        realm_id, document, kind, payload, request_id, digest, body, before, attempt, refusals
    )


def plan_write(  # noqa: PLR0913 - the document and everything known about it
    realm_id: str,
    document: MappedDocument,
    digest: str,
    existing: Existing | None,
    body: dict[str, Any] | None,
    *,
    refusals: int = 0,
) -> WritePlan | None:
    """The write for a document, or None when a void/delete finds nothing to act on.

    `refusals` (see `request_ids.write_request_id`) makes a retry after a definitive refusal
    use a fresh requestid.
    """
    entity, external_id = document.entity, document.external_id
    version = digest[: payloads.VERSION_LENGTH]
    if document.operation is Operation.UPSERT:
        if body is None:
            msg = "an upsert needs its resolved body"
            raise ValueError(msg)
        if existing is None:
            payload = payloads.create_payload(entity, body, external_id, version=version)
            return _plan(
                realm_id,
                document,
                WriteKind.CREATE,
                payload,
                digest=digest,
                body=body,
                before=None,
                refusals=refusals,
            )
        body = keep_unique_name(document, body, existing.snapshot)
        payload = payloads.update_payload(
            entity,
            body,
            external_id,
            qbo_id=existing.qbo_id,
            sync_token=existing.sync_token,
            version=version,
        )
        return _plan(
            realm_id,
            document,
            WriteKind.UPDATE,
            payload,
            digest=digest,
            body=body,
            before=existing.snapshot,
            refusals=refusals,
        )
    if existing is None:
        return None
    kind = WriteKind.VOID if document.operation is Operation.VOID else WriteKind.DELETE
    payload = payloads.reference_payload(existing.qbo_id, existing.sync_token)
    return _plan(
        realm_id,
        document,
        kind,
        payload,
        digest=digest,
        body=None,
        before=existing.snapshot,
        refusals=refusals,
    )


def with_sync_token(plan: WritePlan, sync_token: str) -> WritePlan:
    """The same write against a newer SyncToken (a new requestid, since the payload changed)."""
    payload = {**plan.payload, "SyncToken": sync_token}
    return _plan(
        plan.realm_id,
        plan.document,
        plan.kind,
        payload,
        digest=plan.body_hash,
        body=plan.resolved_body,
        before=plan.before,
        attempt=plan.attempt + 1,
        refusals=plan.refusals,
    )


def under_unique_name(plan: WritePlan) -> WritePlan | None:
    """The write again under the deterministic unique name, or None if it has no name.

    The answer to 6240 (the name is taken, e.g. by a vendor or an employee, which a customer
    look-up cannot see): a new customer takes its own ``(kc-xxxxxx)`` name, and nobody else's
    name changes (docs/mapping.md, "Two people, one name").
    """
    if plan.resolved_body is None or plan.kind not in {WriteKind.CREATE, WriteKind.UPDATE}:
        return None
    document = plan.document
    body = payloads.rename(document.entity, plan.resolved_body, rename_key(document))
    if body is None or body == plan.resolved_body:
        return None  # no name, or already its unique name: the same write would fail again
    if plan.kind is WriteKind.CREATE:
        payload = payloads.create_payload(
            document.entity, body, document.external_id, version=plan.version
        )
    else:
        payload = payloads.update_payload(
            document.entity,
            body,
            document.external_id,
            qbo_id=str(plan.payload["Id"]),
            sync_token=str(plan.payload["SyncToken"]),
            version=plan.version,
        )
    return _plan(
        plan.realm_id,
        document,
        plan.kind,
        payload,
        digest=plan.body_hash,
        body=body,
        before=plan.before,
        attempt=plan.attempt + 1,
        refusals=plan.refusals,
    )


def rename_key(document: MappedDocument) -> str:
    """The key of a document's deterministic unique-name suffix."""
    return payloads.suffix_key(document.external_id)


def keep_unique_name(
    document: MappedDocument, body: dict[str, Any], snapshot: dict[str, Any] | None
) -> dict[str, Any]:
    """Keep the name QuickBooks holds for a customer it has; the suffixed name for others.

    A Customer's DisplayName names a new customer only (docs/mapping.md, "One person, one
    customer"): an update keeps QuickBooks' DisplayName, so a customer adopted by its e-mail
    keeps the bookkeeper's name, one person fed by two stores is not renamed back and forth,
    and a customer created as ``"Cool Cars (kc-1a2b3c)"`` is not refused (6240) on every later
    update. An adopted customer (no K-Connector marker yet) also keeps its Notes, ours after.
    """
    if document.entity == "Customer" and snapshot is not None:
        kept = dict(body)
        if snapshot.get("DisplayName"):
            kept["DisplayName"] = snapshot["DisplayName"]
        theirs = str(snapshot.get("Notes") or "").strip()
        if theirs and not payloads.has_marker("Customer", snapshot, document.external_id):
            kept["Notes"] = f"{theirs}\n{body.get('Notes') or ''}".strip()
        return kept
    renamed_body = payloads.rename(document.entity, body, rename_key(document))
    if renamed_body is None or snapshot is None:
        return body
    field, _ = payloads.UNIQUE_NAME_FIELDS[document.entity]
    if snapshot.get(field) == renamed_body[field]:
        return renamed_body
    return body
