"""`kconnector-realtime serve` as a process: settings errors, and a stop that loses nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from kconnector_realtime.cli import main
from kconnector_realtime.queue import EventQueue

SECRET = "shpss_cli_test_secret_value"
SHOP = "kconnector-us.myshopify.com"
EXECUTABLE = Path(sys.executable).parent / "kconnector-realtime"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"not reached in {seconds} s")


def test_serve_without_a_database_names_the_setting(monkeypatch) -> None:
    monkeypatch.delenv("KCONNECTOR_REALTIME_DATABASE_URL", raising=False)
    monkeypatch.delenv("TARGET_QUICKBOOKS_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    assert "KCONNECTOR_REALTIME_DATABASE_URL" in result.output


def test_sigterm_stops_the_run_in_progress_and_requeues_its_events(tmp_path) -> None:
    # A stand-in for meltano: records its pid, then runs until killed.
    fake = tmp_path / "meltano"
    pid_file = tmp_path / "run.pid"
    fake.write_text(
        f"#!{sys.executable}\nimport os, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)\n"
    )
    fake.chmod(0o700)
    database = f"sqlite:///{tmp_path / 'store.db'}"
    port = _free_port()
    env = {
        **os.environ,
        "KCONNECTOR_REALTIME_DATABASE_URL": database,
        "KCONNECTOR_REALTIME_STORES": (
            f'[[stores]]\nstore = "shopify:{SHOP}"\nrealm_id = "9130357600000001"\n'
        ),
        "KCONNECTOR_REALTIME_SHOPIFY_CLIENT_SECRET": SECRET,
        "KCONNECTOR_REALTIME_MELTANO": str(fake),
    }
    serve = subprocess.Popen(
        [
            str(EXECUTABLE),
            "serve",
            "--port",
            str(port),
            "--debounce-seconds",
            "0.2",
            "--tick-seconds",
            "0.1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return requests.get(f"{url}/healthz", timeout=5).ok
            except requests.RequestException:
                return False

        _wait(up, 60)
        body = b'{"id": 1}'
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        response = requests.post(
            f"{url}/webhooks/shopify",
            data=body,
            headers={
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-Event-Id": "evt-1",
                "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            },
            timeout=10,
        )
        assert response.status_code == 200
        _wait(pid_file.exists)
        _wait(lambda: pid_file.read_text().strip().isdigit())
        run_pid = int(pid_file.read_text())

        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()

    _wait(lambda: not _alive(run_pid))
    queue = EventQueue(database)
    try:
        stats = queue.stats()
    finally:
        queue.close()
    assert (stats["queued"], stats["claimed"]) == (1, 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie counts as gone: serve reaped it, or will.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


def test_a_dispatcher_killed_with_sigkill_leaves_no_claim_behind_after_restart(tmp_path) -> None:
    # The first stand-in for meltano runs until killed (the run SIGKILL leaves orphaned); the
    # second, after the restart, succeeds at once. Both wait for their release first when
    # started ahead as a standby, as the taps do (a cancelled or orphaned standby ends).
    standby = (
        "import os, sys, time\n"
        "from kconnector_canonical.standby import StandbyCancelledError, wait_for_release\n"
        "try:\n    wait_for_release(os.environ)\n"
        "except StandbyCancelledError:\n    sys.exit(0)\n"
    )
    pid_file = tmp_path / "run.pid"
    hanging = tmp_path / "meltano-hanging"
    hanging.write_text(
        f"#!{sys.executable}\n{standby}"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)\n"
    )
    succeeding = tmp_path / "meltano-succeeding"
    succeeding.write_text(f"#!{sys.executable}\n{standby}")
    for fake in (hanging, succeeding):
        fake.chmod(0o700)
    database = f"sqlite:///{tmp_path / 'store.db'}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "KCONNECTOR_REALTIME_DATABASE_URL": database,
        "KCONNECTOR_REALTIME_STORES": (
            f'[[stores]]\nstore = "shopify:{SHOP}"\nrealm_id = "9130357600000001"\n'
        ),
        "KCONNECTOR_REALTIME_SHOPIFY_CLIENT_SECRET": SECRET,
    }
    argv = [str(EXECUTABLE), "serve", "--port", str(port), "--debounce-seconds", "0.2"]
    argv += ["--tick-seconds", "0.1"]

    def start(meltano: Path) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            argv,
            env={**env, "KCONNECTOR_REALTIME_MELTANO": str(meltano)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                return requests.get(f"{url}/healthz", timeout=5).ok
            except requests.RequestException:
                return False

        _wait(up, 60)
        return process

    serve = start(hanging)
    queue = EventQueue(database)
    try:
        body = b'{"id": 1}'
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        response = requests.post(
            f"{url}/webhooks/shopify",
            data=body,
            headers={
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-Event-Id": "evt-killed",
                "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            },
            timeout=10,
        )
        assert response.status_code == 200
        _wait(lambda: pid_file.exists() and pid_file.read_text().strip().isdigit())
        serve.kill()  # SIGKILL: no requeue on the way out
        serve.wait(timeout=30)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the orphaned run
        assert queue.stats()["claimed"] == 1

        serve = start(succeeding)
        # Back to the queue at start (not after the 30-minute run timeout), then run and done.
        _wait(lambda: queue.stats()["done"] == 1, 30)
        assert queue.stats()["claimed"] == 0
    finally:
        queue.close()
        if serve.poll() is None:
            serve.terminate()
            serve.wait(timeout=30)
