"""The input contract: map-quickbooks' document and dead-letter records, checked and typed.

The target keeps its own copy of the mapper's JSON Schemas (`schemas/`), validates each record
against it, and turns a valid one into a frozen `MappedDocument`. Amounts stay decimal strings in
`body` until the HTTP boundary (`payloads`); the expected totals become `Decimal` here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import jsonschema_rs
from jsonschema import Draft202012Validator

if TYPE_CHECKING:
    from collections.abc import Mapping

DOCUMENT_STREAMS: Mapping[str, str] = MappingProxyType(
    {
        "customers": "Customer",
        "sales_receipts": "SalesReceipt",
        "invoices": "Invoice",
        "payments": "Payment",
        "refund_receipts": "RefundReceipt",
        "credit_memos": "CreditMemo",
        "deposits": "Deposit",
    }
)
DEAD_LETTER_STREAM = "dead_letters"
REF_KINDS = frozenset({"id", "name", "sku", "external_id", "email"})


class Operation(StrEnum):
    """What the mapper asks for."""

    UPSERT = "upsert"
    VOID = "void"
    DELETE = "delete"


@dataclass(frozen=True)
class ContractViolation:
    """Why a record does not meet the contract: the field path and a message."""

    field: str | None
    message: str


@dataclass(frozen=True)
class Expected:
    """The totals QuickBooks must end with."""

    currency: str
    total: Decimal
    tax: Decimal


@dataclass(frozen=True)
class MappedDocument:
    """One document to deliver, as the mapper produced it."""

    stream: str
    external_id: str
    source_id: str
    source_updated_at: str
    entity: str
    operation: Operation
    body: Mapping[str, Any]
    expected: Expected
    critical_fields: tuple[str, ...]
    links: Mapping[str, str]
    mapping_version: str
    record: Mapping[str, Any]
    # The store's own figures of the order or refund (the record's `source` block), verbatim;
    # None on customers and on records of a mapper older than the block.
    source_facts: Mapping[str, Any] | None = None


@cache
def _validator(name: str) -> Draft202012Validator:
    text = resources.files("target_quickbooks").joinpath("schemas", name).read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def schema_of_file(name: str) -> dict[str, Any]:
    """One of the target's schema files, as JSON."""
    schema = _validator(name).schema
    return dict(schema) if isinstance(schema, dict) else {}


def schema_of(stream: str) -> dict[str, Any]:
    """The JSON Schema the target expects on a stream."""
    return schema_of_file("dead_letter.json" if stream == DEAD_LETTER_STREAM else "document.json")


@cache
def _fast_validator(name: str) -> jsonschema_rs.Draft202012Validator:
    # The same schema compiled by jsonschema-rs: the yes/no answer
    # for the common, valid record in about a hundredth of the time; formats not asserted, as by
    # `jsonschema` without a format checker. jsonschema names the problem of an invalid one.
    return jsonschema_rs.Draft202012Validator(schema_of_file(name), validate_formats=False)


def _violation(name: str, record: Mapping[str, Any]) -> ContractViolation | None:
    if _fast_validator(name).is_valid(record if isinstance(record, dict) else dict(record)):
        return None
    errors = sorted(_validator(name).iter_errors(dict(record)), key=lambda e: list(e.path))
    if not errors:
        return None
    first = errors[0]
    field = ".".join(str(part) for part in first.absolute_path) or None
    return ContractViolation(field, f"{first.validator} check failed at {field or 'record'}")


def check_dead_letter(record: Mapping[str, Any]) -> ContractViolation | None:
    """Why a dead-letter record breaks the contract, or None."""
    return _violation("dead_letter.json", record)


def _ref_violation(value: object, path: str) -> ContractViolation | None:
    if isinstance(value, dict):
        if "by" in value:
            if value.get("by") not in REF_KINDS or not isinstance(value.get("value"), str):
                return ContractViolation(path, f"symbolic reference at {path} is malformed")
            if value.get("on_missing", "error") not in {"error", "create", "default"}:
                return ContractViolation(path, f"unknown on_missing at {path}")
        for key, item in value.items():
            found = _ref_violation(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _ref_violation(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def parse_document(stream: str, record: Mapping[str, Any]) -> MappedDocument | ContractViolation:
    """A typed document, or why the record breaks the contract."""
    violation = _violation("document.json", record)
    if violation is not None:
        return violation
    entity = str(record["document_type"])
    if DOCUMENT_STREAMS.get(stream) != entity:
        return ContractViolation("document_type", f"{entity} does not belong on stream {stream}")
    violation = _ref_violation(record["body"], "body")
    if violation is not None:
        return violation
    expected = record["expected"]
    return MappedDocument(
        stream=stream,
        external_id=str(record["external_id"]),
        source_id=str(record["source_id"]),
        source_updated_at=str(record["source_updated_at"]),
        entity=entity,
        operation=Operation(record["operation"]),
        body=MappingProxyType(dict(record["body"])),
        expected=Expected(
            currency=str(expected["currency"]),
            total=Decimal(str(expected["total"])),
            tax=Decimal(str(expected["tax"])),
        ),
        critical_fields=tuple(str(f) for f in record["critical_fields"]),
        links=MappingProxyType({str(k): str(v) for k, v in record["links"].items()}),
        mapping_version=str(record["mapping_version"]),
        record=MappingProxyType(dict(record)),
        source_facts=_source_facts(record),
    )


def source_facts_of(document: MappedDocument) -> dict[str, Any] | None:
    """The document's `source` block as a plain dict (for the ledger's JSON column)."""
    return None if document.source_facts is None else dict(document.source_facts)


def _source_facts(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    facts = record.get("source")
    return MappingProxyType(dict(facts)) if isinstance(facts, dict) else None
