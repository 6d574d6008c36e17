"""The ASGI receiver: verify, store, answer. Nothing is processed inline.

Every delivery is verified over its raw bytes, appended to the durable queue (committed), and
only then answered 200; the dispatcher runs the store's job later. A forged or unsigned
request gets 401 and nothing is stored; a body over the size limit gets 413 before it is read
whole; a signed delivery that cannot be understood gets 400 (the vendor retries, the operator
sees `event=webhook_rejected`).

Routes:

- `POST /webhooks/shopify`, `POST /webhooks/woocommerce`, `POST /webhooks/quickbooks`
- `GET /healthz`: 200 with the counters while the queue's database answers, else 503.

Logs are one `key=value` line per delivery, with ids only: never a payload (customers' names,
addresses and emails) nor a secret.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from kconnector_realtime import compliance, deliveries
from kconnector_realtime.deliveries import DeliveryError, Event

if TYPE_CHECKING:
    from starlette.requests import Request

    from kconnector_realtime.queue import EventQueue
    from kconnector_realtime.settings import RealtimeSettings

logger = logging.getLogger("kconnector_realtime.receiver")

RECEIVED: Final = "received"
DUPLICATE: Final = "duplicate"
REJECTED: Final = "rejected"
QUEUED: Final = "queued"
RUNS_STARTED: Final = "runs_started"


class BodyTooLargeError(Exception):
    """The request body passed the size limit."""


class Counters:
    """This process's counters (the queue's own figures are durable and shared)."""

    def __init__(self) -> None:
        """Start at zero."""
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        """Count `amount` more `name`."""
        with self._lock:
            self._counts[name] += amount

    def snapshot(self) -> dict[str, int]:
        """The counts so far."""
        with self._lock:
            base = dict.fromkeys((RECEIVED, DUPLICATE, REJECTED, QUEUED, RUNS_STARTED), 0)
            return base | dict(self._counts)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


class Receiver:
    """The webhook endpoints over one queue."""

    def __init__(
        self, settings: RealtimeSettings, queue: EventQueue, counters: Counters | None = None
    ) -> None:
        """Serve `queue` with `settings`' secrets and routes."""
        self.settings = settings
        self.queue = queue
        self.counters = counters or Counters()

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/webhooks/shopify", self.shopify, methods=["POST"]),
                Route("/webhooks/woocommerce", self.woocommerce, methods=["POST"]),
                Route("/webhooks/quickbooks", self.quickbooks, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
            ]
        )

    # -- helpers --

    async def _body(self, request: Request, platform: str) -> bytes | Response:
        self.counters.add(RECEIVED)
        try:
            return await _read_body(request, self.settings.max_body_bytes)
        except BodyTooLargeError:
            return self._reject(platform, 413, "body_too_large")

    def _reject(self, platform: str, status: int, reason: str) -> Response:
        self.counters.add(REJECTED)
        logger.warning(
            "event=webhook_rejected platform=%s status=%s reason=%s", platform, status, reason
        )
        return PlainTextResponse(reason.replace("_", " "), status_code=status)

    async def _store(self, platform: str, events: list[Event]) -> Response:
        stored = await run_in_threadpool(self._append_all, events)
        for event, new in zip(events, stored, strict=True):
            self.counters.add(QUEUED if new else DUPLICATE)
            logger.info(
                "event=webhook_%s platform=%s store=%s topic=%s resource=%s",
                "queued" if new else "duplicate",
                platform,
                event.store_key,
                event.topic,
                event.resource_id,
            )
        return PlainTextResponse("ok")

    def _append_all(self, events: list[Event], *, dispatch: bool = True) -> list[bool]:
        return [
            self.queue.append(
                store_key=e.store_key,
                dedupe_key=e.dedupe_key,
                topic=e.topic,
                resource_id=e.resource_id,
                webhook_id=e.webhook_id,
                occurred_at=e.occurred_at,
                dispatch=dispatch,
            )
            for e in events
        ]

    # -- endpoints --

    async def shopify(self, request: Request) -> Response:
        """A Shopify delivery (orders, refunds, compliance topics)."""
        body = await self._body(request, "shopify")
        if isinstance(body, Response):
            return body
        given = request.headers.get("x-shopify-hmac-sha256")
        if not deliveries.signature_valid(body, given, self.settings.secrets.shopify):
            return self._reject("shopify", 401, "signature_invalid" if given else "unsigned")
        try:
            event = deliveries.shopify_event(request.headers, body)
        except DeliveryError as exc:
            return self._reject("shopify", 400, f"unusable_delivery: {exc}")
        if event.topic in deliveries.SHOPIFY_COMPLIANCE_TOPICS:
            return await self._compliance(event, body)
        if event.topic not in deliveries.SHOPIFY_ORDER_TOPICS:
            # Acknowledged (a 4xx would make Shopify retry and then drop the subscription).
            logger.info("event=webhook_ignored platform=shopify topic=%s", event.topic)
            return PlainTextResponse("ignored")
        return await self._store("shopify", [event])

    async def _compliance(self, event: Event, body: bytes) -> Response:
        stored = await run_in_threadpool(self._append_all, [event], dispatch=False)
        self.counters.add(QUEUED if stored[0] else DUPLICATE)
        route = self.settings.route(event.store_key)
        answer = await run_in_threadpool(
            compliance.answer, self.queue.engine, event, body, route.realm_id if route else None
        )
        logger.info(
            "event=compliance_request platform=shopify store=%s topic=%s orders=%s held=%s",
            event.store_key,
            event.topic,
            len(answer["orders_requested"]),
            len(answer["documents_held"]),
        )
        return JSONResponse(answer)

    async def woocommerce(self, request: Request) -> Response:
        """A WooCommerce delivery, or the unsigned ping of a webhook being saved."""
        body = await self._body(request, "woocommerce")
        if isinstance(body, Response):
            return body
        if deliveries.is_woocommerce_ping(request.headers, body):
            logger.info(
                "event=webhook_ping platform=woocommerce webhook_id=%s",
                deliveries.form_field(body, "webhook_id"),
            )
            return PlainTextResponse("ok")  # exactly 200, nothing stored
        given = request.headers.get("x-wc-webhook-signature")
        if not deliveries.signature_valid(body, given, self.settings.secrets.woocommerce):
            return self._reject("woocommerce", 401, "signature_invalid" if given else "unsigned")
        try:
            event = deliveries.woocommerce_event(request.headers, body)
        except DeliveryError as exc:
            return self._reject("woocommerce", 400, f"unusable_delivery: {exc}")
        return await self._store("woocommerce", [event])

    async def quickbooks(self, request: Request) -> Response:
        """A QuickBooks Online CloudEvents delivery (possibly several companies)."""
        body = await self._body(request, "quickbooks")
        if isinstance(body, Response):
            return body
        given = request.headers.get("intuit-signature")
        if not deliveries.signature_valid(body, given, self.settings.secrets.quickbooks):
            return self._reject("quickbooks", 401, "signature_invalid" if given else "unsigned")
        try:
            events = deliveries.quickbooks_events(body)
        except DeliveryError as exc:
            return self._reject("quickbooks", 400, f"unusable_delivery: {exc}")
        return await self._store("quickbooks", events)

    async def healthz(self, _request: Request) -> Response:
        """200 with the counters, or 503 when the queue's database does not answer."""
        try:
            queue_stats = await run_in_threadpool(self.queue.stats)
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("event=healthz_failed error=%s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "queue": None}, status_code=503)
        body: dict[str, Any] = {
            "status": "ok",
            "counters": self.counters.snapshot(),
            "queue": queue_stats,
        }
        return JSONResponse(body)
