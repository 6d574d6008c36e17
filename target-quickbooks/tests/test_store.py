"""The store: migrations at start, ledger, dead letters, tokens, audit log, review queue.

Every test runs on SQLite, and on PostgreSQL too when KCONNECTOR_TEST_DATABASE_URL is set (e.g.
`eval "$(scripts/test-postgres.sh start)"`); each PostgreSQL test works in a schema of its own,
dropped afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from target_quickbooks.errors import SystemFaultError
from target_quickbooks.merge_plan import merge_base
from target_quickbooks.store import open_store
from target_quickbooks.store.audit import AppendOnlyError, AuditEntry, AuditFilter
from target_quickbooks.store.database import (
    create_engine,
    current_revision,
    head_revision,
    upgrade,
)
from target_quickbooks.store.dead_letters import DeadLetter
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus
from target_quickbooks.store.review_queue import Resolution, ReviewItem, ReviewStatus
from target_quickbooks.store.schema import audit_log, oauth_tokens

REALM = "9130357600000001"


@pytest.fixture
def store_factory(database_url):
    opened = []

    def make(token_keys=()):
        store = open_store(database_url, token_keys=token_keys)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def realm() -> str:
    return REALM


def test_schema_is_migrated_to_head_at_start_and_again_is_a_no_op(store_factory):
    store = store_factory()
    assert current_revision(store.engine) == head_revision() == "0006"
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {
        "ledger",
        "oauth_tokens",
        "audit_log",
        "dead_letters",
        "review_queue",
        "alembic_version",
    } <= tables
    again = store_factory()
    assert current_revision(again.engine) == "0006"


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
    assert store.ledger.counts(realm) == {("Invoice", "voided"): 1}


def test_ledger_keeps_the_merge_base_and_expected_totals(store_factory, realm):
    store = store_factory()
    base = {"Line": [{"Amount": "19.99"}], "PrivateNote": "gift"}
    store.ledger.put_many(
        [
            LedgerEntry(
                realm,
                "e:3",
                "SalesReceipt",
                "12",
                "0",
                "h",
                LedgerStatus.ACTIVE,
                pushed_body=base,
                expected_total=Decimal("21.64"),
                expected_tax=Decimal("1.65"),
                currency="USD",
            )
        ]
    )
    (got,) = store.ledger.documents(realm, ["SalesReceipt"])
    assert got.pushed_body == base
    assert (got.expected_total, got.expected_tax, got.currency) == (
        Decimal("21.64"),
        Decimal("1.65"),
        "USD",
    )


def test_snapshots_keep_decimal_amounts(store_factory, realm):
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
    assert store.dead_letters.open_count(realm) == 1
    assert store.dead_letters.get(realm, row["id"])["external_id"] == "e:1"
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


def _stored_token_columns(store, realm):
    with store.engine.connect() as connection:
        row = connection.execute(
            sa.select(oauth_tokens.c.refresh_token, oauth_tokens.c.access_token).where(
                oauth_tokens.c.realm_id == realm
            )
        ).one()
    return row.refresh_token, row.access_token


def test_tokens_are_encrypted_at_rest_with_a_key(store_factory, realm, token_keys):
    store = store_factory(token_keys=token_keys[:1])
    store.tokens.save(realm, refresh_token="CANARY-R", access_token="CANARY-A", expires_at=None)
    refresh, access = _stored_token_columns(store, realm)
    assert refresh.startswith("enc:v1:")
    assert access.startswith("enc:v1:")
    assert "CANARY" not in refresh + access
    record = store.tokens.load(realm)
    assert (record.refresh_token, record.access_token) == ("CANARY-R", "CANARY-A")


def test_tokens_saved_before_a_key_was_set_are_read_then_encrypted_at_the_next_save(
    store_factory, realm, token_keys
):
    store_factory().tokens.save(realm, refresh_token="OLD-R", access_token=None, expires_at=None)
    keyed = store_factory(token_keys=token_keys[:1])
    assert keyed.tokens.load(realm).refresh_token == "OLD-R"
    keyed.tokens.save(realm, refresh_token="NEW-R", access_token="NEW-A", expires_at=None)
    assert _stored_token_columns(keyed, realm)[0].startswith("enc:v1:")


def test_encrypted_tokens_without_the_key_stop_with_the_steps(store_factory, realm, token_keys):
    key_b, key_a = token_keys
    store_factory(token_keys=(key_a,)).tokens.save(
        realm, refresh_token="CANARY-R", access_token=None, expires_at=None
    )
    for keys in ((), (key_b,)):
        with pytest.raises(SystemFaultError) as caught:
            store_factory(token_keys=keys).tokens.load(realm)
        assert caught.value.code == "TQB-TOKEN-KEY"
        assert "token_encryption_key" in caught.value.guidance
        assert "CANARY" not in str(caught.value)


def test_a_rotated_key_reads_old_tokens_and_writes_with_the_new_key(
    store_factory, realm, token_keys
):
    key_b, key_a = token_keys
    store_factory(token_keys=(key_a,)).tokens.save(
        realm, refresh_token="R1", access_token=None, expires_at=None
    )
    rotating = store_factory(token_keys=(key_b, key_a))
    assert rotating.tokens.load(realm).refresh_token == "R1"
    rotating.tokens.save(realm, refresh_token="R2", access_token=None, expires_at=None)
    assert store_factory(token_keys=(key_b,)).tokens.load(realm).refresh_token == "R2"


def test_audit_rows_with_and_without_snapshots_keep_their_order(store_factory, realm):
    store = store_factory()
    kinds = [None, {"Id": "1"}, None, None, {"Id": "2"}]
    store.audit.append(
        AuditEntry(realm, "update", f"o{n}", external_id=f"e:{n}", after=after)
        for n, after in enumerate(kinds)
    )

    rows = store.audit.entries(realm)

    assert [(r["outcome"], r["after"], r["before"]) for r in rows] == [
        (f"o{n}", after, None) for n, after in enumerate(kinds)
    ]
    with store.engine.connect() as connection:
        nulls = connection.execute(
            sa.select(sa.func.count()).where(audit_log.c.after.is_(None))
        ).scalar_one()
    assert nulls == 3  # SQL NULL, not a JSON null


def test_audit_log_refuses_updates_and_deletes(store_factory, realm):
    store = store_factory()
    store.audit.append([AuditEntry(realm, "create", "created", external_id="e:1")])

    with pytest.raises(AppendOnlyError):
        store.audit.update(external_id="e:1", outcome="failed")
    with pytest.raises(AppendOnlyError):
        store.audit.delete(external_id="e:1")
    with pytest.raises(sa.exc.DBAPIError), store.engine.begin() as connection:
        connection.execute(sa.update(audit_log).values(outcome="failed"))
    with pytest.raises(sa.exc.DBAPIError), store.engine.begin() as connection:
        connection.execute(sa.delete(audit_log))

    (row,) = store.audit.entries(realm)
    assert row["outcome"] == "created"


def test_audit_log_is_queryable_by_document_outcome_entity_and_time(store_factory, realm):
    store = store_factory()
    now = datetime.now(UTC)
    store.audit.append(
        [
            AuditEntry(realm, "create", "created", "e:1", "Invoice", ts=now - timedelta(days=2)),
            AuditEntry(realm, "update", "updated", "e:1", "Invoice", ts=now - timedelta(hours=1)),
            AuditEntry(realm, "create", "created", "e:2", "Customer", ts=now),
            AuditEntry("other-realm", "create", "created", "e:1", "Invoice", ts=now),
        ]
    )

    def ids(**where):
        rows = store.audit.query(realm, AuditFilter(**where))
        return [(r["external_id"], r["operation"]) for r in rows]

    assert ids(external_id="e:1") == [("e:1", "create"), ("e:1", "update")]
    assert ids(outcome="created") == [("e:1", "create"), ("e:2", "create")]
    assert ids(entity="Customer") == [("e:2", "create")]
    assert ids(since=now - timedelta(days=1)) == [("e:1", "update"), ("e:2", "create")]
    assert ids(until=now - timedelta(days=1)) == [("e:1", "create")]
    assert ids(limit=1) == [("e:2", "create")]
    assert store.audit.outcome_counts(realm) == {
        ("Invoice", "created"): 1,
        ("Invoice", "updated"): 1,
        ("Customer", "created"): 1,
    }
    assert store.audit.last_at(realm) == now


def _item(realm, fingerprint, external_id="e:1"):
    return ReviewItem(
        realm_id=realm,
        fingerprint=fingerprint,
        external_id=external_id,
        stream="sales_receipts",
        entity="SalesReceipt",
        qbo_id="7",
        conflict_fields=("Line",),
        diff="field ...",
        base={"Line": []},
        theirs={"Line": [1]},
        ours={"Line": [2]},
        record={"external_id": external_id},
    )


def test_review_queue_keeps_one_item_per_conflict_and_supersedes_older_ones(store_factory, realm):
    store = store_factory()
    first, new = store.reviews.add(_item(realm, "f" * 64))
    again, new_again = store.reviews.add(_item(realm, "f" * 64))
    assert (new, new_again, again) == (True, False, first)
    assert store.reviews.get(realm, first).sightings == 2

    second, _ = store.reviews.add(_item(realm, "a" * 64))
    assert store.reviews.get(realm, first).status is ReviewStatus.SUPERSEDED
    assert [i.id for i in store.reviews.items(realm)] == [second]
    assert store.reviews.open_count(realm) == 1

    store.reviews.resolve(realm, second, Resolution.ACCEPT_STORE)
    resolved = store.reviews.get(realm, second)
    assert (resolved.status, resolved.resolution) == (ReviewStatus.RESOLVED, "accept_store")
    assert resolved.resolved_at is not None
    assert store.reviews.open_count(realm) == 0


def _rows_at_0001(engine, realm):
    """Data of every kind, written through the 0001 tables as that version wrote it."""
    tables = sa.MetaData()
    tables.reflect(engine)
    now = datetime.now(UTC)
    snapshot = {
        "Id": "7",
        "SyncToken": "0",
        "PrivateNote": "gift\n[kc:e:1 vabc]",
        "Line": [{"Id": "1", "Amount": Decimal("19.99"), "DetailType": "SalesItemLineDetail"}],
        "TotalAmt": Decimal("21.64"),
    }
    with engine.begin() as connection:
        connection.execute(
            sa.insert(tables.tables["ledger"]),
            [
                {
                    "realm_id": realm,
                    "external_id": f"e:{n}",
                    "entity": "SalesReceipt",
                    "qbo_id": str(6 + n),
                    "sync_token": "0",
                    "body_hash": f"h{n}",
                    "status": "active",
                    "request_id": None,
                    "snapshot": snapshot,
                    "source_updated_at": "2026-11-01T10:00:00Z",
                    "updated_at": now,
                }
                for n in (1, 2)
            ],
        )
        connection.execute(
            sa.insert(tables.tables["oauth_tokens"]).values(
                realm_id=realm,
                refresh_token="rotated-refresh",
                access_token=None,
                expires_at=None,
                rotated_at=now,
            )
        )
        connection.execute(
            sa.insert(tables.tables["audit_log"]).values(
                ts=now, realm_id=realm, operation="create", outcome="created", external_id="e:1"
            )
        )
        connection.execute(
            sa.insert(tables.tables["dead_letters"]).values(
                realm_id=realm,
                external_id="e:3",
                stream="sales_receipts",
                error_class="data",
                error_code="610",
                message="inactive item",
                guidance="reactivate it",
                attempts=1,
                created_at=now,
                updated_at=now,
            )
        )
    return tables


def test_upgrade_from_0001_keeps_every_row_and_the_new_features_work(database_url, realm):
    engine = create_engine(database_url)
    upgrade(engine, "0001")
    _rows_at_0001(engine, realm)
    engine.dispose()

    store = open_store(database_url)
    try:
        assert current_revision(store.engine) == "0006"
        entry = store.ledger.get(realm, "e:1")
        assert entry is not None
        assert (entry.qbo_id, entry.body_hash, entry.pushed_body, entry.source_facts) == (
            "7",
            "h1",
            None,
            None,
        )
        assert entry.snapshot["TotalAmt"] == Decimal("21.64")
        assert store.ledger.count(realm) == 2
        token = store.tokens.load(realm)
        assert token is not None
        assert token.refresh_token == "rotated-refresh"
        assert [r["operation"] for r in store.audit.entries(realm)] == ["create"]
        assert [letter["external_id"] for letter in store.dead_letters.open_letters(realm)] == [
            "e:3"
        ]
        # new features on old data: the merge base of a pre-0002 row, the review queue,
        # the append-only guard
        ours = {"PrivateNote": "gift", "Line": [{"Amount": "19.99"}]}
        base = merge_base(entry, ours)
        assert base["PrivateNote"] == "gift"
        assert "TotalAmt" not in base
        item_id, _ = store.reviews.add(_item(realm, "c" * 64))
        assert store.reviews.get(realm, item_id) is not None
        with pytest.raises(sa.exc.DBAPIError), store.engine.begin() as connection:
            connection.execute(sa.delete(audit_log))
    finally:
        store.close()


def test_a_process_of_the_previous_version_still_writes_to_a_database_at_head(database_url, realm):
    engine = create_engine(database_url)
    upgrade(engine, "0001")
    old_tables = _rows_at_0001(engine, realm)  # the 0001 process's view of the tables
    store = open_store(database_url)  # the new version starts and migrates
    try:
        now = datetime.now(UTC)
        with engine.begin() as connection:  # the old process carries on writing
            connection.execute(
                sa.update(old_tables.tables["ledger"])
                .where(old_tables.tables["ledger"].c.external_id == "e:2")
                .values(sync_token="1", updated_at=now)
            )
            connection.execute(
                sa.insert(old_tables.tables["audit_log"]).values(
                    ts=now, realm_id=realm, operation="update", outcome="updated"
                )
            )
            connection.execute(sa.update(old_tables.tables["dead_letters"]).values(resolved_at=now))
        assert store.ledger.get(realm, "e:2").sync_token == "1"
        assert [r["operation"] for r in store.audit.entries(realm)] == ["create", "update"]
        assert store.dead_letters.open_count(realm) == 0
    finally:
        store.close()
        engine.dispose()


def test_order_documents_are_exactly_the_order_prefix(store_factory, realm):
    store = store_factory()
    ids = ["o:1#invoice", "o:1#payment:t1", "o:1$x", "o:10#invoice", "o:1", "o:_1#invoice"]
    store.ledger.put_many(
        LedgerEntry(realm, external_id, "Invoice", str(n), "0", "h", LedgerStatus.ACTIVE)
        for n, external_id in enumerate(ids)
    )

    found = {e.external_id for e in store.ledger.order_documents(realm, ["o:1", "o:_1"])}

    assert found == {"o:1#invoice", "o:1#payment:t1", "o:_1#invoice"}


def test_live_ids_are_the_known_documents_not_deleted(store_factory, realm):
    store = store_factory()
    store.ledger.put_many(
        LedgerEntry(realm, external_id, "Invoice", str(n), "0", "h", status)
        for n, (external_id, status) in enumerate(
            [("a", LedgerStatus.ACTIVE), ("v", LedgerStatus.VOIDED), ("d", LedgerStatus.DELETED)]
        )
    )

    assert store.ledger.live_ids(realm, ["a", "v", "d", "unknown"]) == {"a", "v"}


def test_a_waves_order_documents_are_read_in_one_query_per_200_orders(store_factory, realm):
    store = store_factory()
    store.ledger.put_many(
        LedgerEntry(realm, f"o:{n}#invoice", "Invoice", str(n), "0", "h", LedgerStatus.ACTIVE)
        for n in range(300)
    )
    statements: list[str] = []
    engine = store.ledger._engine  # counting the statements it runs
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - sqlalchemy's hook
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        found = store.ledger.order_documents(realm, [f"o:{n}" for n in range(300)], brief=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)

    assert [e.external_id for e in found] == sorted(f"o:{n}#invoice" for n in range(300))
    assert len(statements) == 2  # was one per order


def test_a_brief_read_of_order_documents_leaves_out_the_bodies_but_keeps_the_source_facts(
    store_factory, realm
):
    store = store_factory()
    store.ledger.put_many(
        [
            LedgerEntry(
                realm,
                "o:1#invoice",
                "Invoice",
                "7",
                "2",
                "h",
                LedgerStatus.ACTIVE,
                snapshot={"Id": "7"},
                pushed_body={"Line": []},
                expected_total=Decimal("43.28"),
                currency="USD",
                source_facts={"total": "43.28"},
            )
        ]
    )

    (full,) = store.ledger.order_documents(realm, ["o:1"])
    (brief,) = store.ledger.order_documents(realm, ["o:1"], brief=True)

    assert (brief.snapshot, brief.pushed_body) == (None, None)
    # The refund guard takes what was paid from the source facts (refund_guard.order_money).
    assert brief.source_facts == full.source_facts == {"total": "43.28"}
    assert brief == type(full)(**{**vars(full), "snapshot": None, "pushed_body": None})


def test_a_payment_bumps_the_sync_token_of_the_invoice_it_applies_to(store_factory, realm):
    store = store_factory()
    invoice = LedgerEntry(
        realm, "o:1#invoice", "Invoice", "7", "2", "h", LedgerStatus.ACTIVE, snapshot={"Id": "7"}
    )
    store.ledger.put_many([invoice])

    store.ledger.bump_sync_tokens(realm, [("Invoice", "7"), ("Invoice", "7"), ("Invoice", "8")])

    got = store.ledger.get(realm, "o:1#invoice")
    assert got is not None
    assert (got.sync_token, (got.snapshot or {}).get("SyncToken")) == ("4", "4")
