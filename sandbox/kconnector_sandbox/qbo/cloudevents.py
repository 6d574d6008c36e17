"""QuickBooks Online webhooks in the CloudEvents format, sent when a document changes.

As Intuit documents them (https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks,
the payload change of https://blogs.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure/):

- The endpoint is configured per app in the developer dashboard (here: ``POST /__admin/webhooks``
  ``{"url", "verifier_token"}``); it receives the changes of every connected company.
- A delivery is a ``POST`` of a JSON array of CloudEvents 1.0, one per change: ``specversion``,
  ``id`` (unique per event), ``source``, ``type`` ``qbo.<entity>.<operation>.v1`` (entity in lower
  case; operations created, updated, deleted, voided, merged, emailed), ``datacontenttype``,
  ``time``, ``intuitentityid`` (the document's Id) and ``intuitaccountid`` (the realm id). Changes
  made close together are aggregated into one delivery, which may carry several companies.
- ``intuit-signature`` is the base64 HMAC-SHA256 of the raw body keyed with the app's verifier
  token (https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications).
- The endpoint must answer 200 within 3 s; a failed delivery is retried at 10 s, 20 s, 30 s,
  5 min, 20 min, 2 h, 4 h and 6 h (https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/best-practices);
  here those waits are divided by the run's time scale.

`CloudEventsMiddleware` watches successful writes (API writes and batches, and the admin's
bookkeeper edits) and hands each changed document to the `CloudEventsPublisher`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    from starlette.requests import Request

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TIMEOUT_SECONDS = 3.0  # "respond ... with an HTTP 200 status within 3 seconds"
RETRY_SECONDS = (10.0, 20.0, 30.0, 300.0, 1200.0, 7200.0, 14400.0, 21600.0)
AGGREGATION_SECONDS = 0.5  # changes this close together share one delivery (scaled)
SOURCE = "intuit.quickbooks"
_WRITE = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<entity>[A-Za-z]+)$")
_EDIT = re.compile(r"^/__admin/realms/(?P<realm>[^/]+)/edit/(?P<entity>[A-Za-z]+)/[^/]+$")
_OPERATIONS = {"delete": "deleted", "void": "voided"}
_HTTP_OK = 200


def signature(body: bytes, verifier_token: str) -> str:
    """The ``intuit-signature`` value of `body`."""
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Endpoint:
    """The app's webhook endpoint and its verifier token."""

    url: str
    verifier_token: str


@dataclass
class Delivery:
    """One delivery attempt (kept for ``GET /__admin/webhooks``)."""

    url: str
    events: int
    attempt: int
    status: int | None = None
    error: str | None = None


