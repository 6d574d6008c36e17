"""Customers: identity, guests, matching refs, deterministic names."""

from kconnector_canonical import Order
from kconnector_canonical.examples import load
from map_quickbooks.customers import customer_for
from map_quickbooks.rules import Settings


def _guest(email="Guest@Example.com"):
    record = load("shopify_order")
    record["customer"].update(source_id=None, is_guest=True, email=email)
    return Order.from_record(record)


def test_registered_customer_is_identified_by_platform_store_and_id(default_settings):
    customer = customer_for(Order.from_record(load("shopify_order")), default_settings)
    assert customer.external_id == "customer:shopify:kc-demo.myshopify.com:7000000001"
    assert customer.ref["fallback"]["by"] == "email"
    assert customer.ref["fallback"]["fallback"] == {
        "by": "name",
        "entity": "Customer",
        "value": "Ana López",
    }
    assert customer.ref["create"]["PrimaryPhone"] == {"FreeFormNumber": "+1 212 555 0100"}


def test_guest_with_email_gets_a_customer_per_lowercased_email(default_settings):
    customer = customer_for(_guest(), default_settings)
    assert customer.external_id == "customer:email:guest@example.com"
    assert not customer.is_walk_in


def test_guest_in_walk_in_mode_uses_the_shared_customer_without_personal_data():
    settings = Settings.from_config({"guest_customer_mode": "walk_in"})
    customer = customer_for(_guest(), settings)
    assert customer.external_id == "customer:walk-in"
    assert customer.body == {
        "DisplayName": "Online Customer",
        "Notes": "K-Connector walk-in customer",
    }


def test_guest_without_email_uses_the_walk_in_customer(default_settings):
    assert customer_for(_guest(email=None), default_settings).is_walk_in


def test_names_are_made_unique_deterministically_when_name_matching_is_off():
    settings = Settings.from_config({"customer_match_by_name": False})
    first = customer_for(Order.from_record(load("shopify_order")), settings)
    again = customer_for(Order.from_record(load("shopify_order")), settings)
    assert first.body["DisplayName"] == "Ana López (ana@example.com)"
    assert first == again
    assert first.ref["fallback"] == {
        "by": "email",
        "entity": "Customer",
        "value": "ana@example.com",
    }


def test_multicurrency_walk_in_customer_is_one_per_currency():
    settings = Settings.from_config(
        {"multicurrency": True, "home_currency": "USD", "guest_customer_mode": "walk_in"}
    )
    record = load("woocommerce_order")
    record["customer"].update(source_id=None, is_guest=True)
    customer = customer_for(Order.from_record(record), settings)
    assert customer.external_id == "customer:walk-in:EUR"
    assert customer.body["CurrencyRef"] == {"by": "id", "entity": "Currency", "value": "EUR"}
