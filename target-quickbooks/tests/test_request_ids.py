"""Deterministic request ids within QuickBooks' length limits."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from target_quickbooks.request_ids import (
    MAX_BATCH_REQUEST_ID_LENGTH,
    batch_request_id,
    content_hash,
    write_request_id,
)


@given(
    realm=st.text(min_size=1, max_size=20),
    external_id=st.text(min_size=1, max_size=300),
    operation=st.sampled_from(["create", "update", "void", "delete"]),
)
def test_request_id_fits_the_batch_limit_whatever_the_input(realm, external_id, operation):
    request_id = write_request_id(realm, "Invoice", external_id, operation, "h" * 64)
    assert len(request_id) <= MAX_BATCH_REQUEST_ID_LENGTH


def test_same_write_gets_the_same_request_id_on_every_run():
    first = write_request_id("1", "SalesReceipt", "shop:1#sales_receipt", "create", "abc")
    again = write_request_id("1", "SalesReceipt", "shop:1#sales_receipt", "create", "abc")
    assert first == again
    assert len(first) == 36


def test_request_id_changes_with_each_part_of_the_identity():
    base = ("1", "SalesReceipt", "shop:1#sales_receipt", "create", "abc")
    ids = {write_request_id(*base)}
    for index, other in enumerate(("2", "Invoice", "shop:2#sales_receipt", "update", "abd")):
        changed = list(base)
        changed[index] = other
        ids.add(write_request_id(*changed))
    assert len(ids) == 6


def test_content_hash_ignores_key_order_and_keeps_decimal_precision():
    assert content_hash({"a": 1, "b": Decimal("1.10")}) == content_hash(
        {"b": Decimal("1.10"), "a": 1}
    )
    assert content_hash({"a": Decimal("1.10")}) != content_hash({"a": Decimal("1.1")})


def test_batch_request_id_depends_on_its_items_in_order():
    assert batch_request_id("1", ["a", "b"]) == batch_request_id("1", ["a", "b"])
    assert batch_request_id("1", ["a", "b"]) != batch_request_id("1", ["b", "a"])
    assert len(batch_request_id("1", ["x"] * 30)) == 36


def test_a_refused_write_gets_a_fresh_id_on_its_next_attempt():
    first = write_request_id("1", "Invoice", "shop:1#invoice", "create", "abc")
    assert write_request_id("1", "Invoice", "shop:1#invoice", "create", "abc", refusals=0) == first
    after_refusal = write_request_id("1", "Invoice", "shop:1#invoice", "create", "abc", refusals=1)
    assert after_refusal != first
    assert len(after_refusal) == 36
