"""Signatures and the meaning of each vendor's delivery (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from kconnector_realtime import deliveries
from kconnector_realtime.deliveries import DeliveryError

SECRET = "shpss_test_0123456789abcdef"


def test_a_signature_of_the_raw_bytes_is_valid() -> None:
    body = b'{"id": 1,  "total": "10.00"}'  # spacing kept: never re-serialised
    assert deliveries.signature_valid(body, deliveries.signature(body, SECRET), (SECRET,))


def test_a_signature_of_reserialised_json_is_not_the_same() -> None:
    body = b'{"id": 1,  "total": "10.00"}'
    reserialised = json.dumps(json.loads(body)).encode()
    assert not deliveries.signature_valid(
        body, deliveries.signature(reserialised, SECRET), (SECRET,)
    )


@pytest.mark.parametrize("given", [None, "", "not base64!", "AAAA"])
def test_missing_or_malformed_signatures_are_invalid(given: str | None) -> None:
    assert not deliveries.signature_valid(b"{}", given, (SECRET,))


def test_no_configured_secret_accepts_nothing() -> None:
    body = b"{}"
    assert not deliveries.signature_valid(body, deliveries.signature(body, SECRET), ())


def test_either_secret_of_a_rotation_is_accepted() -> None:
    body = b"{}"
    old = deliveries.signature(body, "old-secret-value")
    assert deliveries.signature_valid(body, old, ("new-secret-value", "old-secret-value"))


def _shopify_headers(**extra: str) -> dict[str, str]:
    return {
        "x-shopify-topic": "orders/create",
        "x-shopify-shop-domain": "Demo.myshopify.com",
        "x-shopify-event-id": "evt-42",
        "x-shopify-webhook-id": "wh-7",
        "x-shopify-triggered-at": "2031-03-14T09:26:50.123Z",
        **extra,
    }


def test_a_shopify_order_delivery_is_keyed_by_its_event_id() -> None:
    event = deliveries.shopify_event(_shopify_headers(), b'{"id": 820982911946154508}')

    assert event.store_key == "shopify:demo.myshopify.com"
    assert event.dedupe_key == "event:evt-42"
    assert event.webhook_id == "wh-7"
    assert event.resource_id == "820982911946154508"
    assert event.occurred_at == datetime(2031, 3, 14, 9, 26, 50, 123000, tzinfo=UTC)


def test_a_shopify_refund_names_its_order() -> None:
    headers = _shopify_headers(**{"x-shopify-topic": "refunds/create"})
    event = deliveries.shopify_event(headers, b'{"id": 5, "order_id": 99}')
    assert event.resource_id == "99"


def test_a_shopify_delivery_without_its_headers_names_them() -> None:
    with pytest.raises(DeliveryError, match="X-Shopify-Event-Id"):
        deliveries.shopify_event({"x-shopify-topic": "orders/create"}, b"{}")


def test_the_woocommerce_ping_is_recognised_only_unsigned() -> None:
    assert deliveries.is_woocommerce_ping({}, b"webhook_id=12")
    assert not deliveries.is_woocommerce_ping({"x-wc-webhook-signature": "x"}, b"webhook_id=12")
    assert not deliveries.is_woocommerce_ping({}, b'{"id": 12}')


def _woo_headers(delivery: str = "d41d8cd98f00b204e9800998ecf8427e") -> dict[str, str]:
    return {
        "x-wc-webhook-source": "https://Shop.Example.com/",
        "x-wc-webhook-topic": "order.updated",
        "x-wc-webhook-id": "3",
        "x-wc-webhook-delivery-id": delivery,
    }


def test_two_woocommerce_deliveries_in_one_second_are_two_events() -> None:
    # WooCommerce's delivery id is a hash of the webhook id and the current second.
    first = deliveries.woocommerce_event(_woo_headers(), b'{"id": 1}')
    second = deliveries.woocommerce_event(_woo_headers(), b'{"id": 2}')
    again = deliveries.woocommerce_event(_woo_headers(), b'{"id": 1}')

    assert first.dedupe_key != second.dedupe_key
    assert first.dedupe_key == again.dedupe_key
    assert first.store_key == "woocommerce:shop.example.com"
    assert (first.resource_id, second.resource_id) == ("1", "2")


def test_woocommerce_event_time_is_the_orders_gmt_modification() -> None:
    event = deliveries.woocommerce_event(
        _woo_headers(), b'{"id": 1, "date_modified_gmt": "2031-03-14T09:20:00"}'
    )
    assert event.occurred_at == datetime(2031, 3, 14, 9, 20, tzinfo=UTC)


def _cloud_event(entity: str = "salesreceipt", realm: str = "9130357600000001") -> dict[str, str]:
    return {
        "specversion": "1.0",
        "id": f"ce-{entity}-{realm}",
        "source": "intuit.quickbooks",
        "type": f"qbo.{entity}.updated.v1",
        "datacontenttype": "application/json",
        "time": "2031-03-14T09:26:00Z",
        "intuitentityid": "145",
        "intuitaccountid": realm,
    }


def test_quickbooks_cloudevents_of_several_companies_are_split_by_realm() -> None:
    body = json.dumps(
        [_cloud_event(realm="1"), _cloud_event(realm="2"), _cloud_event(entity="account")]
    ).encode()

    events = deliveries.quickbooks_events(body)

    assert [(e.store_key, e.topic, e.resource_id) for e in events] == [
        ("quickbooks:1", "salesreceipt.updated", "145"),
        ("quickbooks:2", "salesreceipt.updated", "145"),
    ]  # an Account is not a document K-Connector writes
    assert events[0].dedupe_key == "cloudevent:ce-salesreceipt-1"


def test_a_cloudevent_without_its_realm_is_refused() -> None:
    event = _cloud_event()
    del event["intuitaccountid"]
    with pytest.raises(DeliveryError, match="intuitaccountid"):
        deliveries.quickbooks_events(json.dumps([event]).encode())


def test_the_legacy_quickbooks_envelope_is_refused_with_the_reason() -> None:
    legacy = {"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": []}}]}
    with pytest.raises(DeliveryError, match="CloudEvent"):
        deliveries.quickbooks_events(json.dumps(legacy).encode())
