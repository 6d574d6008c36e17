"""The fast path of an unchanged rerun: records settled before are skipped at the input line."""

from __future__ import annotations

import copy
import io
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from target_quickbooks.input_screen import line_digest, settings_fingerprint
from target_quickbooks.singer_input import RecordBeforeSchemaError
from target_quickbooks.store.database import create_engine
from target_quickbooks.store.schema import audit_log
from target_quickbooks.target import TargetQuickBooks

US_REALM = "9130357600000001"
WRITE_ROUTES = ("POST /v3/company/{realmId}/batch", "POST /v3/company/{realmId}/salesreceipt")


def writes(emulator) -> int:
    return sum(emulator.log.by_route.get(route, 0) for route in WRITE_ROUTES)


def requests_sent(emulator) -> int:
    return sum(count for route, count in emulator.log.by_route.items() if "/v3/company/" in route)


def mix(mapped) -> list[tuple[str, dict]]:
    """Five customers (one of them emitted twice, the later copy newer) and twenty receipts."""
    customers = [("customers", mapped.customer(c)) for c in range(5)]
    newer = mapped.customer(0)
    newer["source_updated_at"] = "2026-11-02T10:00:00Z"
    newer["body"]["GivenName"] = "Newer"
    receipts = [("sales_receipts", mapped.receipt(n, customer=n % 5)) for n in range(20)]
    return [*customers, *receipts[:10], ("customers", newer), *receipts[10:]]


def test_an_unchanged_rerun_skips_every_record_at_the_input_line(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    records = mix(mapped)
    config = make_config()
    first, _ = run_target(config, mapped.lines(records, {"bookmark": 1}))
    assert first.delivery.counts.received == len(records)
    emulator.log.clear()

    target, states = run_target(config, mapped.lines(records, {"bookmark": 2}))

    counts = target.delivery.counts
    assert counts.received == 0  # no record reached the full path
    assert counts.screened == counts.unchanged == len(records)
    assert requests_sent(emulator) == 0
    assert states == [{"bookmark": 2}]  # STATE as before


def test_an_edited_record_in_the_rerun_is_delivered(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    edited = copy.deepcopy(records)
    edited[7] = ("sales_receipts", mapped.receipt(2, qty=5, customer=2))
    emulator.log.clear()

    target, _ = run_target(config, mapped.lines(edited, {"bookmark": 2}))

    counts = target.delivery.counts
    assert (counts.received, counts.updated, counts.screened) == (1, 1, len(records) - 1)
    (receipt,) = [
        d for d in emulator.realms[US_REALM].documents("SalesReceipt") if d["DocNumber"] == "KC2"
    ]
    assert receipt["Line"][0]["SalesItemLineDetail"]["Qty"] == 5


def test_a_changed_setting_sends_every_record_through_the_full_path(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    emulator.log.clear()

    target, _ = run_target({**config, "minor_version": "76"}, mapped.lines(records, {"b": 2}))

    counts = target.delivery.counts
    assert (counts.received, counts.screened) == (len(records), 0)
    # The full path: customer 0's older copy superseded in the queue by the newer one.
    assert (counts.unchanged, counts.superseded) == (len(records) - 1, 1)
    assert writes(emulator) == 0
    # Settled again under the new settings (the lines of the old ones forgotten): the next run
    # skips them.
    assert target.store.settled_lines.count(US_REALM) == len(records)
    again, _ = run_target({**config, "minor_version": "76"}, mapped.lines(records, {"b": 3}))
    assert (again.delivery.counts.received, again.delivery.counts.screened) == (0, len(records))


def test_a_setting_that_only_tunes_the_writes_keeps_the_fast_path(mapped, make_config, run_target):
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))

    target, _ = run_target({**config, "max_concurrency": 2}, mapped.lines(records, {"b": 2}))

    assert target.delivery.counts.screened == len(records)


def test_the_fast_path_off_checks_every_record_in_full(mapped, make_config, run_target):
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))

    target, _ = run_target({**config, "input_fast_path": False}, mapped.lines(records, {"b": 2}))

    counts = target.delivery.counts
    assert (counts.received, counts.screened) == (len(records), 0)
    assert (counts.unchanged, counts.superseded) == (len(records) - 1, 1)


def test_a_record_with_an_open_dead_letter_takes_the_full_path(mapped, make_config, run_target):
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    # A later run's edit of receipt 3 is refused (an unknown item): its dead letter is open.
    broken = [("sales_receipts", mapped.receipt(3, qty=4, customer=3, sku="NOPE-404"))]
    failed, _ = run_target(config, mapped.lines(broken, {"bookmark": 2}))
    assert failed.delivery.counts.dead_lettered == 1

    target, _ = run_target(config, mapped.lines(records, {"bookmark": 3}))

    counts = target.delivery.counts
    assert (counts.received, counts.screened) == (1, len(records) - 1)


