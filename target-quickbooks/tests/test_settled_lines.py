"""The store's settled input lines (SQLite and, when a server is given, PostgreSQL)."""

from __future__ import annotations

import dataclasses

import pytest

from target_quickbooks.store import open_store
from target_quickbooks.store.dead_letters import DeadLetter
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus
from target_quickbooks.store.review_queue import ReviewItem
from target_quickbooks.store.settled_lines import SettledLine

REALM = "9130357600000001"
OTHER_REALM = "9130357600000002"


@pytest.fixture
def store(database_url):
    opened = open_store(database_url)
    yield opened
    opened.close()


def line(digest: str, external_id: str, body_hash: str = "h1") -> SettledLine:
    return SettledLine(
        line_digest=digest,
        external_id=external_id,
        stream="sales_receipts",
        entity="SalesReceipt",
        operation="upsert",
        source_updated_at="2026-11-01T10:00:00Z",
        body_hash=body_hash,
    )


def entry(external_id: str, body_hash: str = "h1") -> LedgerEntry:
    return LedgerEntry(
        REALM,
        external_id,
        "SalesReceipt",
        "7",
        "0",
        body_hash,
        LedgerStatus.ACTIVE,
        source_updated_at="2026-11-01T10:00:00Z",
    )


def test_a_settled_line_is_found_with_its_ledger_entry_as_it_is_now(store):
    store.ledger.put_many([entry("o:1#sales_receipt")])
    store.settled_lines.record(REALM, [line("d1", "o:1#sales_receipt")])
    store.ledger.put_many([entry("o:1#sales_receipt", body_hash="h2")])

    found = store.settled_lines.matches(REALM, ["d1", "unknown"])

    assert list(found) == ["d1"]
    match = found["d1"]
    assert (match.line.body_hash, match.ledger_body_hash, match.qbo_id) == ("h1", "h2", "7")
    assert store.settled_lines.matches(OTHER_REALM, ["d1"]) == {}


def test_a_line_whose_document_the_ledger_does_not_hold_is_not_found(store):
    store.settled_lines.record(REALM, [line("d1", "o:1#sales_receipt")])

    assert store.settled_lines.matches(REALM, ["d1"]) == {}


def test_recording_a_known_line_again_keeps_one_row(store):
    store.settled_lines.record(REALM, [line("d1", "o:1#sales_receipt")])
    store.settled_lines.record(REALM, [line("d1", "o:1#sales_receipt"), line("d2", "o:2")])

    assert store.settled_lines.count(REALM) == 2


def test_documents_with_an_open_dead_letter_or_review_are_left_out(store):
    store.ledger.put_many([entry(f"o:{n}#sales_receipt") for n in range(3)])
    store.settled_lines.record(REALM, [line(f"d{n}", f"o:{n}#sales_receipt") for n in range(3)])
    store.dead_letters.record(
        [
            DeadLetter(
                realm_id=REALM,
                external_id="o:1#sales_receipt",
                stream="sales_receipts",
                error_class="data",
                error_code="610",
                field=None,
                message="inactive item",
                guidance="reactivate it",
            )
        ]
    )
    store.reviews.add(
        ReviewItem(
            realm_id=REALM,
            fingerprint="f" * 64,
            external_id="o:2#sales_receipt",
            stream="sales_receipts",
            entity="SalesReceipt",
            qbo_id="7",
            conflict_fields=("Line",),
            diff="Line ...",
            base={},
            theirs={},
            ours={},
            record={},
        )
    )

    assert list(store.settled_lines.matches(REALM, ["d0", "d1", "d2"])) == ["d0"]
    store.dead_letters.resolve(REALM, ["o:1#sales_receipt"])
    assert sorted(store.settled_lines.matches(REALM, ["d0", "d1", "d2"])) == ["d0", "d1"]


def test_many_digests_are_asked_in_bounded_queries(store):
    store.ledger.put_many([entry(f"o:{n}") for n in range(1200)])
    store.settled_lines.record(REALM, [line(f"d{n}", f"o:{n}") for n in range(1200)])

    assert len(store.settled_lines.matches(REALM, [f"d{n}" for n in range(1300)])) == 1200


def test_forget_removes_a_companys_lines_only(store):
    store.settled_lines.record(REALM, [line("d1", "o:1")])
    store.settled_lines.record(OTHER_REALM, [line("d1", "o:1")])

    assert store.settled_lines.forget(REALM) == 1
    assert (store.settled_lines.count(REALM), store.settled_lines.count(OTHER_REALM)) == (0, 1)


def test_prune_forgets_the_lines_of_other_settings_and_of_schema_0005(store):
    store.settled_lines.record(
        REALM,
        [
            dataclasses.replace(line("d1", "o:1"), fingerprint="aaaa"),
            dataclasses.replace(line("d2", "o:2"), fingerprint="bbbb"),
            line("d3", "o:3"),  # recorded before schema 0006: no fingerprint
        ],
    )
    store.settled_lines.record(
        OTHER_REALM, [dataclasses.replace(line("d4", "o:4"), fingerprint="b")]
    )

    assert store.settled_lines.prune(REALM, "aaaa") == 2
    assert (store.settled_lines.count(REALM), store.settled_lines.count(OTHER_REALM)) == (1, 1)
