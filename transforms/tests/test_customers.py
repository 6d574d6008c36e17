"""Customers: identity, guests, matching refs, deterministic names."""

from kconnector_canonical import Order
from kconnector_canonical.examples import load
from map_quickbooks.customers import customer_for
from map_quickbooks.rules import Settings


def _guest(email="Guest@Example.com"):
    record = load("shopify_order")
    record["customer"].update(source_id=None, is_guest=True, email=email)
    return Order.from_record(record)


def test_registered_customer_without_email_is_identified_by_platform_store_and_id(
    default_settings,
):
    record = load("shopify_order")
    record["customer"]["email"] = None
    customer = customer_for(Order.from_record(record), default_settings)
    assert customer.external_id == "customer:shopify:kc-demo.myshopify.com:7000000001"
    assert customer.ref["fallback"] == {"by": "name", "entity": "Customer", "value": "Ana López"}


def test_registered_customer_with_email_is_identified_by_the_lowercased_email(default_settings):
    customer = customer_for(Order.from_record(load("shopify_order")), default_settings)
    assert customer.external_id == "customer:email:ana@example.com"
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


def test_one_person_is_one_customer_across_guest_checkout_account_and_stores(default_settings):
    guest = customer_for(_guest(email="Ana@Example.com"), default_settings)
    account = customer_for(Order.from_record(load("shopify_order")), default_settings)
    woo = load("woocommerce_order")
    woo["customer"]["email"] = "ANA@example.com"
    other_store = customer_for(Order.from_record(woo), default_settings)
    assert guest.external_id == account.external_id == other_store.external_id
    assert account.ref["value"] == "customer:email:ana@example.com"


def _named(first, last, company=None):
    record = load("shopify_order")
    record["customer"].update(first_name=first, last_name=last, company=company)
    return Order.from_record(record)


def test_names_with_colon_tab_or_newline_become_valid_and_keep_the_original_in_notes(
    default_settings,
):
    customer = customer_for(_named("ACME:", "Retail\tEast\nWing", "ACME: Retail"), default_settings)
    body = customer.body
    assert body["DisplayName"] == "ACME - Retail East Wing"
    assert body["GivenName"] == "ACME -"
    assert body["FamilyName"] == "Retail East Wing"
    assert body["CompanyName"] == "ACME - Retail"
    assert "Name in store: ACME: Retail\tEast\nWing" in body["Notes"]
    assert customer.ref["fallback"]["fallback"]["value"] == "ACME - Retail East Wing"
    for field in ("DisplayName", "GivenName", "FamilyName", "CompanyName"):
        assert not set(body[field]) & {":", "\t", "\n"}


def test_names_are_cut_to_the_documented_lengths(default_settings):
    body = customer_for(_named("G" * 150, "F" * 120, "C" * 130), default_settings).body
    assert (len(body["GivenName"]), len(body["FamilyName"]), len(body["CompanyName"])) == (
        100,
        100,
        100,
    )
    assert body["DisplayName"] == "G" * 150 + " " + "F" * 120
    assert "Name in store:" in body["Notes"]


def test_valid_names_keep_notes_unchanged(default_settings):
    body = customer_for(Order.from_record(load("shopify_order")), default_settings).body
    assert body["Notes"] == "K-Connector customer:email:ana@example.com"
