"""The consumer secret never reaches the process's output, whatever fails (run at DEBUG)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

KEY = "ck_" + "1" * 40
SECRET = "cs_" + "2" * 40


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(lambda: f"http://127.0.0.1:{closed_port()}", id="connection-refused"),
        pytest.param(lambda: "http://kconnector-test.invalid", id="dns-failure"),
    ],
)
def test_secret_is_absent_from_everything_printed_when_the_store_is_unreachable(
    tmp_path: Path, url: object
) -> None:
    config = {
        "url": url(),  # type: ignore[operator]
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "auth_method": "query_string",
        "allow_insecure_http": True,
        "start_date": "2024-01-01T00:00:00Z",
        "max_retries": 1,
        "timeout": 2,
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    completed = subprocess.run(
        [sys.executable, "-m", "tap_woocommerce_orders.tap", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "TAP_WOOCOMMERCE_ORDERS_LOGLEVEL": "DEBUG"},
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "ConnectionError" in output  # the failure is reported...
    assert SECRET not in output  # ...without the secret
    assert KEY not in output
