"""The bulk result download: a whole answer within its deadline, never a wait without end."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from kconnector_canonical.http_session import ResponseDeadlineError
from tap_shopify_orders import streams

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Dripping(BaseHTTPRequestHandler):
    """A 200 whose JSONL body arrives one byte every 0.2 s, for as long as the server runs."""

    stop = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/jsonl")
        self.end_headers()
        while not self.stop.wait(0.2):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        del format, args


@pytest.fixture
def dripping_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Dripping)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bulk.jsonl?X-Goog-Signature=abc"
    finally:
        _Dripping.stop.set()
        server.shutdown()
        server.server_close()
        _Dripping.stop.clear()


def test_a_dripping_bulk_download_is_cut_off_at_its_deadline(
    dripping_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each byte arrives well inside the per-read timeout: only a total deadline ends the wait.
    monkeypatch.setattr(streams, "BULK_DOWNLOAD_DEADLINE_SECONDS", 1.0)
    started = time.monotonic()
    with pytest.raises(ResponseDeadlineError, match="did not finish its answer within 1 s"):
        streams._fetch_lines(dripping_url)
    assert time.monotonic() - started < 5
