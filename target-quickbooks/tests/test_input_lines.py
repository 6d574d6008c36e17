"""Unusable input lines: one line naming the line number, exit 1, what came before delivered."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ("this is not json at all", "is not valid JSON"),
        (
            json.dumps({"type": "RECORD", "stream": "customers", "record": {"Id": "1"}}),
            "is a RECORD of stream 'customers' before that stream's SCHEMA",
        ),
        (DEEP, "is JSON nested too deeply to read"),
        ("[1, 2]", "is a JSON list, not a Singer message object"),
    ],
)
def test_an_unusable_line_stops_the_run_after_delivering_what_came_before(  # noqa: PLR0913, PLR0917 - fixtures
    mapped, qbo, make_config, tmp_path: Path, bad_line: str, problem: str
) -> None:
    _, emulator = qbo
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(make_config()))
    before = mapped.lines([("sales_receipts", mapped.receipt(1))], {"bookmark": 1})
    after = mapped.lines([("sales_receipts", mapped.receipt(2))], {"bookmark": 2})
    input_path = tmp_path / "input.singer"
    input_path.write_text(before + bad_line + "\n" + after)
    bad_number = before.count("\n") + 1

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
        timeout=120,
        check=False,
    )

    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert "this is not json" not in completed.stderr  # the line itself is never echoed
    [stopped] = [line for line in completed.stderr.splitlines() if "stopped at input" in line]
    assert f"input line {bad_number}, which {problem}" in stopped
    assert "ERROR" in stopped
    states = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert states[-1] == {"bookmark": 1}  # a target emits the bare state value
    receipts = emulator.realms[mapped.realm].documents("SalesReceipt")
    assert len(receipts) == 1
