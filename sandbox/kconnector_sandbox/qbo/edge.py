"""ASGI middleware at the edge of the emulator: ``intuit_tid``, request log, dropped connections.

Every response carries an ``intuit_tid`` header, API requests are recorded in the request log, and
a handler can reset the connection without answering when a fault says so.

QBO answers every request with an ``intuit_tid`` header (a transaction id to quote to support),
e.g. ``intuit_tid: 1-628f0be4-19ed5ea63980105102b16b1e`` in
https://github.com/intuit/oauth-jsclient/issues/128
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from kconnector_sandbox.runner import abort_connection

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    from kconnector_sandbox.qbo.request_log import RequestLog

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DropConnectionError(Exception):
    """Raised by a handler to reset the client's connection instead of answering."""


class EdgeMiddleware:
    """Adds ``intuit_tid``, records API requests, turns `DropConnectionError` into a TCP reset."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        """Wrap `app`; API requests (not ``/__admin``) are recorded in `log`."""
        self.app = app
        self.log = log
        self._prefix = os.urandom(4).hex()
        self._counter = itertools.count(1)

    def _tid(self) -> bytes:
        return f"1-{self._prefix}-{next(self._counter):024x}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        logged = not path.startswith("/__admin")
        status = 0
        tid = self._tid()

        async def send_with_tid(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"intuit_tid", tid)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_tid)
        except DropConnectionError:
            abort_connection(scope)
            await asyncio.sleep(0)  # let the server see the disconnect before the app returns
        finally:
            if logged:
                query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
                self.log.record(scope["method"], path, status, query)
