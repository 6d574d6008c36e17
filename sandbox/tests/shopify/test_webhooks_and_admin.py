import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
import requests


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list] = []
    failures_left: ClassVar[list] = [0]

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        self.received.append((self.headers, body))  # case-insensitive lookups
        if self.failures_left[0] > 0:
            self.failures_left[0] -= 1
            self.send_response(500)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    _Receiver.failures_left = [0]
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks", _Receiver.received
    server.shutdown()
    server.server_close()


def test_webhook_hmac_verifies_over_the_raw_body(served, receiver):
    address, received = receiver
    response = served.admin(
        "POST",
        "webhooks",
        json={"shop": "us", "address": address, "secret": "s3cret", "topics": ["orders/updated"]},
    )
    assert response.status_code == 201
    order = next(iter(served.shop.orders.values()))
    served.admin("POST", f"us/orders/{order.legacy_resource_id}/edit", json={"note": "gift wrap"})
    served.emulator.webhooks.wait_idle()
    assert len(received) == 1
    headers, body = received[0]
    expected = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(headers["X-Shopify-Hmac-Sha256"], expected)
    assert headers["X-Shopify-Topic"] == "orders/updated"
    assert headers["X-Shopify-Shop-Domain"] == "kconnector-us.myshopify.com"
    for name in (
        "X-Shopify-API-Version",
        "X-Shopify-Webhook-Id",
        "X-Shopify-Event-Id",
        "X-Shopify-Triggered-At",
    ):
        assert headers[name]
    payload = json.loads(body)
    assert payload["id"] == order.legacy_resource_id
    assert payload["note"] == "gift wrap"


def test_failed_delivery_is_retried_with_the_same_ids_and_body(served, receiver):
    address, received = receiver
    _Receiver.failures_left[0] = 1
    served.admin("POST", "webhooks", json={"shop": "us", "address": address, "secret": "k"})
    order = next(iter(served.shop.orders.values()))
    served.admin("DELETE", f"us/orders/{order.legacy_resource_id}")
    for _ in range(300):
        if len(received) >= 2:
            break
        time.sleep(0.01)
    assert len(received) == 2
    (first_headers, first_body), (retry_headers, retry_body) = received
    assert first_headers["X-Shopify-Topic"] == "orders/delete"
    assert json.loads(first_body) == {"id": order.legacy_resource_id}
    assert retry_body == first_body
    assert retry_headers["X-Shopify-Webhook-Id"] == first_headers["X-Shopify-Webhook-Id"]


def test_admin_edit_bumps_updated_at_and_reprices(served):
    order = next(
        o
        for o in served.shop.orders.values()
        if o.display_financial_status == "PAID" and not o.refunds
    )
    response = served.admin(
        "POST",
        f"us/orders/{order.legacy_resource_id}/edit",
        json={"quantities": {"0": order.line_items[0].quantity + 1}},
    )
    assert response.status_code == 200
    edited = served.shop.find(order.legacy_resource_id)
    assert edited.updated_at > order.updated_at
    assert edited.line_items[0].quantity == order.line_items[0].quantity + 1
    assert edited.subtotal_price_set.shop_money.amount > order.subtotal_price_set.shop_money.amount


def test_admin_refund_and_cancel_change_financial_status(served):
    order = next(
        o
        for o in served.shop.orders.values()
        if o.display_financial_status == "PAID" and not o.refunds
    )
    served.admin("POST", f"us/orders/{order.legacy_resource_id}/refund", json={"lines": [[0, 1]]})
    refunded = served.shop.find(order.legacy_resource_id)
    assert refunded.display_financial_status in {"PARTIALLY_REFUNDED", "REFUNDED"}
    served.admin(
        "POST", f"us/orders/{order.legacy_resource_id}/cancel", json={"reason": "CUSTOMER"}
    )
    cancelled = served.shop.find(order.legacy_resource_id)
    assert cancelled.cancelled_at is not None
    assert (
        cancelled.current_total_price_set.shop_money.amount
        == cancelled.total_tip_received_set.shop_money.amount
    )


def test_admin_created_order_is_listed_and_counts_requests(served):
    created = served.admin("POST", "us/orders", json={}).json()
    listed = served.admin("GET", "us/orders").json()
    assert created["id"] in {o["id"] for o in listed}
    served.post("{ shop { name } }", token="bad")
    log = served.admin("GET", "requests").json()
    assert log["by_status"]["401"] == 1


def test_fault_plan_answers_429_with_retry_after(served):
    served.admin("POST", "faults", json={"spec": "429=1", "seed": 1})
    response = served.post("{ shop { name } }")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2.0"


def test_reset_fault_drops_the_connection_without_a_response(served):
    served.admin("POST", "faults", json={"spec": "reset=1", "seed": 1})
    with pytest.raises(requests.ConnectionError):
        served.post("{ shop { name } }")
    served.admin("POST", "faults", json={"spec": ""})
    assert served.post("{ shop { name } }").status_code == 200
