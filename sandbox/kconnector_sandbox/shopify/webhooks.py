"""Webhook deliveries: the order as JSON, signed as Shopify signs it, posted in the background.

https://shopify.dev/docs/apps/build/webhooks/verify-deliveries: ``X-Shopify-Hmac-Sha256`` is the
base64 HMAC-SHA256 of the raw body keyed with the app's secret; deliveries also carry
``X-Shopify-Topic``, ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id``,
``X-Shopify-Event-Id`` and ``X-Shopify-Triggered-At``. Payloads are the REST representation of the
resource (snake_case, money as strings).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kconnector_sandbox.shopify.model import MoneyBag, Order, Refund, TaxLine

_TIMEOUT_SECONDS = 5.0  # Shopify expects an answer within 5 s
# Shopify retries a failed delivery 8 times over 4 hours with exponential backoff, with the original
# payload (https://shopify.dev/changelog/updates-to-webhook-retry-mechanism); the waits here double
# from 56 s so that they add up to about 4 hours, divided by the run's time scale.
MAX_RETRIES = 8
_FIRST_RETRY_SECONDS = 56.0
HTTP_OK_MIN = 200
HTTP_OK_MAX = 300


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value for `body`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _money(bag: MoneyBag) -> dict[str, Any]:
    return {
        "shop_money": {
            "amount": str(bag.shop_money.amount),
            "currency_code": bag.shop_money.currency_code,
        },
        "presentment_money": {
            "amount": str(bag.presentment_money.amount),
            "currency_code": bag.presentment_money.currency_code,
        },
    }


def _tax(line: TaxLine) -> dict[str, Any]:
    return {
        "title": line.title,
        "rate": line.rate,
        "price": str(line.price_set.shop_money.amount),
        "price_set": _money(line.price_set),
        "channel_liable": line.channel_liable,
    }


def _legacy(global_id: str) -> int:
    return int(global_id.rsplit("/", 1)[-1])


def _local(moment: datetime | None, tz: tzinfo) -> str | None:
    """REST timestamps carry the shop's UTC offset, e.g. ``2026-03-02T10:15:04-05:00``."""
    return moment.astimezone(tz).isoformat() if moment is not None else None


def refund_payload(order: Order, refund: Refund, tz: tzinfo = UTC) -> dict[str, Any]:
    """A refund as the ``refunds/create`` topic sends it."""
    return {
        "id": _legacy(refund.id),
        "admin_graphql_api_id": refund.id,
        "order_id": order.legacy_resource_id,
        "created_at": _local(refund.created_at, tz),
        "note": refund.note,
        "refund_line_items": [
            {
                "id": _legacy(r.id or "0/0"),
                "line_item_id": _legacy(r.line_item.id),
                "quantity": r.quantity,
                "restock_type": r.restock_type.lower(),
                "subtotal": str(r.subtotal_set.shop_money.amount),
                "subtotal_set": _money(r.subtotal_set),
                "total_tax": str(r.total_tax_set.shop_money.amount),
                "total_tax_set": _money(r.total_tax_set),
            }
            for r in refund.refund_line_items
        ],
        "order_adjustments": [
            {
                "id": _legacy(a.id),
                "kind": "refund_discrepancy",
                "amount": str(a.amount_set.shop_money.amount),
                "amount_set": _money(a.amount_set),
                "tax_amount": str(a.tax_amount_set.shop_money.amount),
            }
            for a in refund.order_adjustments
        ],
        "transactions": [
            {
                "id": _legacy(t.id),
                "kind": t.kind.lower(),
                "status": t.status.lower(),
                "gateway": t.gateway,
                "amount": str(t.amount_set.shop_money.amount),
                "currency": t.amount_set.shop_money.currency_code,
            }
            for t in refund.transactions
        ],
    }


