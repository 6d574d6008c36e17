"""GuardedSession: a total deadline per answer, and no redirect to another host."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest

from kconnector_canonical.http_session import (
    CrossHostRedirectError,
    GuardedSession,
    ResponseDeadlineError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


def _drip(connection: socket.socket) -> None:
    try:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        connection.sendall(b"Content-Length: 1000\r\n\r\n")
        for _ in range(1000):
            connection.sendall(b" ")
            time.sleep(0.5)
    except OSError:
        pass
    finally:
        connection.close()


@pytest.fixture
def dripping_server() -> Iterator[str]:
    """A loopback HTTP server sending its answer one byte every 0.5 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_drip, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    listener.close()


def test_a_dripping_answer_is_cut_off_at_the_total_deadline(dripping_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(ResponseDeadlineError, match="did not finish its answer within 2 s"):
        GuardedSession().get(dripping_server + "/orders", timeout=(1, 2))
    assert time.monotonic() - started < 4


def test_a_redirect_to_another_host_is_refused_before_sending(requests_mock) -> None:
    requests_mock.get(
        "https://shop.test/x", status_code=302, headers={"Location": "https://evil.test/"}
    )
    evil = requests_mock.get("https://evil.test/", text="{}")
    with pytest.raises(CrossHostRedirectError, match=r"evil\.test"):
        GuardedSession().get(
            "https://shop.test/x", headers={"X-Shopify-Access-Token": "shpat_x"}, timeout=5
        )
    assert evil.call_count == 0
