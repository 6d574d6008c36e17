"""What each document needs, decided from the ledger (pure)."""

from __future__ import annotations

import pytest

from target_quickbooks.contract import MappedDocument, parse_document
from target_quickbooks.planning import (
    Existing,
    WriteKind,
    body_hash,
    dependencies,
    plan_write,
    skip_reason,
    under_unique_name,
    with_sync_token,
)
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus


@pytest.fixture
def receipt(mapped) -> MappedDocument:
    parsed = parse_document("sales_receipts", mapped.receipt(1, customer=2))
    assert isinstance(parsed, MappedDocument)
    return parsed


def entry(digest: str, **overrides) -> LedgerEntry:
    values = {
        "realm_id": "r",
        "external_id": "shopify:demo:1#sales_receipt",
        "entity": "SalesReceipt",
        "qbo_id": "146",
        "sync_token": "2",
        "body_hash": digest,
        "status": LedgerStatus.ACTIVE,
        "source_updated_at": "2026-11-01T10:00:00Z",
        **overrides,
    }
    return LedgerEntry(**values)


def test_unchanged_body_needs_nothing(receipt):
    digest = body_hash(receipt)
    assert skip_reason(receipt, digest, entry(digest)) == "unchanged"
    assert skip_reason(receipt, digest, entry("other")) is None
    assert skip_reason(receipt, digest, None) is None


def test_an_older_version_never_overwrites_a_newer_one(receipt):
    newer = entry("other", source_updated_at="2026-11-05T00:00:00+00:00")
    assert skip_reason(receipt, body_hash(receipt), newer) == "skipped_older"


def test_known_document_becomes_a_full_update_with_the_ledger_ids(receipt):
    plan = plan_write("r", receipt, body_hash(receipt), Existing("146", "2", None), {"Line": []})
    assert plan is not None
    assert plan.kind is WriteKind.UPDATE
    assert (plan.payload["Id"], plan.payload["SyncToken"], plan.payload["sparse"]) == (
        "146",
        "2",
        False,
    )
    assert f"v{plan.version}]" in plan.payload["PrivateNote"]


def test_unknown_document_becomes_a_create(receipt):
    plan = plan_write("r", receipt, body_hash(receipt), None, {"Line": []})
    assert plan is not None
    assert plan.kind is WriteKind.CREATE
    assert "Id" not in plan.payload


def test_void_of_an_unknown_document_needs_nothing(mapped):
    record = mapped.receipt(1)
    record["operation"] = "void"
    parsed = parse_document("sales_receipts", record)
    assert isinstance(parsed, MappedDocument)
    assert plan_write("r", parsed, body_hash(parsed), None, None) is None
    plan = plan_write("r", parsed, body_hash(parsed), Existing("9", "4", None), None)
    assert plan is not None
    assert (plan.kind, plan.payload) == (WriteKind.VOID, {"Id": "9", "SyncToken": "4"})


def test_new_sync_token_means_a_new_request_id(receipt):
    plan = plan_write("r", receipt, body_hash(receipt), Existing("146", "2", None), {"Line": []})
    assert plan is not None
    again = with_sync_token(plan, "3")
    assert again.payload["SyncToken"] == "3"
    assert again.request_id != plan.request_id
    assert again.attempt == 1


def test_same_document_gets_the_same_request_id_every_run(receipt):
    first = plan_write("r", receipt, body_hash(receipt), None, {"Line": []})
    second = plan_write("r", receipt, body_hash(receipt), None, {"Line": []})
    assert first is not None
    assert second is not None
    assert first.request_id == second.request_id


def test_dependencies_come_from_links_and_external_id_refs(receipt):
    assert dependencies(receipt) == {"customer:shopify:demo:2"}


def test_a_create_refused_for_its_name_goes_again_under_its_unique_name(mapped):
    parsed = parse_document("customers", mapped.customer(1, name="Cool Cars"))
    assert isinstance(parsed, MappedDocument)
    plan = plan_write("r", parsed, body_hash(parsed), None, dict(parsed.body))
    assert plan is not None
    retry = under_unique_name(plan)
    assert retry is not None
    assert retry.payload["DisplayName"].startswith("Cool Cars (kc-")
    assert retry.request_id != plan.request_id