def test_a_record_dead_lettered_before_is_retried_and_then_skipped(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    records = [
        ("customers", mapped.customer(1)),
        ("sales_receipts", mapped.receipt(1, customer=1, sku="LATER-1")),
    ]
    config = make_config()
    first, _ = run_target(config, mapped.lines(records, {"bookmark": 1}))
    assert first.delivery.counts.dead_lettered == 1
    emulator.realms[US_REALM].seed(
        "Item",
        {
            "Id": "77",
            "Name": "Later",
            "FullyQualifiedName": "Later",
            "Active": True,
            "Type": "NonInventory",
            "Sku": "LATER-1",
            "UnitPrice": Decimal("19.99"),
            "Taxable": True,
            "IncomeAccountRef": {"value": "1"},
        },
    )

    retried, _ = run_target(config, mapped.lines(records, {"bookmark": 2}))
    assert (retried.delivery.counts.received, retried.delivery.counts.created) == (1, 1)

    again, _ = run_target(config, mapped.lines(records, {"bookmark": 3}))
    assert again.delivery.counts.screened == len(records)


def test_a_ledger_from_before_the_fast_path_still_works(mapped, make_config, run_target):
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    # The store as the previous version left it: schema 0004, no settled lines.
    engine = create_engine(config["database_url"])
    with engine.begin() as connection:
        from alembic import command  # noqa: PLC0415 - only this test downgrades

        from target_quickbooks.store.database import _alembic_config  # noqa: PLC0415

        alembic = _alembic_config()
        alembic.attributes["connection"] = connection
        command.downgrade(alembic, "0004")
    assert "settled_lines" not in sa.inspect(engine).get_table_names()
    engine.dispose()

    upgraded, _ = run_target(config, mapped.lines(records, {"bookmark": 2}))
    assert (upgraded.delivery.counts.received, upgraded.delivery.counts.created) == (
        len(records),
        0,
    )
    again, _ = run_target(config, mapped.lines(records, {"bookmark": 3}))
    assert again.delivery.counts.screened == len(records)


def test_a_settled_record_before_its_schema_still_stops_the_run(mapped, make_config, run_target):
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    lines = mapped.lines(records, {"bookmark": 2}).splitlines()
    record_line = next(line for line in lines if json.loads(line)["type"] == "RECORD")

    target = TargetQuickBooks(config=config)
    with pytest.raises(RecordBeforeSchemaError) as raised:
        target.listen(io.StringIO(record_line + "\n" + "\n".join(lines) + "\n"))

    assert raised.value.line_number == 1


def test_the_fingerprint_follows_shaping_settings_and_never_holds_a_secret():
    schema = TargetQuickBooks.config_jsonschema
    base = {"realm_id": "1", "client_secret": "s1", "minor_version": "75", "max_attempts": 8}
    fingerprint = settings_fingerprint(base, schema, code="c")

    assert settings_fingerprint({**base, "client_secret": "s2"}, schema, code="c") == fingerprint
    assert settings_fingerprint({**base, "max_attempts": 3}, schema, code="c") == fingerprint
    assert settings_fingerprint({**base, "minor_version": "76"}, schema, code="c") != fingerprint
    assert settings_fingerprint({**base, "stream_maps": {}}, schema, code="c") != fingerprint
    assert settings_fingerprint(base, schema, code="d") != fingerprint
    line = '{"type":"RECORD","stream":"customers","record":{}}'
    assert line_digest(fingerprint, line + "\n") == line_digest(fingerprint, line)
    assert line_digest(fingerprint, line) != line_digest(fingerprint, line.replace("{}", "[]"))


def test_skipped_lines_are_audited_as_the_full_path_audits_them(mapped, make_config, run_target):
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    engine = sa.create_engine(config["database_url"])
    with engine.connect() as connection:
        before = connection.execute(sa.select(sa.func.max(audit_log.c.id))).scalar_one()
    run_target({**config, "input_fast_path": False}, mapped.lines(records, {"b": 2}))
    with engine.connect() as connection:
        middle = connection.execute(sa.select(sa.func.max(audit_log.c.id))).scalar_one()
    run_target(config, mapped.lines(records, {"b": 3}))

    def rows(low: int, high: int | None) -> list[tuple]:
        query = sa.select(
            audit_log.c.external_id,
            audit_log.c.entity,
            audit_log.c.qbo_id,
            audit_log.c.operation,
            audit_log.c.outcome,
        ).where(audit_log.c.id > low)
        if high is not None:
            query = query.where(audit_log.c.id <= high)
        with engine.connect() as connection:
            return sorted(tuple(r) for r in connection.execute(query))

    full, fast = rows(before, middle), rows(middle, None)
    engine.dispose()
    # The same rows, and one more: the older copy of customer 0, which the full path superseded
    # in its queue (never weighed), is weighed at the input line: older than the ledger's.
    older = [r for r in fast if r[4] == "skipped_older"]
    assert [r for r in fast if r not in older] == full
    assert ("customer:shopify:demo:0", "Customer") in {
        r[:2] for r in fast if r[4] == "skipped_older"
    }


def test_a_settled_line_after_its_documents_full_path_record_takes_the_full_path_too(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    records = mix(mapped)
    config = make_config()
    run_target(config, mapped.lines(records, {"bookmark": 1}))
    # An edit of receipt 2 (same time), then receipt 2 as delivered: the input's last word is
    # the delivered copy, which replaces the edit in the queue; nothing is written.
    edited = ("sales_receipts", mapped.receipt(2, qty=5, customer=2))
    emulator.log.clear()

    target, _ = run_target(config, mapped.lines([edited, *records], {"bookmark": 2}))

    counts = target.delivery.counts
    assert (counts.received, counts.superseded, counts.updated) == (2, 1, 0)
    assert writes(emulator) == 0
