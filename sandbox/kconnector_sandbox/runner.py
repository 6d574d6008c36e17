"""Run an emulator (any ASGI app) as a real HTTP server on loopback, in a background thread.

Used by the CLI (`kconnector-sandbox serve`), by pytest fixtures (free port, clean stop) and by the
benchmarks. The server is uvicorn; its HTTP protocol class is extended so that fault injection can
drop a connection the way a real network does (see `abort_connection`).
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import TYPE_CHECKING, Any, Self

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable, MutableMapping
    from types import TracebackType

    Scope = MutableMapping[str, Any]
    ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

TRANSPORT_EXTENSION = "kconnector.transport"
LOOPBACK = "127.0.0.1"
_START_TIMEOUT_SECONDS = 10.0


class _TransportExposingProtocol(H11Protocol):
    """uvicorn's h11 protocol, with the connection's transport put into each request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # asyncio sets TCP_NODELAY only for sockets created with IPPROTO_TCP; without it every
            # keep-alive response waits ~40 ms for the client's delayed ACK (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inner = self.app

        async def app_with_transport(scope: Scope, receive: Any, send: Any) -> None:  # noqa: ANN401
            scope.setdefault("extensions", {})[TRANSPORT_EXTENSION] = transport
            await inner(scope, receive, send)

        self.app = app_with_transport


def abort_connection(scope: Scope) -> None:
    """Reset the client's TCP connection (RST, no HTTP response), as a flaky network would.

    Args:
        scope: the ASGI scope of the request being served by a `ServedApp`.
    """
    transport = scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
    if transport is None:
        msg = "abort_connection needs the app to be served by kconnector_sandbox.runner.ServedApp"
        raise RuntimeError(msg)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class ServedApp:
    """An ASGI app served over real HTTP on 127.0.0.1 from a background thread.

    Use as a context manager (`with ServedApp(app) as served: requests.get(served.url)`), or call
    `start()`/`stop()`. Port 0 picks a free port.
    """

    def __init__(self, app: ASGIApp, *, port: int = 0, host: str = LOOPBACK) -> None:
        """Prepare (not start) the server.

        Args:
            app: the ASGI application to serve.
            port: TCP port; 0 picks a free one.
            host: interface to bind; loopback by default.
        """
        self.app = app
        self.host = host
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound TCP port (after `start`)."""
        if self._socket is None:
            msg = "server not started"
            raise RuntimeError(msg)
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:8123`, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind the port and serve until `stop()`; returns once the server accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(2048)
        self._socket = sock
        config = uvicorn.Config(
            self.app,
            http=_TransportExposingProtocol,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
            backlog=2048,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox:{self.port}", daemon=True
        )
        self._thread.start()
        started = threading.Event()

        def wait_started() -> None:
            while not server.started and self._thread is not None and self._thread.is_alive():
                started.wait(0.01)
            started.set()

        wait_started()
        if not server.started:
            msg = f"sandbox server on port {self.port} did not start"
            raise RuntimeError(msg)

    def stop(self) -> None:
        """Stop accepting, finish in-flight requests briefly, and join the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_SECONDS)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()
