"""The output contract with target-quickbooks: streams, record shape, critical fields.

One stream per QuickBooks entity (schemas/document.json) plus `dead_letters`
(schemas/dead_letter.json). See docs/mapping.md, "Output contract".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from map_quickbooks.amounts import money_text

if TYPE_CHECKING:
    from decimal import Decimal

    from map_quickbooks.source_facts import PayoutFacts, SourceFacts
    from map_quickbooks.summaries import SummaryFacts

DocumentType = Literal[
    "Customer", "SalesReceipt", "Invoice", "Payment", "RefundReceipt", "CreditMemo", "Deposit"
]
Operation = Literal["upsert", "void", "delete"]

STREAM_OF: dict[DocumentType, str] = {
    "Customer": "customers",
    "SalesReceipt": "sales_receipts",
    "Invoice": "invoices",
    "Payment": "payments",
    "RefundReceipt": "refund_receipts",
    "CreditMemo": "credit_memos",
    "Deposit": "deposits",
}
DEAD_LETTERS = "dead_letters"
# Emission order inside one input record: a document's dependencies come first.
DOCUMENT_STREAMS: tuple[str, ...] = tuple(STREAM_OF.values())
KEY_PROPERTIES: tuple[str, ...] = ("external_id",)

# Top-level body fields a conflict must never overwrite silently (the target's review queue);
# contact fields (notes, email, phone, addresses) are merged last-write-wins instead.
CRITICAL_FIELDS: dict[DocumentType, tuple[str, ...]] = {
    "Customer": ("CurrencyRef", "DisplayName"),
    "SalesReceipt": (
        "CurrencyRef",
        "CustomerRef",
        "DepositToAccountRef",
        "ExchangeRate",
        "GlobalTaxCalculation",
        "Line",
        "TotalAmt",
        "TxnDate",
        "TxnTaxDetail",
    ),
    "Invoice": (
        "CurrencyRef",
        "CustomerRef",
        "ExchangeRate",
        "GlobalTaxCalculation",
        "Line",
        "TotalAmt",
        "TxnDate",
        "TxnTaxDetail",
    ),
    "Payment": (
        "CurrencyRef",
        "CustomerRef",
        "DepositToAccountRef",
        "ExchangeRate",
        "Line",
        "TotalAmt",
        "TxnDate",
    ),
    "RefundReceipt": (
        "CurrencyRef",
        "CustomerRef",
        "DepositToAccountRef",
        "ExchangeRate",
        "GlobalTaxCalculation",
        "Line",
        "TotalAmt",
        "TxnDate",
        "TxnTaxDetail",
    ),
    "CreditMemo": (
        "CurrencyRef",
        "CustomerRef",
        "ExchangeRate",
        "GlobalTaxCalculation",
        "Line",
        "TotalAmt",
        "TxnDate",
        "TxnTaxDetail",
    ),
    # A Deposit is the bank line a bookkeeper matches against the statement: its account, lines
    # (what it clears from Undeposited Funds, the fees) and total are all critical.
    "Deposit": (
        "CurrencyRef",
        "DepositToAccountRef",
        "ExchangeRate",
        "Line",
        "TotalAmt",
        "TxnDate",
    ),
}


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """One record for one output stream."""

    stream: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Expected:
    """What the document must reconcile to in QuickBooks."""

    currency: str
    total: Decimal
    tax: Decimal

    def to_record(self) -> dict[str, str]:
        """The `expected` object (decimal strings)."""
        return {
            "currency": self.currency,
            "total": money_text(self.total, self.currency),
            "tax": money_text(self.tax, self.currency),
        }


@dataclass(frozen=True, slots=True)
class Source:
    """Where a document came from, with the store's own figures (the `source` block)."""

    source_id: str
    updated_at: str
    facts: SourceFacts | PayoutFacts | SummaryFacts | None = None


def document(  # noqa: PLR0913 - the contract's fields, named
    document_type: DocumentType,
    *,
    external_id: str,
    source: Source,
    body: dict[str, Any],
    expected: Expected,
    links: dict[str, str],
    mapping_version: str,
    operation: Operation = "upsert",
) -> OutputRecord:
    """A document record for its entity's stream."""
    critical = [f for f in CRITICAL_FIELDS[document_type] if f in body or f == "TotalAmt"]
    return OutputRecord(
        STREAM_OF[document_type],
        {
            "external_id": external_id,
            "source_id": source.source_id,
            "source_updated_at": source.updated_at,
            "document_type": document_type,
            "operation": operation,
            "body": body,
            "expected": expected.to_record(),
            "critical_fields": critical,
            "links": dict(sorted(links.items())),
            "mapping_version": mapping_version,
        }
        | _source_block(document_type, source),
    )


def _source_block(document_type: DocumentType, source: Source) -> dict[str, Any]:
    # A customer is shared by many orders: only transactions carry their record's figures.
    if source.facts is None or document_type == "Customer":
        return {}
    return {"source": source.facts.to_record()}


def dead_letter(  # noqa: PLR0913 - the contract's fields, named
    *,
    external_id: str,
    source_id: str | None,
    source_stream: str,
    source_updated_at: str | None,
    error_code: str,
    field: str | None,
    message: str,
    guidance: str,
    record: dict[str, Any],
) -> OutputRecord:
    """A `dead_letters` record: the source record with why it could not be mapped."""
    return OutputRecord(
        DEAD_LETTERS,
        {
            "external_id": external_id,
            "source_id": source_id,
            "source_stream": source_stream,
            "source_updated_at": source_updated_at,
            "error_class": "data",
            "error_code": error_code,
            "field": field,
            "message": message,
            "guidance": guidance,
            "record": record,
        },
    )


@cache
def _schema_text(name: str) -> str:
    return resources.files("map_quickbooks").joinpath("schemas", name).read_text(encoding="utf-8")


def document_schema() -> dict[str, Any]:
    """JSON Schema of every document stream (a fresh copy)."""
    schema: dict[str, Any] = json.loads(_schema_text("document.json"))
    return schema


def dead_letter_schema() -> dict[str, Any]:
    """JSON Schema of the dead_letters stream (a fresh copy)."""
    schema: dict[str, Any] = json.loads(_schema_text("dead_letter.json"))
    return schema
