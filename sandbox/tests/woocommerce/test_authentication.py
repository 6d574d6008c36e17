"""Consumer key/secret authentication and its errors, as WooCommerce answers them."""

from __future__ import annotations

from typing import Any

import requests

from kconnector_sandbox.woocommerce.api_keys import Permission

TIMEOUT = 10


def orders_url(store: Any) -> str:
    return f"{store.api}/orders"


def test_basic_auth_with_demo_key_lists_orders(shared_store: Any) -> None:
    response = requests.get(orders_url(shared_store), auth=shared_store.auth, timeout=TIMEOUT)
    assert response.status_code == 200


def test_query_string_credentials_work_without_authorization_header(shared_store: Any) -> None:
    key, secret = shared_store.auth
    params = {"consumer_key": key, "consumer_secret": secret}
    response = requests.get(orders_url(shared_store), params=params, timeout=TIMEOUT)
    assert response.status_code == 200


def test_missing_credentials_cannot_list_resources(shared_store: Any) -> None:
    response = requests.get(orders_url(shared_store), timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }
    single = requests.get(orders_url(shared_store) + "/1001", timeout=TIMEOUT)
    assert single.json()["message"] == "Sorry, you cannot view this resource."


def test_unknown_key_is_treated_as_unauthenticated(shared_store: Any) -> None:
    response = requests.get(orders_url(shared_store), auth=("ck_nope", "cs_nope"), timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_cannot_view"


def test_wrong_secret_is_an_authentication_error_with_basic_challenge(shared_store: Any) -> None:
    key, _secret = shared_store.auth
    response = requests.get(orders_url(shared_store), auth=(key, "cs_wrong"), timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Consumer secret is invalid.",
        "data": {"status": 401},
    }
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')


def test_wrong_secret_fails_before_route_matching(shared_store: Any) -> None:
    key, _secret = shared_store.auth
    response = requests.get(shared_store.api + "/nowhere", auth=(key, "cs_wrong"), timeout=TIMEOUT)
    assert response.status_code == 401


def test_write_only_key_has_no_read_permission(shared_store: Any) -> None:
    key = shared_store.emulator.key_with(Permission.WRITE)
    response = requests.get(
        orders_url(shared_store), auth=(key.consumer_key, key.consumer_secret), timeout=TIMEOUT
    )
    assert response.status_code == 401
    assert response.json()["message"] == "The API key provided does not have read permissions."


def test_read_only_key_can_read(shared_store: Any) -> None:
    key = shared_store.emulator.key_with(Permission.READ)
    response = requests.get(
        orders_url(shared_store), auth=(key.consumer_key, key.consumer_secret), timeout=TIMEOUT
    )
    assert response.status_code == 200


def test_invalid_parameters_are_reported_before_the_permission_check(shared_store: Any) -> None:
    response = requests.get(orders_url(shared_store), params={"per_page": 500}, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["code"] == "rest_invalid_param"
