"""The receiver over real HTTP: verify, store before 200, reject, limit, health."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pytest
import requests

from kconnector_realtime.deliveries import signature
from kconnector_realtime.queue import EventQueue
from kconnector_realtime.receiver import Receiver
from kconnector_realtime.settings import RealtimeSettings, Secrets, StoreRoute
from kconnector_sandbox.runner import ServedApp
from target_quickbooks.store.database import open_store
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

SHOPIFY_SECRET = "shpss_receiver_test_secret_value"
WOO_SECRET = "woo_receiver_test_secret_value"
VERIFIER = "intuit_verifier_token_value"
SHOP = "kconnector-us.myshopify.com"
REALM = "9130357600000001"


@pytest.fixture
def queue(database_url, clock) -> Iterator[EventQueue]:
    opened = EventQueue(database_url, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def settings(database_url) -> RealtimeSettings:
    return RealtimeSettings(
        database_url=database_url,
        routes=(StoreRoute(f"shopify:{SHOP}", "shopify-to-quickbooks", REALM),),
        secrets=Secrets(
            shopify=(SHOPIFY_SECRET,), woocommerce=(WOO_SECRET,), quickbooks=(VERIFIER,)
        ),
        max_body_bytes=4096,
    )


@pytest.fixture
def served(settings, queue) -> Iterator[str]:
    with ServedApp(Receiver(settings, queue).app()) as server:
        yield server.url


def _shopify(  # noqa: PLR0913 - one keyword per header a test varies
    url: str,
    body: bytes,
    *,
    topic: str = "orders/create",
    event_id: str = "e-1",
    secret: str = SHOPIFY_SECRET,
    hmac: str | None = None,
) -> requests.Response:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": f"wh-{event_id}",
        "X-Shopify-Triggered-At": "2031-03-14T09:26:00Z",
        "X-Shopify-Hmac-Sha256": hmac if hmac is not None else signature(body, secret),
    }
    return requests.post(f"{url}/webhooks/shopify", data=body, headers=headers, timeout=10)


ORDER = json.dumps({"id": 1001, "email": "ada@example.com", "total_price": "10.00"}).encode()


def test_a_signed_delivery_is_stored_before_the_200(served, queue) -> None:
    response = _shopify(served, ORDER)

    assert response.status_code == 200
    # The 200 came after the commit: the event is there as soon as the answer is.
    (pending,) = queue.pending()
    assert (pending.store_key, pending.events) == (f"shopify:{SHOP}", 1)


def test_a_forged_signature_gets_401_and_nothing_is_stored(served, queue) -> None:
    forged = _shopify(served, ORDER, secret="not-the-apps-secret")
    unsigned = _shopify(served, ORDER, hmac="")

    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert queue.pending() == []
    assert queue.stats()["events"] == 0


def test_the_same_delivery_five_times_is_one_event(served, queue) -> None:
    answers = [_shopify(served, ORDER).status_code for _ in range(5)]

    assert answers == [200] * 5  # a duplicate is acknowledged, or Shopify retries it
    assert [p.events for p in queue.pending()] == [1]
    health = requests.get(f"{served}/healthz", timeout=10).json()
    assert health["counters"]["received"] == 5
    assert health["counters"]["queued"] == 1
    assert health["counters"]["duplicate"] == 4
    assert health["queue"]["duplicate"] == 4


def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(served, queue) -> None:
    big = json.dumps({"id": 1, "note": "x" * 5000}).encode()

    assert _shopify(served, big).status_code == 413
    assert queue.stats()["events"] == 0


def test_a_chunked_body_over_the_limit_gets_413(served, queue) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    response = requests.post(f"{served}/webhooks/shopify", data=chunks(), timeout=10)
    assert response.status_code == 413
    assert queue.stats()["events"] == 0


def test_the_woocommerce_ping_gets_exactly_200_and_is_not_stored(served, queue) -> None:
    response = requests.post(
        f"{served}/webhooks/woocommerce",
        data=b"webhook_id=7",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )

    assert response.status_code == 200
    assert queue.stats()["events"] == 0


def _woo(url: str, body: bytes, delivery: str, secret: str = WOO_SECRET) -> requests.Response:
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "http://shop.example.com/",
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-ID": "1",
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": signature(body, secret),
    }
    return requests.post(f"{url}/webhooks/woocommerce", data=body, headers=headers, timeout=10)


def test_woocommerce_deliveries_sharing_an_id_in_one_second_are_both_kept(served, queue) -> None:
    assert _woo(served, b'{"id": 1}', "same-second").status_code == 200
    assert _woo(served, b'{"id": 2}', "same-second").status_code == 200
    assert _woo(served, b'{"id": 1}', "same-second").status_code == 200  # a retry

    assert [p.events for p in queue.pending()] == [2]
    assert _woo(served, b'{"id": 3}', "x", secret="forged").status_code == 401


def test_quickbooks_cloudevents_are_verified_with_the_verifier_token(served, queue) -> None:
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "ce-1",
                "source": "intuit.quickbooks",
                "type": "qbo.salesreceipt.updated.v1",
                "time": "2031-03-14T09:26:00Z",
                "intuitentityid": "145",
                "intuitaccountid": REALM,
            }
        ]
    ).encode()
    url = f"{served}/webhooks/quickbooks"
    forged = requests.post(
        url, data=body, headers={"intuit-signature": signature(body, "x" * 20)}, timeout=10
    )
    signed = requests.post(
        url, data=body, headers={"intuit-signature": signature(body, VERIFIER)}, timeout=10
    )

    assert (forged.status_code, signed.status_code) == (401, 200)
    assert [p.store_key for p in queue.pending()] == [f"quickbooks:{REALM}"]


def test_compliance_requests_answer_with_the_documents_held_and_never_run(
    served, queue, database_url
) -> None:
    store = open_store(database_url)
    store.ledger.put_many(
        [
            LedgerEntry(
                realm_id=REALM,
                external_id=f"shopify:{SHOP}:1001#sale",
                entity="SalesReceipt",
                qbo_id="145",
                sync_token="0",
                body_hash="h",
                status=LedgerStatus.ACTIVE,
            )
        ]
    )
    store.close()
    body = json.dumps(
        {
            "shop_domain": SHOP,
            "customer": {"id": 1, "email": "ada@example.com"},
            "orders_requested": [1001, 1002],
        }
    ).encode()

    response = _shopify(served, body, topic="customers/data_request", event_id="c-1")

    assert response.status_code == 200
    answer = response.json()
    assert answer["orders_requested"] == ["1001", "1002"]
    assert answer["documents_held"] == [
        {"external_id": f"shopify:{SHOP}:1001#sale", "entity": "SalesReceipt", "qbo_id": "145"}
    ]
    assert "ada@example.com" not in response.text
    assert queue.pending() == []  # kept on record, never dispatched
    assert queue.stats()["recorded"] == 1


def test_logs_carry_ids_never_the_payload_or_secrets(served, caplog) -> None:
    caplog.set_level(logging.INFO, logger="kconnector_realtime")
    _shopify(served, ORDER)
    _shopify(served, ORDER, secret="forged-secret-value")

    text = caplog.text
    assert "event=webhook_queued" in text
    assert "event=webhook_rejected" in text
    assert "ada@example.com" not in text
    assert SHOPIFY_SECRET not in text


def test_healthz_is_503_when_the_database_is_gone(settings, tmp_path) -> None:
    queue = EventQueue(f"sqlite:///{tmp_path / 'gone.db'}")
    with ServedApp(Receiver(settings, queue).app()) as server:
        with queue.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE realtime_events")
        response = requests.get(f"{server.url}/healthz", timeout=10)
    queue.close()
    assert response.status_code == 503
