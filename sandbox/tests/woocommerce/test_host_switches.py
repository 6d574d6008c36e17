"""Host misbehaviour switches and injected faults, as a client sees them."""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT = 10
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0"


def switch(store: Any, **values: Any) -> None:
    response = requests.post(store.url + "/__admin/switches", json=values, timeout=TIMEOUT)
    assert response.status_code == 200


def get_orders(store: Any, **kwargs: Any) -> requests.Response:
    return requests.get(store.api + "/orders", auth=store.auth, timeout=TIMEOUT, **kwargs)


def test_plain_permalinks_serve_html_404_at_wp_json_but_rest_route_works(store: Any) -> None:
    switch(store, plain_permalinks=True)
    pretty = get_orders(store)
    assert pretty.status_code == 404
    assert pretty.headers["Content-Type"].startswith("text/html")
    plain = requests.get(
        store.url + "/",
        params={"rest_route": "/wc/v3/orders", "per_page": "2"},
        auth=store.auth,
        timeout=TIMEOUT,
    )
    assert plain.status_code == 200
    assert len(plain.json()) == 2
    assert "?rest_route=/wc/v3/orders" in plain.headers["Link"]


def test_html_cache_returns_a_page_instead_of_json(store: Any) -> None:
    switch(store, html_cache=True)
    response = get_orders(store)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.lstrip().startswith("<!DOCTYPE html>")


def test_security_plugin_rejects_the_rest_api(store: Any) -> None:
    switch(store, rest_api_disabled=True)
    response = get_orders(store)
    assert response.status_code == 401
    assert response.json() == {
        "code": "rest_login_required",
        "message": "REST API restricted to authenticated users.",
        "data": {"status": 401},
    }


def test_waf_blocks_scripted_user_agents_with_html_403(store: Any) -> None:
    switch(store, waf_block_scripts=True)
    blocked = get_orders(store)
    assert blocked.status_code == 403
    assert "Forbidden" in blocked.text
    allowed = get_orders(store, headers={"User-Agent": BROWSER})
    assert allowed.status_code == 200


def test_stripped_authorization_header_leaves_only_query_auth(store: Any) -> None:
    switch(store, strip_authorization=True)
    basic = get_orders(store)
    assert basic.status_code == 401
    assert basic.json()["code"] == "woocommerce_rest_cannot_view"
    key, secret = store.auth
    query = requests.get(
        store.api + "/orders",
        params={"consumer_key": key, "consumer_secret": secret},
        timeout=TIMEOUT,
    )
    assert query.status_code == 200


def test_rate_limit_answers_429_with_retry_after(store: Any) -> None:
    switch(store, rate_limit_per_minute=2)
    statuses = [get_orders(store).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = get_orders(store)
    assert int(limited.headers["Retry-After"]) >= 1


def test_unknown_switch_is_rejected(store: Any) -> None:
    response = requests.post(store.url + "/__admin/switches", json={"cdn": True}, timeout=TIMEOUT)
    assert response.status_code == 400


def test_fault_plan_from_admin_injects_server_errors(store: Any) -> None:
    response = requests.post(store.url + "/__admin/faults", json={"spec": "500=1"}, timeout=TIMEOUT)
    assert response.status_code == 200
    failed = get_orders(store)
    assert failed.status_code == 500
    assert failed.json()["code"] == "internal_server_error"
    requests.post(store.url + "/__admin/faults", json={"spec": "429=1"}, timeout=TIMEOUT)
    throttled = get_orders(store)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    requests.post(store.url + "/__admin/faults", json={"spec": ""}, timeout=TIMEOUT)
    assert get_orders(store).status_code == 200
    injected = requests.get(store.url + "/__admin/faults", timeout=TIMEOUT).json()["injected"]
    assert injected["500"] == 1


def test_reset_fault_drops_the_connection(store: Any) -> None:
    requests.post(store.url + "/__admin/faults", json={"spec": "reset=1"}, timeout=TIMEOUT)
    try:
        get_orders(store)
    except requests.ConnectionError:
        dropped = True
    else:
        dropped = False
    assert dropped


def test_request_log_counts_responses_per_status(store: Any) -> None:
    get_orders(store)
    requests.get(store.api + "/orders", timeout=TIMEOUT)
    log = requests.get(store.url + "/__admin/requests", timeout=TIMEOUT).json()
    assert log["counts"] == {"200": 1, "401": 1}
    assert log["requests"][0]["route"] == "/wc/v3/orders"
