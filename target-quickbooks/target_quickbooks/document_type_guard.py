"""The first document type recorded for an order wins (docs/mapping.md, "Document type").

Pure. The mapper decides an order's document type from the order record alone, and that
decision can differ between two reads of the same order: an order read while still unpaid inside
its checkout window and then paid inside it (an Invoice, then a SalesReceipt), or an order paid
by two or more transactions written as a SalesReceipt before rules version 7 and mapped as an
Invoice plus Payments after it. QuickBooks must not hold both: that books the sale twice.

Given an incoming order document (`<order>#sales_receipt`, `<order>#invoice...`,
`<order>#payment:...`) and the ledger's entries of its order (`Ledger.order_documents`),
`decide` returns one of:

- ``WRITE``: nothing recorded contradicts the document; deliver it as it is.
- ``KEEP``: the ledger holds the order's SalesReceipt and the document is an Invoice or a
  Payment of the same order: nothing is written, the receipt stays the order's document.
- ``REFUSE``: as ``KEEP``, but the incoming Invoice's total differs from the receipt's recorded
  total (the order changed in the store; the change cannot reach the receipt), or the ledger
  holds several per-shipment Invoices for an incoming SalesReceipt: a dead letter with guidance.
- ``CONVERT``: the ledger holds the order's Invoice and the document is its SalesReceipt: the
  money is recorded as a Payment `<order>#payment:sales_receipt` applied to the Invoice
  (`payment_from_receipt`), written through the normal path (the same body on every read, so a
  re-run writes nothing).

Voids and deletes pass as they are: a void of a document the ledger does not hold writes nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from target_quickbooks.contract import Expected, Operation
from target_quickbooks.store.ledger import LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from target_quickbooks.contract import MappedDocument
    from target_quickbooks.store.ledger import LedgerEntry

RECEIPT_ROLE = "sales_receipt"
INVOICE_ROLE = "invoice"
PAYMENT_ROLE = "payment:"
# The external_id role of the Payment that stands for a SalesReceipt the ledger did not take.
RECEIPT_PAYMENT_ROLE = PAYMENT_ROLE + RECEIPT_ROLE
_PRIVATE_NOTE_MAX = 4000  # Payment.PrivateNote: max 4000 characters (Intuit Payment reference)
# Header fields a Payment takes over from the receipt as they are (the Payment entity has them:
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment).
_COPIED = (
    "CustomerRef",
    "TxnDate",
    "CurrencyRef",
    "ExchangeRate",
    "PaymentMethodRef",
    "DepositToAccountRef",
    "PaymentRefNum",
)
# The mapper's critical fields of a Payment (map_quickbooks.contract.CRITICAL_FIELDS).
_PAYMENT_CRITICAL = (
    "CurrencyRef",
    "CustomerRef",
    "DepositToAccountRef",
    "ExchangeRate",
    "Line",
    "TotalAmt",
    "TxnDate",
)
_REFUSE_GUIDANCE_TOTAL = (
    "The order was written as a SalesReceipt (map-quickbooks rules version 6 or earlier, or "
    "its first read) and the receipt stays its document, so the store's change does not reach "
    "QuickBooks. Correct the SalesReceipt in QuickBooks by hand to the order's new figures; "
    "this dead letter then records the change. A retry writes nothing while the totals differ."
)
_REFUSE_GUIDANCE_SHIPMENTS = (
    "The order's per-shipment Invoices are in QuickBooks and the store now reads it as paid at "
    "checkout (a SalesReceipt). Record the payment in QuickBooks by hand as a Payment applied "
    "to those Invoices; this dead letter then records it. A retry writes nothing."
)


class Action(StrEnum):
    """What the target does with an incoming order document."""

    WRITE = "write"
    KEEP = "kept_document_type"
    REFUSE = "refused_document_type"
    CONVERT = "converted_document_type"


@dataclass(frozen=True, slots=True)
class Decision:
    """The guard's verdict on one document, with what decided it."""

    action: Action
    document: MappedDocument
    message: str = ""
    field: str | None = None
    guidance: str = ""


def split(external_id: str) -> tuple[str, str] | None:
    """(order id, role) of an order document's external_id, else None."""
    order, sep, role = external_id.partition("#")
    if not sep or not order:
        return None
    if role == RECEIPT_ROLE or _is_invoice(role) or role.startswith(PAYMENT_ROLE):
        return order, role
    return None


def _is_invoice(role: str) -> bool:
    return role == INVOICE_ROLE or role.startswith(INVOICE_ROLE + ":")


def order_ids(documents: Iterable[MappedDocument]) -> set[str]:
    """The orders of the upserted order documents among `documents`."""
    found = set()
    for document in documents:
        parts = split(document.external_id)
        if parts is not None and document.operation is Operation.UPSERT:
            found.add(parts[0])
    return found


def _money(value: Decimal) -> str:
    return format(value, "f")


def _private_note(order: str, receipt_body: Mapping[str, Any]) -> str:
    """Like the mapper's Payments: `K-Connector <order> (<name>) transaction <id>`."""
    note = str(receipt_body.get("PrivateNote") or "")
    head = note.split(". ", 1)[0] if note.startswith("K-Connector ") else f"K-Connector {order}"
    reference = receipt_body.get("PaymentRefNum")
    tail = f" transaction {reference}" if reference else " paid at checkout"
    return (head + tail)[:_PRIVATE_NOTE_MAX]


