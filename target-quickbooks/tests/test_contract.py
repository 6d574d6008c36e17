"""Input records are checked against the target's own copy of the mapper's contract."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from target_quickbooks import contract
from target_quickbooks.contract import (
    ContractViolation,
    MappedDocument,
    Operation,
    check_dead_letter,
    parse_document,
)

MAPPER_SCHEMAS = Path(__file__).parents[2] / "transforms" / "map_quickbooks" / "schemas"
OUR_SCHEMAS = Path(__file__).parents[1] / "target_quickbooks" / "schemas"


def test_valid_record_becomes_a_typed_document(mapped):
    parsed = parse_document("sales_receipts", mapped.receipt(1, customer=2))
    assert isinstance(parsed, MappedDocument)
    assert parsed.entity == "SalesReceipt"
    assert parsed.operation is Operation.UPSERT
    assert parsed.expected.total == Decimal("43.28")
    assert parsed.links == {"customer": "customer:shopify:demo:2"}


def test_float_amounts_break_the_contract(mapped):
    record = mapped.receipt(1)
    record["expected"]["total"] = 43.28
    parsed = parse_document("sales_receipts", record)
    assert isinstance(parsed, ContractViolation)
    assert parsed.field == "expected.total"


def test_document_on_the_wrong_stream_is_refused(mapped):
    parsed = parse_document("invoices", mapped.receipt(1))
    assert isinstance(parsed, ContractViolation)
    assert parsed.field == "document_type"


def test_malformed_reference_is_refused(mapped):
    record = mapped.receipt(1)
    record["body"]["CustomerRef"] = {"by": "phone", "value": "555"}
    parsed = parse_document("sales_receipts", record)
    assert isinstance(parsed, ContractViolation)
    assert parsed.field == "body.CustomerRef"


def test_dead_letter_contract():
    assert check_dead_letter({"external_id": "x"}) is not None


@pytest.mark.parametrize("name", ["document.json", "dead_letter.json"])
def test_our_copy_of_the_contract_matches_the_mapper(name):
    if not (MAPPER_SCHEMAS / name).exists():
        pytest.skip("map-quickbooks is not in this checkout")
    ours = json.loads((OUR_SCHEMAS / name).read_text("utf-8"))
    assert ours == json.loads((MAPPER_SCHEMAS / name).read_text("utf-8"))


def test_the_compiled_contract_check_agrees_with_jsonschema_on_every_mutation(mapped, mutations):
    # `_violation` trusts the compiled check's "valid" and asks jsonschema only about the
    # others: they must agree, or a record breaking the contract would go through.
    outcomes = {True: 0, False: 0}
    for record in (mapped.receipt(1, customer=2), mapped.customer(3)):
        for path, mutated in mutations(record):
            schema = contract._validator("document.json")
            expected = not any(True for _ in schema.iter_errors(mutated))
            fast = contract._fast_validator("document.json").is_valid(mutated)
            assert fast is expected, path
            outcomes[fast] += 1
    assert outcomes[True] > 5
    assert outcomes[False] > 50