def order_payload(order: Order, tz: tzinfo = UTC) -> dict[str, Any]:
    """An order as the ``orders/*`` topics send it (a subset of the REST Order resource)."""
    status = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}
    return {
        "id": order.legacy_resource_id,
        "admin_graphql_api_id": order.id,
        "name": order.name,
        "order_number": int(order.name.lstrip("#")),
        "email": order.email,
        "created_at": _local(order.created_at, tz),
        "updated_at": _local(order.updated_at, tz),
        "processed_at": _local(order.processed_at, tz),
        "cancelled_at": _local(order.cancelled_at, tz),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "financial_status": order.display_financial_status.lower(),
        "fulfillment_status": status.get(order.display_fulfillment_status),
        "test": order.test,
        "currency": order.currency_code,
        "presentment_currency": order.presentment_currency_code,
        "taxes_included": order.taxes_included,
        "tags": ", ".join(order.tags),
        "note": order.note,
        "source_name": order.source_name,
        "subtotal_price": str(order.subtotal_price_set.shop_money.amount),
        "subtotal_price_set": _money(order.subtotal_price_set),
        "total_discounts": str(order.total_discounts_set.shop_money.amount),
        "total_discounts_set": _money(order.total_discounts_set),
        "total_tax": str(order.total_tax_set.shop_money.amount),
        "total_tax_set": _money(order.total_tax_set),
        "total_price": str(order.total_price_set.shop_money.amount),
        "total_price_set": _money(order.total_price_set),
        "total_tip_received": str(order.total_tip_received_set.shop_money.amount),
        "current_total_price": str(order.current_total_price_set.shop_money.amount),
        "current_total_price_set": _money(order.current_total_price_set),
        "current_subtotal_price": str(order.current_subtotal_price_set.shop_money.amount),
        "current_total_tax": str(order.current_total_tax_set.shop_money.amount),
        "tax_lines": [_tax(t) for t in order.tax_lines],
        "discount_codes": list(order.discount_codes),
        "line_items": [
            {
                "id": _legacy(li.id),
                "admin_graphql_api_id": li.id,
                "title": li.title,
                "variant_title": li.variant_title,
                "sku": li.sku,
                "quantity": li.quantity,
                "price": str(li.original_unit_price_set.shop_money.amount),
                "price_set": _money(li.original_unit_price_set),
                "total_discount": str(li.total_discount_set.shop_money.amount),
                "taxable": li.taxable,
                "gift_card": li.is_gift_card,
                "tax_lines": [_tax(t) for t in li.tax_lines],
                "discount_allocations": [
                    {
                        "amount": str(a.allocated_amount_set.shop_money.amount),
                        "amount_set": _money(a.allocated_amount_set),
                        "discount_application_index": a.discount_application.index,
                    }
                    for a in li.discount_allocations
                ],
            }
            for li in order.line_items
        ],
        "shipping_lines": [
            {
                "id": _legacy(s.id),
                "title": s.title,
                "code": s.code,
                "price": str(s.original_price_set.shop_money.amount),
                "discounted_price": str(s.discounted_price_set.shop_money.amount),
                "tax_lines": [_tax(t) for t in s.tax_lines],
            }
            for s in order.shipping_lines
        ],
        "customer": (
            {
                "id": order.customer.legacy_resource_id,
                "email": order.customer.email,
                "first_name": order.customer.first_name,
                "last_name": order.customer.last_name,
            }
            if order.customer
            else None
        ),
        "refunds": [refund_payload(order, r, tz) for r in order.refunds],
    }


@dataclass(frozen=True)
class Subscription:
    """A registered delivery address for some topics of one shop."""

    shop_domain: str
    address: str
    secret: str
    topics: frozenset[str]  # empty: every topic
    api_version: str


@dataclass
class Delivery:
    """One delivery attempt's outcome (kept for the admin log)."""

    topic: str
    address: str
    webhook_id: str
    event_id: str
    attempt: int
    status: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Attempt:
    subscription: Subscription
    topic: str
    body: bytes
    triggered_at: str
    webhook_id: str
    event_id: str
    attempt: int = 0


@dataclass
class WebhookDispatcher:
    """Queues deliveries and posts them from one background thread, retrying failures."""

    time_scale: float = 1.0
    subscriptions: list[Subscription] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    _queue: queue.Queue[_Attempt] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, subscription: Subscription) -> None:
        """Add a subscription."""
        with self._lock:
            self.subscriptions.append(subscription)

    def publish(
        self, shop_domain: str, topic: str, payload: dict[str, Any], triggered_at: str
    ) -> int:
        """Queue `payload` for every matching subscription; returns how many were queued."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        event_id = str(uuid.uuid4())
        with self._lock:
            matching = [
                s
                for s in self.subscriptions
                if s.shop_domain == shop_domain and (not s.topics or topic in s.topics)
            ]
            if matching and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._run, name="shopify-webhooks", daemon=True
                )
                self._thread.start()
        for subscription in matching:
            self._queue.put(
                _Attempt(subscription, topic, body, triggered_at, str(uuid.uuid4()), event_id)
            )
        return len(matching)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until queued deliveries are done (tests, shutdown); False on timeout."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            attempt = self._queue.get()
            try:
                self._deliver(attempt)
            finally:
                self._queue.task_done()

    def _deliver(self, attempt: _Attempt) -> None:
        subscription = attempt.subscription
        delivery = Delivery(
            attempt.topic,
            subscription.address,
            attempt.webhook_id,
            attempt.event_id,
            attempt.attempt,
        )
        request = urllib.request.Request(  # noqa: S310 - addresses are registered by the operator
            subscription.address,
            data=attempt.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Topic": attempt.topic,
                "X-Shopify-Hmac-Sha256": sign(attempt.body, subscription.secret),
                "X-Shopify-Shop-Domain": subscription.shop_domain,
                "X-Shopify-API-Version": subscription.api_version,
                "X-Shopify-Webhook-Id": attempt.webhook_id,
                "X-Shopify-Event-Id": attempt.event_id,
                "X-Shopify-Triggered-At": attempt.triggered_at,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
                delivery.status = response.status
        except urllib.error.HTTPError as exc:
            delivery.status = exc.code
        except OSError as exc:
            delivery.error = type(exc).__name__
        with self._lock:
            self.deliveries.append(delivery)
        succeeded = delivery.status is not None and HTTP_OK_MIN <= delivery.status < HTTP_OK_MAX
        if not succeeded and attempt.attempt < MAX_RETRIES:
            wait = _FIRST_RETRY_SECONDS * 2**attempt.attempt / max(self.time_scale, 1e-9)
            retry = replace(attempt, attempt=attempt.attempt + 1)
            timer = threading.Timer(wait, self._queue.put, args=(retry,))
            timer.daemon = True
            timer.start()
