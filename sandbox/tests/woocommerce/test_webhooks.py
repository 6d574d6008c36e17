"""Webhook deliveries: headers, HMAC over the raw body, and disabling after repeated failures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 10
SECRET = "whsec-k-connector"


@dataclass
class Receiver:
    """A tiny delivery receiver: answers `status`, records (headers, raw body)."""

    url: str
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/woo"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def register(store: Any, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    body = {"delivery_url": receiver.url, "secret": SECRET, **extra}
    response = requests.post(store.url + "/__admin/webhooks", json=body, timeout=TIMEOUT)
    assert response.status_code == 201
    webhook: dict[str, Any] = response.json()
    return webhook


def modify(store: Any, order_id: int) -> None:
    response = requests.post(
        store.url + f"/__admin/orders/{order_id}/modify", json={}, timeout=TIMEOUT
    )
    assert response.status_code == 200


def test_order_update_is_delivered_signed_over_the_raw_body(store: Any, receiver: Receiver) -> None:
    webhook = register(store, receiver)
    order_id = store.emulator.state.all_orders()[0]["id"]
    modify(store, order_id)
    assert store.emulator.webhooks.wait_idle()
    headers, body = receiver.received[0]
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["X-WC-Webhook-Signature"] == expected
    assert headers["X-WC-Webhook-Topic"] == "order.updated"
    assert headers["X-WC-Webhook-Resource"] == "order"
    assert headers["X-WC-Webhook-Event"] == "updated"
    assert headers["X-WC-Webhook-ID"] == str(webhook["id"])
    assert headers["X-WC-Webhook-Source"] == store.url + "/"
    assert len(headers["X-WC-Webhook-Delivery-ID"]) == 32
    assert json.loads(body)["id"] == order_id
    reencoded = json.dumps(json.loads(body)).encode()
    assert (
        headers["X-WC-Webhook-Signature"]
        != base64.b64encode(hmac.new(SECRET.encode(), reencoded, hashlib.sha256).digest()).decode()
    )


def test_created_and_deleted_topics_are_delivered(store: Any, receiver: Receiver) -> None:
    register(store, receiver)
    created = requests.post(store.url + "/__admin/orders", json={}, timeout=TIMEOUT).json()
    requests.post(store.url + f"/__admin/orders/{created['id']}/trash", timeout=TIMEOUT)
    assert store.emulator.webhooks.wait_idle()
    topics = [headers["X-WC-Webhook-Topic"] for headers, _body in receiver.received]
    assert topics == ["order.created", "order.deleted"]
    assert json.loads(receiver.received[1][1]) == {"id": created["id"]}


def test_webhook_only_gets_its_topics(store: Any, receiver: Receiver) -> None:
    register(store, receiver, topics=["order.created"])
    modify(store, store.emulator.state.all_orders()[0]["id"])
    requests.post(store.url + "/__admin/orders", json={}, timeout=TIMEOUT)
    assert store.emulator.webhooks.wait_idle()
    assert [h["X-WC-Webhook-Topic"] for h, _ in receiver.received] == ["order.created"]


def test_webhook_is_disabled_after_consecutive_failures(store: Any, receiver: Receiver) -> None:
    receiver.status = 500
    register(store, receiver)
    order_id = store.emulator.state.all_orders()[0]["id"]
    for _ in range(6):
        modify(store, order_id)
    assert store.emulator.webhooks.wait_idle()
    hook = requests.get(store.url + "/__admin/webhooks", timeout=TIMEOUT).json()["webhooks"][0]
    assert (hook["status"], hook["failure_count"]) == ("active", 6)
    modify(store, order_id)
    assert store.emulator.webhooks.wait_idle()
    hook = requests.get(store.url + "/__admin/webhooks", timeout=TIMEOUT).json()["webhooks"][0]
    assert hook["status"] == "disabled"
    modify(store, order_id)
    assert store.emulator.webhooks.wait_idle()
    assert len(receiver.received) == 7


def test_a_success_resets_the_failure_count(store: Any, receiver: Receiver) -> None:
    receiver.status = 503
    register(store, receiver)
    order_id = store.emulator.state.all_orders()[0]["id"]
    modify(store, order_id)
    modify(store, order_id)
    assert store.emulator.webhooks.wait_idle()
    receiver.status = 302
    modify(store, order_id)
    assert store.emulator.webhooks.wait_idle()
    hook = store.emulator.webhooks.webhooks()[0]
    assert (hook.status, hook.failure_count) == ("active", 0)
