"""What a verified webhook delivery means for the queue: pure functions, no I/O.

Each vendor signs the raw request body with a shared secret, as base64 of an HMAC-SHA256:

- Shopify: `X-Shopify-Hmac-Sha256`, keyed with the app's client secret
  (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries). Headers also carry
  `X-Shopify-Topic`, `X-Shopify-Shop-Domain`, `X-Shopify-Webhook-Id`, `X-Shopify-Event-Id` (the
  same for every retry of one event: the dedupe key) and `X-Shopify-Triggered-At`
  (https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates).
- WooCommerce: `X-WC-Webhook-Signature`, keyed with the webhook's secret
  (`WC_Webhook::generate_signature`, https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks).
  `X-WC-Webhook-Delivery-ID` is `wp_hash($webhook_id . strtotime('now'))`
  (`get_new_delivery_id` in `class-wc-webhook.php`): two deliveries of one webhook in the same
  second share it, so the dedupe key adds a digest of the raw body. The ping sent when a webhook
  is saved is form-encoded `webhook_id=N`, unsigned, and must get exactly 200.
- QuickBooks Online: `intuit-signature`, keyed with the app's verifier token; the body is a JSON
  array of CloudEvents 1.0 (`id`, `source`, `type` `qbo.<entity>.<operation>.v1`, `time`,
  `intuitentityid`, `intuitaccountid` = the realm id), and one delivery may mix several
  companies (https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks,
  https://blogs.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure/).

Signatures are compared in constant time (`hmac.compare_digest`) over the bytes as received,
never over re-serialised JSON.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, urlsplit

from kconnector_realtime.queue import store_key

if TYPE_CHECKING:
    from collections.abc import Mapping

SHOPIFY_ORDER_TOPICS: Final = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "orders/delete",
        "orders/edited",
        "refunds/create",
    }
)
# Mandatory compliance topics of every public Shopify app
# (https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance).
SHOPIFY_COMPLIANCE_TOPICS: Final = frozenset(
    {"customers/data_request", "customers/redact", "shop/redact"}
)
WOOCOMMERCE_ORDER_TOPICS: Final = frozenset({"order.created", "order.updated", "order.deleted"})
# The QuickBooks documents K-Connector writes: an edit of one of them may conflict.
QUICKBOOKS_ENTITIES: Final = frozenset(
    {
        "salesreceipt",
        "invoice",
        "payment",
        "refundreceipt",
        "creditmemo",
        "deposit",
        "journalentry",
    }
)
_PING = re.compile(rb"^webhook_id=\d+$")
_CLOUDEVENT_TYPE = re.compile(r"^qbo\.(?P<entity>[a-z]+)\.(?P<operation>[a-z]+)\.v\d+$")


class DeliveryError(ValueError):
    """A signed delivery the receiver cannot use (answered 400, nothing stored)."""


@dataclass(frozen=True)
class Event:
    """One event to append to the queue (see `EventQueue.append`)."""

    store_key: str
    dedupe_key: str
    topic: str
    resource_id: str | None
    webhook_id: str | None
    occurred_at: datetime | None


def signature(body: bytes, secret: str) -> str:
    """Base64 of the HMAC-SHA256 of `body` keyed with `secret` (all three vendors)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_valid(body: bytes, given: str | None, secrets: tuple[str, ...]) -> bool:
    """Whether `given` is the signature of `body` under one of `secrets` (constant time).

    Several secrets: a rotation in progress (the new one first). No secret configured: never
    valid, so an unconfigured receiver accepts nothing.
    """
    if not given:
        return False
    try:
        given_bytes = base64.b64decode(given.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    valid = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        # No early return: every configured secret costs the same time.
        valid |= hmac.compare_digest(expected, given_bytes)
    return valid


def body_digest(body: bytes) -> str:
    """A short hex digest of the raw body (part of WooCommerce's dedupe key)."""
    return hashlib.sha256(body).hexdigest()[:32]


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp as UTC, or None when absent or unreadable (no timezone: UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _json_object(body: bytes) -> dict[str, object]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = "body is not JSON"
        raise DeliveryError(msg) from exc
    return document if isinstance(document, dict) else {}


def _identifier(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str) and str(value):
        return str(value)[:100]
    return None


def shopify_event(headers: Mapping[str, str], body: bytes) -> Event:
    """The queue event of a verified Shopify delivery.

    Raises:
        DeliveryError: a header the receiver needs is missing (the fix: a real Shopify delivery
            always carries it; check a proxy is not stripping `X-Shopify-*` headers).
    """
    topic = headers.get("x-shopify-topic", "")
    shop = headers.get("x-shopify-shop-domain", "")
    event_id = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id")
    if not topic or not shop or not event_id:
        msg = (
            "X-Shopify-Topic, X-Shopify-Shop-Domain and X-Shopify-Event-Id are required "
            "(a proxy in front of the receiver must pass X-Shopify-* headers through)"
        )
        raise DeliveryError(msg)
    document = _json_object(body)
    resource = document.get("order_id") if topic == "refunds/create" else document.get("id")
    return Event(
        store_key=store_key("shopify", shop),
        dedupe_key=f"event:{event_id}",
        topic=topic,
        resource_id=_identifier(resource),
        webhook_id=headers.get("x-shopify-webhook-id"),
        occurred_at=parse_time(headers.get("x-shopify-triggered-at"))
        or parse_time(document.get("updated_at")),
    )


def is_woocommerce_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """WooCommerce's ping when a webhook is saved: form-encoded `webhook_id=N`, unsigned."""
    return "x-wc-webhook-signature" not in headers and bool(_PING.match(body.strip()))


def woocommerce_event(headers: Mapping[str, str], body: bytes) -> Event:
    """The queue event of a verified WooCommerce delivery.

    Raises:
        DeliveryError: `X-WC-Webhook-Source` or `-Topic` is missing.
    """
    source = headers.get("x-wc-webhook-source", "")
    topic = headers.get("x-wc-webhook-topic", "")
    host = urlsplit(source).hostname if source else None
    if not host or not topic:
        msg = "X-WC-Webhook-Source and X-WC-Webhook-Topic are required"
        raise DeliveryError(msg)
    delivery = headers.get("x-wc-webhook-delivery-id", "")
    document = _json_object(body)
    resource = document.get("parent_id") if topic.startswith("order_refund") else None
    return Event(
        store_key=store_key("woocommerce", host),
        # The delivery id repeats within one second (see the module docstring): with the body.
        dedupe_key=f"delivery:{delivery}:{body_digest(body)}",
        topic=topic,
        resource_id=_identifier(resource or document.get("id")),
        webhook_id=headers.get("x-wc-webhook-id"),
        occurred_at=parse_time(document.get("date_modified_gmt")),
    )


def quickbooks_events(body: bytes) -> list[Event]:
    """The queue events of a verified QuickBooks CloudEvents delivery (one per event).

    Events about entities K-Connector does not write (an Account, a Vendor) are left out.

    Raises:
        DeliveryError: the body is not a JSON array of CloudEvents.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = "body is not JSON"
        raise DeliveryError(msg) from exc
    if isinstance(document, dict):  # a single event in structured mode
        document = [document]
    if not isinstance(document, list):
        msg = "body is not a JSON array of CloudEvents"
        raise DeliveryError(msg)
    found: list[Event] = []
    for cloud_event in document:
        if not isinstance(cloud_event, dict):
            msg = "body is not a JSON array of CloudEvents"
            raise DeliveryError(msg)
        event_id = _identifier(cloud_event.get("id"))
        realm = _identifier(cloud_event.get("intuitaccountid"))
        kind = _CLOUDEVENT_TYPE.match(str(cloud_event.get("type", "")))
        if event_id is None or realm is None or kind is None:
            msg = "a CloudEvent lacks id, intuitaccountid or a type qbo.<entity>.<operation>.v1"
            raise DeliveryError(msg)
        if kind["entity"] not in QUICKBOOKS_ENTITIES:
            continue
        found.append(
            Event(
                store_key=store_key("quickbooks", realm),
                dedupe_key=f"cloudevent:{event_id}",
                topic=f"{kind['entity']}.{kind['operation']}",
                resource_id=_identifier(cloud_event.get("intuitentityid")),
                webhook_id=None,
                occurred_at=parse_time(cloud_event.get("time")),
            )
        )
    return found


def form_field(body: bytes, name: str) -> str | None:
    """One field of a form-encoded body (the WooCommerce ping's `webhook_id`)."""
    values = parse_qs(body.decode("ascii", "replace")).get(name)
    return values[0] if values else None
