"""Routes and secrets: read once, secrets never from a file, clear errors naming the fix."""

from __future__ import annotations

import pytest

from kconnector_realtime.settings import (
    Secrets,
    SettingsError,
    StoreRoute,
    load_routes,
    parse_routes,
    secrets_list,
)

ROUTES = """
[[stores]]
store = "shopify:kconnector-us.myshopify.com"
realm_id = "9130357600000001"

[[stores]]
store = "woocommerce:shop.example.com"
job = "woo-eu"
realm_id = "9130357600000002"
"""


def test_routes_default_the_platforms_job() -> None:
    assert parse_routes(ROUTES, origin="t") == (
        StoreRoute(
            "shopify:kconnector-us.myshopify.com", "shopify-to-quickbooks", "9130357600000001"
        ),
        StoreRoute("woocommerce:shop.example.com", "woo-eu", "9130357600000002"),
    )


def test_a_secret_in_the_routes_file_is_refused() -> None:
    text = ROUTES + 'secret = "x"\n'
    with pytest.raises(SettingsError, match=r"secret must not be in a file"):
        parse_routes(text, origin="stores.toml")


def test_a_route_without_its_company_names_the_field() -> None:
    with pytest.raises(SettingsError, match=r"stores\[0\]\.realm_id: required"):
        parse_routes('[[stores]]\nstore = "shopify:a.myshopify.com"\n', origin="t")


def test_a_url_instead_of_a_store_key_names_the_fix() -> None:
    with pytest.raises(SettingsError, match=r"stores\[0\]\.store: .*bare host name"):
        parse_routes('[[stores]]\nstore = "shopify:https://a/"\nrealm_id = "1"\n', origin="t")


def test_a_store_routed_twice_is_refused() -> None:
    entry = '[[stores]]\nstore = "shopify:a.myshopify.com"\nrealm_id = "1"\n'
    with pytest.raises(SettingsError, match="routed twice"):
        parse_routes(entry * 2, origin="t")


def test_routes_come_from_the_environment_without_a_file() -> None:
    routes = load_routes(None, {"KCONNECTOR_REALTIME_STORES": ROUTES})
    assert len(routes) == 2
    assert load_routes(None, {}) == ()


def test_secrets_rotate_and_never_print() -> None:
    secrets = Secrets(shopify=secrets_list(" new-value , old-value ,"))
    assert secrets.shopify == ("new-value", "old-value")
    assert "new-value" not in repr(secrets)
    assert "new-value" not in str(secrets)
