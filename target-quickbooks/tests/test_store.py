"""The store: migrations at start, ledger, dead letters, tokens.

SQLite by default; set KCONNECTOR_TEST_DATABASE_URL (e.g.
postgresql+psycopg://kc@127.0.0.1:5432/kc_test) to run the same tests against PostgreSQL.
Each test works in its own realm, so a shared server database needs no cleaning.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from target_quickbooks.store import open_store
from target_quickbooks.store.database import current_revision, head_revision
from target_quickbooks.store.dead_letters import DeadLetter
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus


@pytest.fixture
def store_factory(tmp_path):
    url = os.environ.get("KCONNECTOR_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 's.db'}"
    opened = []

    def make():
        store = open_store(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def realm() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_schema_is_migrated_to_head_at_start_and_again_is_a_no_op(store_factory):
    store = store_factory()
    assert current_revision(store.engine) == head_revision() == "0001"
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"ledger", "oauth_tokens", "audit_log", "dead_letters", "alembic_version"} <= tables
    again = store_factory()
    assert current_revision(again.engine) == "0001"


def test_ledger_upsert_replaces_the_entry(store_factory, realm):
    store = store_factory()
    entry = LedgerEntry(
        realm, "e:1", "Invoice", "10", "0", "h1", LedgerStatus.ACTIVE, snapshot={"a": 1}
    )
    store.ledger.put_many([entry])
    store.ledger.put_many(
        [LedgerEntry(realm, "e:1", "Invoice", "10", "1", "h2", LedgerStatus.VOIDED)]
    )
    got = store.ledger.get(realm, "e:1")
    assert got is not None
    assert (got.sync_token, got.body_hash, got.status) == ("1", "h2", LedgerStatus.VOIDED)
    assert store.ledger.count(realm) == 1


def test_snapshots_keep_decimal_amounts(store_factory, realm):
    from decimal import Decimal  # noqa: PLC0415 - only this test needs it

    store = store_factory()
    snapshot = {"TotalAmt": Decimal("19.90"), "Line": [{"Amount": Decimal("0.10")}]}
    store.ledger.put_many(
        [
            LedgerEntry(
                realm, "e:2", "Invoice", "11", "0", "h", LedgerStatus.ACTIVE, snapshot=snapshot
            )
        ]
    )
    got = store.ledger.get(realm, "e:2")
    assert got is not None
    assert got.snapshot == snapshot


def test_dead_letter_attempts_count_up_until_resolved(store_factory, realm):
    store = store_factory()
    letter = DeadLetter(realm, "e:1", "invoices", "data", "610", "inactive item", "reactivate it")
    store.dead_letters.record([letter])
    store.dead_letters.record([letter])
    (row,) = store.dead_letters.open_letters(realm)
    assert row["attempts"] == 2
    assert store.dead_letters.open_ids(realm, ["e:1", "e:2"]) == {"e:1"}
    assert store.dead_letters.resolve(realm, ["e:1"]) == 1
    assert store.dead_letters.open_letters(realm) == []
    store.dead_letters.record([letter])
    assert store.dead_letters.open_letters(realm)[0]["attempts"] == 1


def test_tokens_are_stored_and_never_shown_in_a_repr(store_factory, realm):
    store = store_factory()
    store.tokens.save(realm, refresh_token="CANARY-R", access_token="CANARY-A", expires_at=None)
    record = store.tokens.load(realm)
    assert record is not None
    assert record.refresh_token == "CANARY-R"
    assert "CANARY" not in repr(record)
