"""The SCHEMA messages accept exactly what the canonical schemas accept."""

from __future__ import annotations

import copy
from typing import Any, Literal

import pytest
from jsonschema import Draft202012Validator

from kconnector_canonical import singer_schema
from kconnector_canonical.examples import load
from tap_shopify_orders.schemas import canonical_schema

Stream = Literal["orders", "refunds"]


def accepts(schema: dict[str, Any], record: dict[str, Any]) -> bool:
    return Draft202012Validator(schema).is_valid(record)


@pytest.mark.parametrize(
    ("stream", "example"), [("orders", "shopify_order"), ("refunds", "shopify_refund")]
)
def test_emitted_schema_accepts_exactly_what_the_canonical_schema_accepts(
    stream: Stream, example: str
) -> None:
    record = load(example)
    variants = [record]
    for field, value in [("schema_version", 2), ("platform", "magento"), ("currency", 12)]:
        changed = copy.deepcopy(record)
        changed[field] = value
        variants.append(changed)
    canonical, emitted = singer_schema(stream), canonical_schema(stream)
    assert [accepts(canonical, v) for v in variants] == [accepts(emitted, v) for v in variants]
    assert [accepts(emitted, v) for v in variants] == [True, False, False, False]


def test_implied_types_are_spelled_out_for_the_sdk() -> None:
    properties = canonical_schema("orders")["properties"]
    assert properties["schema_version"]["type"] == "integer"
    assert properties["status"]["type"] == "string"
    assert properties["platform"]["type"] == "string"
