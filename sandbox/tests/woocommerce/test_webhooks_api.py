"""REST API v3 webhooks: create (with its ping), list, read, delete; the delivery id's second."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
import requests

from kconnector_sandbox.woocommerce.api_keys import Permission

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 10


@dataclass
class Receiver:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers.items()), body))
            self.send_response(200)
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


def _create(store: Any, **body: Any) -> requests.Response:
    return requests.post(f"{store.api}/webhooks", json=body, auth=store.auth, timeout=TIMEOUT)


def test_create_answers_201_then_pings_unsigned(store: Any, receiver: Receiver) -> None:
    response = _create(
        store, name="K", topic="order.created", delivery_url=receiver.url, secret="s3cret"
    )

    assert response.status_code == 201
    created = response.json()
    assert (created["topic"], created["resource"], created["event"]) == (
        "order.created",
        "order",
        "created",
    )
    assert "secret" not in created
    assert response.headers["Location"].endswith(f"/wc/v3/webhooks/{created['id']}")
    ((headers, body),) = receiver.received
    assert body == f"webhook_id={created['id']}".encode()
    assert "X-WC-Webhook-Signature" not in headers


def test_list_read_and_delete_with_force(store: Any, receiver: Receiver) -> None:
    first = _create(store, topic="order.created", delivery_url=receiver.url).json()
    second = _create(store, topic="order.updated", delivery_url=receiver.url).json()

    listed = requests.get(f"{store.api}/webhooks", auth=store.auth, timeout=TIMEOUT)
    assert [w["id"] for w in listed.json()] == [first["id"], second["id"]]
    assert listed.headers["X-WP-Total"] == "2"

    url = f"{store.api}/webhooks/{first['id']}"
    trashing = requests.delete(url, auth=store.auth, timeout=TIMEOUT)
    assert (trashing.status_code, trashing.json()["code"]) == (
        501,
        "woocommerce_rest_trash_not_supported",
    )
    deleted = requests.delete(url, params={"force": "true"}, auth=store.auth, timeout=TIMEOUT)
    assert deleted.status_code == 200
    gone = requests.get(url, auth=store.auth, timeout=TIMEOUT)
    assert (gone.status_code, gone.json()["code"]) == (
        404,
        "woocommerce_rest_shop_webhook_invalid_id",
    )
    third = _create(store, topic="order.deleted", delivery_url=receiver.url).json()
    assert third["id"] > second["id"]  # ids are never reused


def test_create_needs_a_topic_and_a_delivery_url(store: Any) -> None:
    response = _create(store, name="incomplete")
    assert (response.status_code, response.json()["code"]) == (400, "rest_missing_callback_param")
    bad = _create(store, topic="order.created", delivery_url="ftp://x.example.com/")
    assert bad.json()["code"] == "woocommerce_rest_webhook_invalid_delivery_url"


def test_webhooks_need_a_key_and_writes_a_write_key(store: Any) -> None:
    anonymous = requests.get(f"{store.api}/webhooks", timeout=TIMEOUT)
    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "woocommerce_rest_cannot_view",
    )
    read_only = store.emulator.key_with(Permission.READ)
    response = requests.post(
        f"{store.api}/webhooks",
        json={"topic": "order.created", "delivery_url": "https://x.example.com/"},
        auth=(read_only.consumer_key, read_only.consumer_secret),
        timeout=TIMEOUT,
    )
    assert response.status_code == 401


def test_two_deliveries_in_one_second_share_the_delivery_id(store: Any, receiver: Receiver) -> None:
    store.emulator.webhooks._now = lambda: 1_900_000_000.25
    _create(store, topic="order.updated", delivery_url=receiver.url, secret="s")
    receiver.received.clear()
    orders = requests.get(f"{store.url}/__admin/orders", timeout=TIMEOUT).json()
    for order in orders[:2]:
        requests.post(
            f"{store.url}/__admin/orders/{order['id']}/modify", json={}, timeout=TIMEOUT
        ).raise_for_status()
    assert store.emulator.webhooks.wait_idle(10)

    ids = {headers["X-WC-Webhook-Delivery-ID"] for headers, _body in receiver.received}
    assert len(receiver.received) == 2
    assert len(ids) == 1  # as WooCommerce's get_new_delivery_id: webhook id + the second
