"""Webhook deliveries as WooCommerce makes them (`WC_Webhook::deliver()`), from a background thread.

Each delivery is a POST of the resource's REST representation (`{"id": N}` for `order.deleted`)
with headers `X-WC-Webhook-Source` (the site URL with a trailing slash), `-Topic`, `-Resource`,
`-Event`, `-Signature` (base64 of the HMAC-SHA256 of the raw body with the webhook secret),
`-ID` and `-Delivery-ID`. Redirects are not followed. A response from 200 to 302 is a success and
resets the failure count; otherwise, when the count is already above 5
(`woocommerce_max_webhook_delivery_failures`) the webhook is disabled, else the count goes up by
one (so the 7th consecutive failure disables it).
https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-wc-webhook.php
https://woocommerce.com/document/webhooks/
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kconnector_sandbox.woocommerce.wp_json import wp_json_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    from kconnector_sandbox.woocommerce.order_documents import Document

MAX_DELIVERY_FAILURES = 5  # woocommerce_max_webhook_delivery_failures default
ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.deleted"})
_SUCCESS_RANGE = range(200, 303)
_STOP = object()


def webhook_signature(raw_body: bytes, secret: str) -> str:
    """`base64_encode(hash_hmac('sha256', $payload, $secret, true))`."""
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


@dataclass
class Webhook:
    """A registered webhook."""

    webhook_id: int
    delivery_url: str
    secret: str
    topics: frozenset[str]
    status: str = "active"
    failure_count: int = 0
    name: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view (without the secret)."""
        return {
            "id": self.webhook_id,
            "delivery_url": self.delivery_url,
            "topics": sorted(self.topics),
            "status": self.status,
            "failure_count": self.failure_count,
        }


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery attempt (status None: no HTTP response)."""

    webhook_id: int
    delivery_id: str
    topic: str
    status: int | None


@dataclass
class _Job:
    webhook: Webhook
    topic: str
    body: bytes
    delivery_id: str
    headers: dict[str, str] = field(default_factory=dict)


class WebhookDispatcher:
    """Registers webhooks and delivers order events to them from one daemon thread."""

    def __init__(
        self,
        *,
        site_url: Callable[[], str],
        render_order: Callable[[Document], Document],
        user_agent: str,
        timeout_seconds: float = 5.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Prepare; the delivery thread starts with the first registered webhook.

        `now`: the site's clock in epoch seconds (the delivery id's second).
        """
        self._now = now
        self._site_url = site_url
        self._render_order = render_order
        self._user_agent = user_agent
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._webhooks: dict[int, Webhook] = {}
        self._queue: queue.Queue[object] = queue.Queue()
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._delivery_count = 0
        self._last_id = 0
        self.deliveries: list[DeliveryRecord] = []

    def register(
        self, delivery_url: str, secret: str, topics: frozenset[str] = ORDER_TOPICS
    ) -> Webhook:
        """Add an active webhook."""
        unknown = topics - ORDER_TOPICS
        if unknown:
            msg = f"unsupported topics: {', '.join(sorted(unknown))}"
            raise ValueError(msg)
        with self._lock:
            # Ids are never reused, even after a delete (they are post ids in WooCommerce).
            self._last_id = max(self._last_id, *self._webhooks, 0) + 1
            webhook = Webhook(self._last_id, delivery_url, secret, topics)
            self._webhooks[webhook.webhook_id] = webhook
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="woocommerce-webhooks", daemon=True
                )
                self._thread.start()
            return webhook

    def unregister(self, webhook_id: int) -> bool:
        """Delete a webhook (`DELETE /wc/v3/webhooks/<id>?force=true`); False when unknown."""
        with self._lock:
            return self._webhooks.pop(webhook_id, None) is not None

    def webhooks(self) -> list[Webhook]:
        """All registered webhooks."""
        with self._lock:
            return list(self._webhooks.values())

    def on_order_event(self, topic: str, payload: Document) -> None:
        """Queue a delivery of `topic` to every active webhook subscribed to it."""
        with self._lock:
            targets = [
                w for w in self._webhooks.values() if w.status == "active" and topic in w.topics
            ]
        if not targets:
            return
        body = wp_json_bytes(payload if topic == "order.deleted" else self._render_order(payload))
        resource, event = topic.split(".")
        for webhook in targets:
            with self._lock:
                self._delivery_count += 1
                self._in_flight += 1
            # `get_new_delivery_id`: wp_hash($webhook_id . strtotime('now')), so two deliveries of
            # one webhook within the same second share it (a receiver must not dedupe on it alone).
            seed = f"{webhook.webhook_id}{int(self._now())}".encode()
            delivery_id = hashlib.md5(seed, usedforsecurity=False).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": self._user_agent,
                "X-WC-Webhook-Source": self._site_url() + "/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": webhook_signature(body, webhook.secret),
                "X-WC-Webhook-ID": str(webhook.webhook_id),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            self._queue.put(_Job(webhook, topic, body, delivery_id, headers))

    def wait_idle(self, timeout_seconds: float = 10.0) -> bool:
        """Block until every queued delivery was attempted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout_seconds)

    def stop(self) -> None:
        """Stop the delivery thread (pending deliveries are dropped)."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=self._timeout + 1)
            self._thread = None

    def _post(self, job: _Job) -> int | None:
        parts = urlsplit(job.webhook.delivery_url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.netloc, timeout=self._timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=job.body, headers=job.headers)
            return connection.getresponse().status
        except OSError:
            return None
        finally:
            connection.close()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP or not isinstance(job, _Job):
                return
            status = self._post(job)
            with self._lock:
                webhook = job.webhook
                if status is not None and status in _SUCCESS_RANGE:
                    webhook.failure_count = 0
                elif webhook.failure_count > MAX_DELIVERY_FAILURES:
                    webhook.status = "disabled"
                else:
                    webhook.failure_count += 1
                self.deliveries.append(
                    DeliveryRecord(webhook.webhook_id, job.delivery_id, job.topic, status)
                )
                self._in_flight -= 1
                self._idle.notify_all()