def payment_body(receipt_body: Mapping[str, Any], total: Decimal, invoice: str) -> dict[str, Any]:
    """The body of the Payment that records a SalesReceipt's money against the order's Invoice.

    Args:
        receipt_body: the SalesReceipt's mapped body (references still symbolic).
        total: the receipt's total (`expected.total`).
        invoice: the external_id of the Invoice the payment is applied to.
    """
    order = invoice.split("#", 1)[0]
    body = {key: receipt_body[key] for key in _COPIED if key in receipt_body}
    body["TotalAmt"] = _money(total)
    body["PrivateNote"] = _private_note(order, receipt_body)
    body["Line"] = [
        {
            "Amount": _money(total),
            "LinkedTxn": [
                {
                    "TxnId": {"by": "external_id", "value": invoice, "entity": "Invoice"},
                    "TxnType": "Invoice",
                }
            ],
        }
    ]
    return body


def payment_from_receipt(receipt: MappedDocument, invoice: str) -> MappedDocument:
    """The receipt as a Payment `<order>#payment:sales_receipt` applied to `invoice`.

    The record stays the receipt's (a dead letter retried converts it again).
    """
    order = invoice.split("#", 1)[0]
    links = {"order": order, "applies_to": invoice}
    if "customer" in receipt.links:
        links["customer"] = receipt.links["customer"]
    body = payment_body(receipt.body, receipt.expected.total, invoice)
    return dataclasses.replace(
        receipt,
        stream="payments",
        external_id=f"{order}#{RECEIPT_PAYMENT_ROLE}",
        entity="Payment",
        body=MappingProxyType(body),
        expected=Expected(receipt.expected.currency, receipt.expected.total, Decimal(0)),
        critical_fields=tuple(f for f in _PAYMENT_CRITICAL if f in body),
        links=MappingProxyType(links),
    )


def decide(document: MappedDocument, entries: Iterable[LedgerEntry]) -> Decision:
    """What to do with an incoming order document, given its order's ledger entries."""
    parts = split(document.external_id)
    if parts is None or document.operation is not Operation.UPSERT:
        return Decision(Action.WRITE, document)
    order, role = parts
    active = [
        (entry, found[1])
        for entry in entries
        if entry.status is LedgerStatus.ACTIVE
        and (found := split(entry.external_id)) is not None
        and found[0] == order
    ]
    receipts = [entry for entry, kind in active if kind == RECEIPT_ROLE]
    invoices = sorted(entry.external_id for entry, kind in active if _is_invoice(kind))
    if receipts and not invoices and role != RECEIPT_ROLE:
        return _keep(document, order, role, receipts[0])
    if role == RECEIPT_ROLE and invoices and not receipts:
        if invoices != [f"{order}#{INVOICE_ROLE}"]:
            return Decision(
                Action.REFUSE,
                document,
                message=(
                    f"order {order} is in QuickBooks as {len(invoices)} Invoices "
                    f"({', '.join(invoices)}); its SalesReceipt is not written and its payment "
                    "cannot be applied to one Invoice"
                ),
                field="document_type",
                guidance=_REFUSE_GUIDANCE_SHIPMENTS,
            )
        converted = payment_from_receipt(document, invoices[0])
        return Decision(
            Action.CONVERT,
            converted,
            message=(
                f"order {order} was recorded first as an Invoice; its SalesReceipt is written as "
                f"the Payment {converted.external_id} applied to {invoices[0]}"
            ),
        )
    return Decision(Action.WRITE, document)


def _keep(document: MappedDocument, order: str, role: str, receipt: LedgerEntry) -> Decision:
    recorded = receipt.expected_total
    total = document.expected.total
    if _is_invoice(role) and recorded is not None and total != recorded:
        currency = document.expected.currency
        return Decision(
            Action.REFUSE,
            document,
            message=(
                f"order {order} was recorded first as a SalesReceipt ({receipt.external_id}, "
                f"total {_money(recorded)} {currency}); the {document.entity} "
                f"{document.external_id} is not written, and its total {_money(total)} "
                f"{currency} differs from the receipt's"
            ),
            field="expected.total",
            guidance=_REFUSE_GUIDANCE_TOTAL,
        )
    return Decision(
        Action.KEEP,
        document,
        message=(
            f"order {order} was recorded first as a SalesReceipt ({receipt.external_id}); the "
            f"{document.entity} {document.external_id} is not written"
        ),
    )


def wave_decisions(
    documents: Iterable[MappedDocument], order_entries: Iterable[LedgerEntry]
) -> list[Decision]:
    """A decision per document, in order (`order_entries`: `Ledger.order_documents`)."""
    by_order: dict[str, list[LedgerEntry]] = {}
    for entry in order_entries:
        by_order.setdefault(entry.external_id.split("#", 1)[0], []).append(entry)
    return [
        decide(document, by_order.get(document.external_id.split("#", 1)[0], []))
        for document in documents
    ]