@dataclass
class CloudEventsPublisher:
    """Aggregates change events and posts them, signed, from a daemon thread."""

    time_scale: float = 1.0
    clock: Callable[[], float] = time.time  # the emulator's clock: seconds since the epoch
    endpoints: list[Endpoint] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    _pending: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    _in_flight: int = 0

    def subscribe(self, endpoint: Endpoint) -> None:
        """Set the app's endpoint (one per app, as in the dashboard; the last one wins)."""
        with self._lock:
            self.endpoints[:] = [endpoint]
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="qbo-cloudevents", daemon=True
                )
                self._thread.start()

    def publish(self, realm_id: str, entity: str, entity_id: str, operation: str) -> None:
        """Queue one change event (nothing when no endpoint is configured)."""
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": SOURCE,
            "type": f"qbo.{entity.lower()}.{operation}.v1",
            "datacontenttype": "application/json",
            "time": datetime.fromtimestamp(self.clock(), UTC).isoformat().replace("+00:00", "Z"),
            "intuitentityid": entity_id,
            "intuitaccountid": realm_id,
        }
        with self._lock:
            if not self.endpoints:
                return
            self._pending.append(event)
            self._in_flight += 1
            self._lock.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued event was delivered or given up; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._pending))
            # Let changes made close together join the same delivery.
            threading.Event().wait(AGGREGATION_SECONDS / max(self.time_scale, 1.0))
            with self._lock:
                batch, self._pending = self._pending, []
                endpoints = list(self.endpoints)
            body = json.dumps(batch, separators=(",", ":")).encode()
            for endpoint in endpoints:
                self._attempt(endpoint, body, len(batch), 0)
            with self._lock:
                self._in_flight -= len(batch)
                self._lock.notify_all()

    def _attempt(self, endpoint: Endpoint, body: bytes, count: int, attempt: int) -> None:
        delivery = Delivery(endpoint.url, count, attempt)
        request = urllib.request.Request(  # noqa: S310 - the address the operator configured
            endpoint.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "intuit-signature": signature(body, endpoint.verifier_token),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                delivery.status = response.status
        except urllib.error.HTTPError as exc:
            delivery.status = exc.code
        except OSError as exc:
            delivery.error = type(exc).__name__
        with self._lock:
            self.deliveries.append(delivery)
        if delivery.status != _HTTP_OK and attempt < len(RETRY_SECONDS):
            wait = RETRY_SECONDS[attempt] / max(self.time_scale, 1e-9)
            timer = threading.Timer(wait, self._attempt, args=(endpoint, body, count, attempt + 1))
            timer.daemon = True
            timer.start()


def _changes(body: Any, entity: str, operation: str | None) -> list[tuple[str, str, str]]:  # noqa: ANN401 - JSON
    """(entity, id, operation) of each document a successful write answered with."""
    found: list[tuple[str, str, str]] = []
    if not isinstance(body, dict):
        return found
    items = body.get("BatchItemResponse")
    candidates = (
        [(name, doc) for item in items if isinstance(item, dict) for name, doc in item.items()]
        if isinstance(items, list)
        # A single write answers {"<Entity>": {...}}; the path names it in lower case.
        else [(name, doc) for name, doc in body.items() if name.lower() == entity.lower()]
    )
    for name, doc in candidates:
        if not isinstance(doc, dict) or "Id" not in doc or name in {"bId", "Fault"}:
            continue
        if operation in _OPERATIONS:
            change = _OPERATIONS[operation]
        elif doc.get("status") == "Deleted":
            change = "deleted"
        else:
            change = "created" if str(doc.get("SyncToken")) == "0" else "updated"
        found.append((name, str(doc["Id"]), change))
    return found


class CloudEventsMiddleware:
    """Publishes a CloudEvent for every document a successful write changed."""

    def __init__(self, app: ASGIApp, publisher: CloudEventsPublisher) -> None:
        """Wrap `app`."""
        self.app = app
        self.publisher = publisher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request; watch the answer of a write."""
        path = scope.get("path", "")
        match = _WRITE.match(path) or _EDIT.match(path)
        if scope["type"] != "http" or scope.get("method") != "POST" or match is None:
            await self.app(scope, receive, send)
            return
        status = 0
        chunks: list[bytes] = []
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and status == _HTTP_OK:
                    # Queued before the client has its answer, as QuickBooks commits first.
                    self._publish(match["realm"], match["entity"], query, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, watching)

    def _publish(self, realm_id: str, entity: str, query: dict[str, str], raw: bytes) -> None:
        if not self.publisher.endpoints:
            return
        try:
            body = json.loads(raw)
        except ValueError:
            return
        for name, entity_id, change in _changes(body, entity, query.get("operation")):
            self.publisher.publish(realm_id, name, entity_id, change)


def admin_routes(publisher: CloudEventsPublisher) -> list[Route]:
    """``GET``/``POST /__admin/webhooks``: the app's endpoint (no secret shown) and deliveries."""

    async def webhooks(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            url, token = body.get("url"), body.get("verifier_token")
            if not isinstance(url, str) or not isinstance(token, str) or not token:
                return JSONResponse({"error": "url and verifier_token are required"}, 400)
            publisher.subscribe(Endpoint(url, token))
            return JSONResponse({"url": url}, status_code=201)
        return JSONResponse(
            {
                "endpoints": [e.url for e in publisher.endpoints],
                "deliveries": [vars(d) for d in publisher.deliveries],
            }
        )

    return [Route("/__admin/webhooks", webhooks, methods=["GET", "POST"])]
