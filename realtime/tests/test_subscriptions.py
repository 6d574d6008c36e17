"""`subscriptions`: register (idempotent), list and remove, against the store emulators."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from typing import TYPE_CHECKING

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kconnector_realtime.queue import EventQueue
from kconnector_realtime.receiver import Receiver
from kconnector_realtime.settings import RealtimeSettings, Secrets
from kconnector_realtime.subscriptions import (
    SHOPIFY_TOPICS,
    WOOCOMMERCE_TOPICS,
    ShopifySubscriptions,
    SubscriptionError,
    WooCommerceSubscriptions,
)
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.shopify import build as build_shopify
from kconnector_sandbox.shopify.webhook_subscriptions import APP_CLIENT_SECRET
from kconnector_sandbox.woocommerce import build as build_woocommerce

if TYPE_CHECKING:
    from collections.abc import Iterator

SHOP = "kconnector-us.myshopify.com"


class Collector:
    """A receiver stand-in that keeps the deliveries."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()

        async def hook(request):
            self.received.append((dict(request.headers), await request.body()))
            self.arrived.set()
            return PlainTextResponse("ok")

        self.app = Starlette(routes=[Route("/webhooks/shopify", hook, methods=["POST"])])


@pytest.fixture(scope="module")
def shopify() -> Iterator[tuple[str, object]]:
    emulator = build_shopify(SandboxOptions(seed=0, orders=2))
    with ServedApp(emulator.app) as served:
        yield served.url, emulator


@pytest.fixture
def client(shopify) -> ShopifySubscriptions:
    url, emulator = shopify
    token = emulator.shop(SHOP).profile.access_token
    return ShopifySubscriptions(f"{url}/shops/{SHOP}", token, requests.Session())


def test_register_is_idempotent_and_remove_deletes_only_that_address(client) -> None:
    address = "https://hooks.example.com/webhooks/shopify"
    other = "https://other.example.com/webhooks/shopify"

    assert client.register(address) == list(SHOPIFY_TOPICS)
    assert client.register(address) == []  # already there: nothing new
    client.register(other, ["ORDERS_CREATE"])
    listed = client.subscriptions()

    assert sorted(s.topic for s in listed if s.address == address) == sorted(SHOPIFY_TOPICS)
    assert client.remove(address) == [s.topic for s in listed if s.address == address]
    assert [(s.topic, s.address) for s in client.subscriptions()] == [("ORDERS_CREATE", other)]
    client.remove(other)


def test_a_plain_http_public_address_is_refused_with_shopifys_message(client) -> None:
    with pytest.raises(SubscriptionError, match="http:// is not supported"):
        client.register("http://hooks.example.com/webhooks/shopify", ["ORDERS_CREATE"])


def test_a_bad_token_names_the_fix(shopify) -> None:
    url, _emulator = shopify
    bad = ShopifySubscriptions(f"{url}/shops/{SHOP}", "shpat_wrong", requests.Session())
    with pytest.raises(SubscriptionError, match="access token"):
        bad.subscriptions()


def test_registered_topics_deliver_signed_with_the_apps_client_secret(shopify, client) -> None:
    url, _emulator = shopify
    collector = Collector()
    with ServedApp(collector.app) as receiver:
        address = f"{receiver.url}/webhooks/shopify"
        client.register(address, ["ORDERS_CREATE"])
        requests.post(f"{url}/__admin/{SHOP}/orders", json={}, timeout=30).raise_for_status()
        assert collector.arrived.wait(20)
        client.remove(address)

    headers, body = collector.received[0]
    expected = hmac.new(APP_CLIENT_SECRET.encode(), body, hashlib.sha256).digest()
    assert headers["x-shopify-hmac-sha256"] == base64.b64encode(expected).decode()
    assert headers["x-shopify-topic"] == "orders/create"


@pytest.fixture(scope="module")
def woocommerce() -> Iterator[object]:
    emulator = build_woocommerce(SandboxOptions(seed=0, orders=2))
    with ServedApp(emulator.app) as served:
        emulator.served_url = served.url
        yield emulator
    emulator.close()


def test_woocommerce_register_pings_the_receiver_and_is_idempotent(woocommerce, tmp_path) -> None:
    key = woocommerce.demo_key
    client = WooCommerceSubscriptions(
        woocommerce.served_url, key.consumer_key, key.consumer_secret, requests.Session()
    )
    queue = EventQueue(f"sqlite:///{tmp_path / 'store.db'}")
    settings = RealtimeSettings(
        database_url="unused", routes=(), secrets=Secrets(woocommerce=("wc-secret",))
    )
    with ServedApp(Receiver(settings, queue).app()) as receiver:
        address = f"{receiver.url}/webhooks/woocommerce"
        assert client.register(address, "wc-secret") == list(WOOCOMMERCE_TOPICS)
        assert client.register(address, "wc-secret") == []
        requests.post(
            f"{woocommerce.served_url}/__admin/orders", json={}, timeout=30
        ).raise_for_status()
        assert woocommerce.webhooks.wait_idle(20)
        stats = queue.stats()
        assert client.remove(address) == list(WOOCOMMERCE_TOPICS)
    queue.close()

    assert stats["queued"] == 1  # the pings were answered 200 and not stored; the order was
    assert client.subscriptions() == []


def test_woocommerce_bad_keys_name_the_fix(woocommerce) -> None:
    client = WooCommerceSubscriptions(
        woocommerce.served_url, "ck_wrong", "cs_wrong", requests.Session()
    )
    with pytest.raises(SubscriptionError, match="API keys"):
        client.subscriptions()
