"""The target end to end: STATE semantics, system errors, alert hook, secrets, README."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from target_quickbooks.delivery import DeliveryEngine
from target_quickbooks.errors import SystemFaultError
from target_quickbooks.store.schema import audit_log, dead_letters, oauth_tokens
from target_quickbooks.target import TargetQuickBooks

HERE = Path(__file__).parent
SCENARIO = HERE / "scenarios" / "orders_customers_and_failures.singer"


def alert_command(path: Path) -> str:
    script = f"import sys; open({str(path)!r}, 'w').write(sys.stdin.read())"
    return f"{sys.executable} -c {json.dumps(script)}"


def table_rows(database_url: str, table: sa.Table) -> list[dict]:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(sa.select(table)).mappings()]


def test_scenario_file_delivers_what_it_can_and_state_follows(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    config = make_config()
    target, states = run_target(config, SCENARIO.read_text("utf-8"))

    counts = target.delivery.counts
    assert (counts.created, counts.dead_lettered, counts.mapper_dead_letters) == (7, 1, 1)
    names = {c["DisplayName"] for c in emulator.realms[mapped.realm].documents("Customer")}
    assert "Ana O'Neil" in names
    letters = {
        (r["external_id"], r["error_code"])
        for r in table_rows(config["database_url"], dead_letters)
    }
    assert letters == {
        ("shopify:demo:6#sales_receipt", "TQB-UNRESOLVED-REF"),
        ("shopify:demo:7#sales_receipt", "MAP-UNMAPPED-TAX"),
    }
    assert states == [{"bookmarks": {"orders": {"replication_key_value": "2026-11-01T10:00:00Z"}}}]


def test_system_error_mid_run_emits_no_state_and_calls_the_alert_hook(  # noqa: PLR0913, PLR0917 - fixtures
    mapped, qbo, make_config, capsys, tmp_path, monkeypatch
):
    _, emulator = qbo
    alert_file = tmp_path / "alert.json"
    config = make_config(alert_command=alert_command(alert_file))
    deliver_wave = DeliveryEngine._deliver_wave

    def deliver_then_disconnect(self, *args, **kwargs):
        held = deliver_wave(self, *args, **kwargs)
        emulator.tokens.revoke_realm(mapped.realm)  # the user disconnects the app mid-run
        return held

    monkeypatch.setattr(DeliveryEngine, "_deliver_wave", deliver_then_disconnect)
    records = [("customers", mapped.customer(1))] + [
        ("sales_receipts", mapped.receipt(n, customer=1)) for n in range(3)
    ]
    target = TargetQuickBooks(config=config)
    with pytest.raises(SystemExit) as stopped:
        target.listen(io.StringIO(mapped.lines(records, {"bookmark": 1})))

    message = str(stopped.value.code)
    assert "TQB-TOKEN-REVOKED" in message
    assert "reconnect" in message.lower()
    assert "\n" not in message
    assert "bookmark" not in capsys.readouterr().out
    alert = json.loads(alert_file.read_text("utf-8"))
    assert alert["error_class"] == "system"
    assert alert["message"] == message


def test_revoked_connection_exits_non_zero_with_the_reconnect_steps(
    mapped, qbo, make_config, tmp_path
):
    _, emulator = qbo
    emulator.tokens.revoke_realm(mapped.realm)
    alert_file = tmp_path / "alert.json"
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(make_config(alert_command=alert_command(alert_file))))
    input_path = tmp_path / "input.singer"
    input_path.write_text(mapped.lines([("sales_receipts", mapped.receipt(1))], {"b": 1}))

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "target_quickbooks.target",
            "--config",
            str(config_path),
            "--input",
            str(input_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode != 0
    assert "TQB-TOKEN-REVOKED" in completed.stderr
    assert "run the OAuth consent again" in completed.stderr
    assert completed.stdout.strip() == ""
    assert json.loads(alert_file.read_text("utf-8"))["error_code"] == "TQB-TOKEN-REVOKED"


def test_unknown_stream_stops_the_run_with_guidance(make_config):
    target = TargetQuickBooks(config=make_config())
    schema = {"type": "SCHEMA", "stream": "orders", "schema": {"properties": {}}}
    with pytest.raises(SystemExit) as stopped:
        target.listen(io.StringIO(json.dumps(schema) + "\n"))
    assert "map-quickbooks" in str(stopped.value.code)


def test_duration_settings_pass_the_sdk_check_as_strings_from_meltano(make_config):
    # Meltano passes TARGET_QUICKBOOKS_MIN_BACKOFF_SECONDS=0.5 to the plugin as the string "0.5".
    target = TargetQuickBooks(
        config=make_config(
            rate_limit_window_seconds="1", min_backoff_seconds="0.5", max_backoff_seconds="2"
        )
    )
    assert target.settings.rate_limit_window_seconds == pytest.approx(1.0)
    assert target.settings.min_backoff_seconds == pytest.approx(0.5)
    assert target.settings.max_backoff_seconds == pytest.approx(2.0)


def test_with_a_token_key_the_run_keeps_its_tokens_encrypted(
    make_config, run_target, caplog, capsys, token_keys
):
    key = token_keys[0]
    caplog.set_level(logging.DEBUG)
    config = make_config(token_encryption_key=key)
    target, _ = run_target(config, SCENARIO.read_text("utf-8"))
    assert target.delivery.counts.created > 0
    (row,) = table_rows(config["database_url"], oauth_tokens)
    assert row["refresh_token"].startswith("enc:v1:")
    assert row["access_token"].startswith("enc:v1:")
    captured = capsys.readouterr()
    assert all(key not in text for text in (caplog.text, captured.out, captured.err))
    # the next run reads them back with the same key, and cannot without it
    again, _ = run_target(config, SCENARIO.read_text("utf-8"))
    assert again.delivery.counts.created == 0
    without = TargetQuickBooks(config={**config, "token_encryption_key": ""})
    with pytest.raises(SystemFaultError, match="encrypted"):
        _ = without.delivery


def test_secrets_never_reach_logs_output_audit_or_dead_letters(  # noqa: PLR0913, PLR0917 - fixtures
    mapped, qbo, make_config, run_target, caplog, capsys
):
    _, emulator = qbo
    caplog.set_level(logging.DEBUG)
    config = make_config()
    run_target(config, SCENARIO.read_text("utf-8"))
    stored = table_rows(config["database_url"], oauth_tokens)
    secrets = {
        config["client_secret"],
        config["refresh_token"],
        *(row["refresh_token"] for row in stored),
        *(row["access_token"] for row in stored if row["access_token"]),
    }
    emulator.tokens.revoke_realm(mapped.realm)
    with pytest.raises(SystemExit) as stopped:
        run_target(
            make_config(database_url=config["database_url"].replace(".db", "-2.db")),
            mapped.lines([("sales_receipts", mapped.receipt(50))], {"b": 2}),
        )
    captured = capsys.readouterr()
    haystacks = [
        caplog.text,
        captured.out,
        captured.err,
        str(stopped.value.code),
        json.dumps(table_rows(config["database_url"], audit_log), default=str),
        json.dumps(table_rows(config["database_url"], dead_letters), default=str),
    ]
    assert len(secrets) >= 3
    for secret in secrets:
        assert all(secret not in text for text in haystacks)


def test_readme_settings_table_matches_about(capsys):
    TargetQuickBooks.print_about(output_format="markdown")
    about = capsys.readouterr().out
    table = re.search(r"^\| Setting \|.*?(?=\n\n|\Z)", about, re.MULTILINE | re.DOTALL)
    assert table is not None
    readme = (HERE.parent / "README.md").read_text("utf-8")
    documented = re.search(
        r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", readme, re.DOTALL
    )
    assert documented is not None
    assert documented.group(1).strip() == table.group(0).strip()


def test_unexpected_failure_stops_the_run_as_a_system_error(
    mapped, make_config, monkeypatch, tmp_path
):
    alert_file = tmp_path / "alert.json"
    target = TargetQuickBooks(config=make_config(alert_command=alert_command(alert_file)))

    def broken_store(*_args, **_kwargs):
        msg = "disk I/O error while writing customer jane@example.com"
        raise sa.exc.OperationalError(msg, None, Exception("disk"))

    monkeypatch.setattr(DeliveryEngine, "flush", broken_store)
    with pytest.raises(SystemExit) as stopped:
        target.listen(io.StringIO(mapped.lines([("sales_receipts", mapped.receipt(1))], {"b": 1})))

    assert "TQB-INTERNAL" in str(stopped.value.code)
    assert "jane@example.com" not in str(stopped.value.code)
    assert json.loads(alert_file.read_text("utf-8"))["error_code"] == "TQB-INTERNAL"
