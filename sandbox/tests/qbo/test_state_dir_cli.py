import signal
import socket
import subprocess
import sys
import time

import requests
from click.testing import CliRunner

from kconnector_sandbox.cli import main
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import build
from kconnector_sandbox.qbo.state_file import STATE_FILE_NAME

US_REALM = "9130357600000001"
_SERVE = "from kconnector_sandbox.cli import main; main()"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(state_dir, port, log_path):
    flags = ["--only", "qbo", "--qbo-port", str(port), "--state-dir", str(state_dir)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, "serve", *flags], stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    # "sandbox ready" is printed once serving, just before the SIGTERM handler is installed
    while b"sandbox ready" not in log_path.read_bytes():
        assert process.poll() is None, log_path.read_text(encoding="utf-8")
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.05)
    return process


def _stop(process, log_path):
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log_path.read_text(encoding="utf-8")


def _refresh(base_url, credentials, refresh_token):
    response = requests.post(
        base_url + "/oauth2/v1/tokens/bearer",
        auth=(credentials.client_id, credentials.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_serve_with_state_dir_keeps_the_company_across_a_sigterm_restart(tmp_path):
    reference = build(SandboxOptions(seed=0))  # same seed: same credentials and first token
    credentials = reference.credentials
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    state_dir = tmp_path / "state"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _serve(state_dir, port, first_log)
    try:
        grant = _refresh(base_url, credentials, reference.initial_refresh_tokens[US_REALM])
        created = requests.post(
            f"{base_url}/v3/company/{US_REALM}/customer",
            json={"DisplayName": "Kept By The CLI"},
            headers={
                "Authorization": f"Bearer {grant['access_token']}",
                "Accept": "application/json",
            },
            timeout=10,
        ).json()["Customer"]
    finally:
        _stop(first, first_log)
    assert "Kept By The CLI" in (state_dir / STATE_FILE_NAME).read_text(encoding="utf-8")
    second = _serve(state_dir, port, second_log)
    try:
        rotated = _refresh(base_url, credentials, grant["refresh_token"])
        read = requests.get(
            f"{base_url}/v3/company/{US_REALM}/customer/{created['Id']}",
            headers={
                "Authorization": f"Bearer {rotated['access_token']}",
                "Accept": "application/json",
            },
            timeout=10,
        )
    finally:
        _stop(second, second_log)
    assert read.json()["Customer"] == created


def test_serve_with_unreadable_state_file_stops_with_a_clear_error(tmp_path):
    (tmp_path / STATE_FILE_NAME).write_text("not json", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--only", "qbo", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"Error: QuickBooks emulator state file {tmp_path / STATE_FILE_NAME}" in result.output
    assert "Delete the file" in result.output
