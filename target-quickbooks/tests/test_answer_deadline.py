"""The alert hook's URL is called like every other request: a total deadline, no cross-host hop.

The subprocess tests of the API client and the token endpoint against a dripping host are in
the repository's `tests/test_answer_deadline.py`; the alert hook is called in-process here.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest

from target_quickbooks import alerts
from target_quickbooks.alerts import Alert, send_alert

if TYPE_CHECKING:
    from collections.abc import Iterator

    from requests_mock import Mocker

ALERT = Alert(
    plugin="target-quickbooks",
    realm_id="9130357600000001",
    error_class="system",
    error_code="3200",
    message="target-quickbooks stopped",
)


def _drip(connection: socket.socket, stop: threading.Event) -> None:
    try:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.wait(0.3):
            connection.sendall(b" ")
    except OSError:
        pass
    finally:
        connection.close()


@pytest.fixture
def dripping_url() -> Iterator[str]:
    """A loopback server answering one byte every 0.3 s, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_drip, args=(connection, stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    thread.join()
    listener.close()


def test_a_dripping_alert_endpoint_is_given_up_at_the_deadline(
    dripping_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(alerts, "_HOOK_TIMEOUT_SECONDS", 1)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR):
        send_alert(ALERT, command=None, url=dripping_url, logger=logging.getLogger("alert-test"))
    assert time.monotonic() - started < 3
    assert "event=alert_failed hook=url error=ResponseDeadlineError" in caplog.text


def test_an_alert_endpoint_redirecting_to_another_host_is_not_followed(
    requests_mock: Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.post(
        "https://hooks.example.com/k", status_code=307, headers={"Location": "https://evil.test/"}
    )
    evil = requests_mock.post("https://evil.test/", text="ok")
    with caplog.at_level(logging.ERROR):
        send_alert(
            ALERT,
            command=None,
            url="https://hooks.example.com/k",
            logger=logging.getLogger("alert-test"),
        )
    assert evil.call_count == 0
    assert "error=CrossHostRedirectError" in caplog.text
