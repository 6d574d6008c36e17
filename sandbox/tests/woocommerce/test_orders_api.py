"""GET /wp-json/wc/v3/orders and friends, against a served store, with plain `requests`."""

from __future__ import annotations

import re
from typing import Any

import requests

from kconnector_sandbox.cli import build_emulator
from kconnector_sandbox.options import SandboxOptions

TIMEOUT = 10


def get(store: Any, route: str, **params: Any) -> requests.Response:
    return requests.get(store.api + route, params=params, auth=store.auth, timeout=TIMEOUT)


def all_orders(store: Any) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = store.emulator.state.all_orders()
    return orders


def links(response: requests.Response) -> dict[str, str]:
    return {
        rel: url
        for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))
    }


def test_default_page_has_ten_orders_newest_first_and_total_headers(shared_store: Any) -> None:
    response = get(shared_store, "/orders")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    visible = [o for o in all_orders(shared_store) if o["status"] != "trash"]
    body = response.json()
    assert len(body) == 10
    assert int(response.headers["X-WP-Total"]) == len(visible)
    assert int(response.headers["X-WP-TotalPages"]) == -(-len(visible) // 10)
    assert [o["date_created"] for o in body] == sorted(
        (o["date_created"] for o in body), reverse=True
    )


def test_link_header_has_next_on_first_page_and_prev_on_last(shared_store: Any) -> None:
    first = get(shared_store, "/orders", per_page=25)
    pages = int(first.headers["X-WP-TotalPages"])
    assert set(links(first)) == {"next"}
    assert "page=2" in links(first)["next"]
    assert "per_page=25" in links(first)["next"]
    last = get(shared_store, "/orders", per_page=25, page=pages)
    assert set(links(last)) == {"prev"}
    assert f"page={pages - 1}" in links(last)["prev"]


def test_following_next_links_reads_every_visible_order_once(shared_store: Any) -> None:
    url: str | None = shared_store.api + "/orders?per_page=7&orderby=id&order=asc"
    seen: list[int] = []
    while url:
        response = requests.get(url, auth=shared_store.auth, timeout=TIMEOUT)
        seen.extend(o["id"] for o in response.json())
        url = links(response).get("next")
    visible = sorted(o["id"] for o in all_orders(shared_store) if o["status"] != "trash")
    assert seen == visible


def test_page_past_the_end_is_empty_with_real_totals(shared_store: Any) -> None:
    response = get(shared_store, "/orders", page=999)
    assert response.status_code == 200
    assert response.json() == []
    assert int(response.headers["X-WP-Total"]) > 0


def test_offset_overrides_page_and_total_ignores_offset(shared_store: Any) -> None:
    by_id = get(shared_store, "/orders", orderby="id", order="asc", per_page=5).json()
    shifted = get(shared_store, "/orders", orderby="id", order="asc", per_page=5, offset=2, page=9)
    assert [o["id"] for o in shifted.json()][:3] == [o["id"] for o in by_id][2:]
    assert shifted.headers["X-WP-Total"] == get(shared_store, "/orders").headers["X-WP-Total"]


def test_per_page_out_of_range_is_wordpress_invalid_param(shared_store: Any) -> None:
    response = get(shared_store, "/orders", per_page=101)
    message = "per_page must be between 1 (inclusive) and 100 (inclusive)"
    assert response.status_code == 400
    assert response.json() == {
        "code": "rest_invalid_param",
        "message": "Invalid parameter(s): per_page",
        "data": {
            "status": 400,
            "params": {"per_page": message},
            "details": {
                "per_page": {"code": "rest_out_of_bounds", "message": message, "data": None}
            },
        },
    }
    assert get(shared_store, "/orders", per_page=0).status_code == 400


def test_invalid_values_are_all_named_in_one_error(shared_store: Any) -> None:
    response = get(shared_store, "/orders", orderby="total", status="shipped", after="yesterday")
    body = response.json()
    assert response.status_code == 400
    assert body["message"] == "Invalid parameter(s): after, orderby, status"
    assert body["data"]["params"]["orderby"] == (
        "orderby is not one of date, id, include, title, slug, and modified."
    )
    assert body["data"]["params"]["after"] == "Invalid date."
    assert body["data"]["params"]["status"].startswith(
        "status[0] is not one of any, trash, pending"
    )


def test_status_any_excludes_trash_and_trash_is_listed_on_request(shared_store: Any) -> None:
    any_ids = {o["id"] for o in get(shared_store, "/orders", per_page=100).json()}
    trash = get(shared_store, "/orders", status="trash", per_page=100).json()
    assert trash
    assert all(o["status"] == "trash" for o in trash)
    assert not any_ids & {o["id"] for o in trash}


def test_status_accepts_a_comma_list_and_repeated_array_params(shared_store: Any) -> None:
    comma = get(shared_store, "/orders", status="pending,failed", per_page=100).json()
    assert comma
    assert {o["status"] for o in comma} <= {"pending", "failed"}
    repeated = requests.get(
        shared_store.api + "/orders?status[]=pending&status[]=failed&per_page=100",
        auth=shared_store.auth,
        timeout=TIMEOUT,
    ).json()
    assert [o["id"] for o in repeated] == [o["id"] for o in comma]


def test_modified_after_with_dates_are_gmt_compares_the_gmt_column(shared_store: Any) -> None:
    orders = [o for o in all_orders(shared_store) if o["status"] != "trash"]
    pivot = sorted(o["date_modified_gmt"] for o in orders)[len(orders) // 2]
    response = get(
        shared_store, "/orders", modified_after=pivot, dates_are_gmt="true", per_page=100
    )
    expected = {o["id"] for o in orders if o["date_modified_gmt"] > pivot}
    assert {o["id"] for o in response.json()} == expected
    before = get(shared_store, "/orders", modified_before=pivot, dates_are_gmt="true", per_page=100)
    assert {o["id"] for o in before.json()} == {
        o["id"] for o in orders if o["date_modified_gmt"] < pivot
    }


def test_modified_after_without_dates_are_gmt_compares_site_local_time(shared_store: Any) -> None:
    orders = [o for o in all_orders(shared_store) if o["status"] != "trash"]
    pivot = sorted(o["date_modified"] for o in orders)[len(orders) // 3]
    response = get(shared_store, "/orders", modified_after=pivot, per_page=100)
    assert {o["id"] for o in response.json()} == {
        o["id"] for o in orders if o["date_modified"] > pivot
    }


def test_an_offset_in_the_date_is_converted_to_site_time_first(shared_store: Any) -> None:
    orders = [o for o in all_orders(shared_store) if o["status"] != "trash"]
    pivot_gmt = sorted(o["date_modified_gmt"] for o in orders)[len(orders) // 2]
    with_z = get(shared_store, "/orders", modified_after=pivot_gmt + "Z", per_page=100)
    naive_local = next(o["date_modified"] for o in orders if o["date_modified_gmt"] == pivot_gmt)
    local = get(shared_store, "/orders", modified_after=naive_local, per_page=100)
    assert {o["id"] for o in with_z.json()} == {o["id"] for o in local.json()}


def test_after_and_before_filter_on_creation_date(shared_store: Any) -> None:
    orders = [o for o in all_orders(shared_store) if o["status"] != "trash"]
    created = sorted(o["date_created_gmt"] for o in orders)
    low, high = created[10], created[30]
    response = get(shared_store, "/orders", after=low, before=high, dates_are_gmt="1", per_page=100)
    assert {o["id"] for o in response.json()} == {
        o["id"] for o in orders if low < o["date_created_gmt"] < high
    }


def test_orderby_modified_ascending_sorts_by_modification_then_id(shared_store: Any) -> None:
    body = get(shared_store, "/orders", orderby="modified", order="asc", per_page=100).json()
    keys = [(o["date_modified"], o["id"]) for o in body]
    assert keys == sorted(keys)


def test_include_limits_to_ids_and_orderby_include_keeps_their_order(shared_store: Any) -> None:
    ids = [o["id"] for o in all_orders(shared_store) if o["status"] != "trash"][:3]
    wanted = [ids[2], ids[0], ids[1]]
    body = get(shared_store, "/orders", include=",".join(map(str, wanted)), orderby="include")
    assert [o["id"] for o in body.json()] == wanted


def test_single_order_has_links_and_unknown_id_is_invalid_id(shared_store: Any) -> None:
    order = all_orders(shared_store)[0]
    body = get(shared_store, f"/orders/{order['id']}").json()
    assert body["id"] == order["id"]
    assert body["_links"]["self"][0]["href"].endswith(f"/wp-json/wc/v3/orders/{order['id']}")
    assert body["payment_url"].startswith(shared_store.url + "/checkout/order-pay/")
    missing = get(shared_store, "/orders/999999")
    assert missing.status_code == 404
    assert missing.json() == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }


def test_responses_escape_slashes_and_non_ascii_like_wordpress(shared_store: Any) -> None:
    raw = get(shared_store, "/orders", per_page=100).content
    assert b"\\/wp-json\\/wc\\/v3\\/orders" in raw
    assert raw.isascii()


def test_refund_endpoints_list_and_show_refunds(shared_store: Any) -> None:
    refunded = next(o for o in all_orders(shared_store) if o["refunds"])
    listed = get(shared_store, f"/orders/{refunded['id']}/refunds")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [r["id"] for r in refunded["refunds"]]
    refund_id = refunded["refunds"][0]["id"]
    one = get(shared_store, f"/orders/{refunded['id']}/refunds/{refund_id}").json()
    assert one["amount"] == refunded["refunds"][0]["total"].lstrip("-")
    assert one["_links"]["up"][0]["href"].endswith(f"/orders/{refunded['id']}")
    assert get(shared_store, f"/orders/{refund_id}").status_code == 404


def test_refund_under_the_wrong_order_is_a_500_with_bare_404_data(shared_store: Any) -> None:
    orders = all_orders(shared_store)
    refunded = next(o for o in orders if o["refunds"])
    other = next(o for o in orders if o["id"] != refunded["id"])
    response = get(shared_store, f"/orders/{other['id']}/refunds/{refunded['refunds'][0]['id']}")
    assert response.status_code == 500
    assert response.json() == {
        "code": "woocommerce_rest_invalid_order_refund_id",
        "message": "Invalid order refund ID.",
        "data": 404,
    }


def test_notes_list_the_order_history(shared_store: Any) -> None:
    order = next(o for o in all_orders(shared_store) if o["status"] == "completed")
    notes = get(shared_store, f"/orders/{order['id']}/notes").json()
    assert any("Completed" in note["note"] for note in notes)
    assert get(shared_store, "/orders/999999/notes").status_code == 404


def test_unknown_route_is_rest_no_route(shared_store: Any) -> None:
    response = get(shared_store, "/products")
    assert response.status_code == 404
    assert response.json() == {
        "code": "rest_no_route",
        "message": "No route was found matching the URL and request method.",
        "data": {"status": 404},
    }


def test_build_from_options_picks_the_profile_by_seed_and_prints_credentials() -> None:
    emulator = build_emulator("woocommerce", SandboxOptions(seed=4, orders=5))
    banner = "\n".join(emulator.banner("http://127.0.0.1:8703"))
    assert "ca store, CAD" in banner
    assert "http://127.0.0.1:8703/wp-json/wc/v3/orders" in banner
    assert "consumer_key:    ck_" in banner
