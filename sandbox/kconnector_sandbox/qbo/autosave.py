"""Keeping the state file current while the emulator serves (``--state-dir``).

Any ``POST`` (API write, batch, token refresh or revoke, admin change) marks the state changed.
The first change schedules one save `MIN_INTERVAL_SECONDS` later on the server's event loop, so a
burst of writes costs one save, and a crash loses at most about that interval. The snapshot is
encoded on the event loop (the only thread that changes the state, so the copy is consistent)
and written to disk by a worker thread. The interval grows with the cost of a snapshot so that
saving never takes more than about 1/`OVERHEAD_FACTOR` of the loop's time, however big the
companies get. `close` (on a clean stop, and at interpreter exit) writes the final state.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.qbo import state_file

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping
    from pathlib import Path

    Scope = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
    Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIN_INTERVAL_SECONDS = 1.0
OVERHEAD_FACTOR = 20.0

_LOG = logging.getLogger(__name__)


class Autosave:
    """Saves an emulator's state to its file after changes, at a bounded rate."""

    def __init__(
        self,
        path: Path,
        encode_state: Callable[[], bytes],
        *,
        min_interval: float = MIN_INTERVAL_SECONDS,
    ) -> None:
        """Save to `path` the bytes `encode_state()` returns.

        Once a first save succeeded, `close` also runs at interpreter exit (the CLI's clean stop).
        """
        self.path = path
        self._encode_state = encode_state
        self._min_interval = min_interval
        self._snapshot_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._taken = 0  # sequence number of the latest snapshot
        self._written = 0  # sequence number of the snapshot on disk
        self._encode_seconds = 0.0
        self._pending: asyncio.TimerHandle | None = None
        self.saves = 0

    def changed(self) -> None:
        """Note a change; call on the event loop serving the emulator (schedules one save)."""
        if self._pending is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(self._min_interval, self._encode_seconds * OVERHEAD_FACTOR)
        self._pending = loop.call_later(delay, self._save_in_background, loop)

    def save_now(self) -> None:
        """Write the current state to the file before returning (no request may be running).

        Raises:
            OSError: the file cannot be written.
        """
        self._write(*self._snapshot())

    def close(self) -> None:
        """Write the final state (call once the server has stopped); idempotent."""
        atexit.unregister(self.close)
        self.save_now()

    def _save_in_background(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pending = None
        sequence, data = self._snapshot()
        loop.run_in_executor(None, self._write_logged, sequence, data)

    def _snapshot(self) -> tuple[int, bytes]:
        with self._snapshot_lock:
            started = time.perf_counter()
            data = self._encode_state()
            self._encode_seconds = time.perf_counter() - started
            self._taken += 1
            return self._taken, data

    def _write(self, sequence: int, data: bytes) -> None:
        with self._write_lock:
            if sequence <= self._written:
                return  # a newer snapshot is already on disk
            state_file.write_atomically(self.path, data)
            self._written = sequence
            if not self.saves:
                atexit.register(self.close)
            self.saves += 1

    def _write_logged(self, sequence: int, data: bytes) -> None:
        try:
            self._write(sequence, data)
        except OSError as exc:
            _LOG.warning("qbo_state_save_failed path=%s error=%s", self.path, exc.strerror)


class AutosaveMiddleware:
    """Marks the state changed after every ``POST`` request (reads never change it)."""

    def __init__(self, app: ASGIApp, autosave: Autosave) -> None:
        """Wrap `app`."""
        self.app = app
        self.autosave = autosave

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI request, then note the change if it was a POST."""
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope["method"] == "POST":
                self.autosave.changed()
