import copy
from typing import Any, Literal

import pytest
from jsonschema import Draft202012Validator

from kconnector_canonical import CURRENT_SCHEMA_VERSION, singer_schema
from kconnector_canonical.examples import load
from tap_woocommerce_orders.streams import OrdersStream, RefundsStream

Stream = Literal["orders", "refunds"]
CASES: list[tuple[Stream, str, dict[str, Any]]] = [
    ("orders", "woocommerce_order", OrdersStream.schema),
    ("refunds", "woocommerce_refund", RefundsStream.schema),
]


def accepts(schema: dict[str, Any], record: dict[str, Any]) -> bool:
    return Draft202012Validator(schema).is_valid(record)


@pytest.mark.parametrize(("stream", "example", "emitted"), CASES)
def test_schema_message_is_the_canonical_schema_and_enforces_its_vocabularies(
    stream: Stream, example: str, emitted: dict[str, Any]
) -> None:
    assert emitted == singer_schema(stream)
    record = load(example)
    variants: list[dict[str, Any]] = [record]
    wrong_version = CURRENT_SCHEMA_VERSION + 1
    for field, value in [
        ("schema_version", wrong_version),
        ("platform", "magento"),
        ("currency", 12),
    ]:
        changed = copy.deepcopy(record)
        changed[field] = value
        variants.append(changed)
    assert [accepts(emitted, v) for v in variants] == [True, False, False, False]
