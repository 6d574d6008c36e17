"""`/__admin/...`: store edits as WooCommerce makes them, and edits between list pages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.woocommerce import WooCommerceEmulator

TIMEOUT = 10


def admin(store: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, store.url + "/__admin" + path, timeout=TIMEOUT, **kwargs)


def api(store: Any, route: str, **params: Any) -> requests.Response:
    return requests.get(store.api + route, params=params, auth=store.auth, timeout=TIMEOUT)


def first_with(store: Any, status: str) -> dict[str, Any]:
    return next(
        o for o in store.emulator.state.all_orders() if o["status"] == status and not o["refunds"]
    )


def test_modify_bumps_date_modified_and_changes_fields(store: Any) -> None:
    order = first_with(store, "processing")
    response = admin(store, "POST", f"/orders/{order['id']}/modify", json={"status": "completed"})
    assert response.status_code == 200
    served = api(store, f"/orders/{order['id']}").json()
    assert served["status"] == "completed"
    assert served["date_modified_gmt"] > order["date_modified_gmt"]
    found = api(
        store,
        "/orders",
        modified_after=order["date_modified_gmt"],
        dates_are_gmt="true",
        per_page=100,
    )
    assert order["id"] in {o["id"] for o in found.json()}


def test_created_order_is_listed_first(store: Any) -> None:
    created = admin(store, "POST", "/orders", json={"status": "processing"})
    assert created.status_code == 201
    newest = api(store, "/orders", per_page=1).json()[0]
    assert newest["id"] == created.json()["id"]
    assert newest["date_paid_gmt"] == newest["date_created_gmt"]


def test_line_refund_creates_refund_object_and_updates_order(store: Any) -> None:
    order = first_with(store, "completed")
    line = order["line_items"][0]
    body = {"reason": "Broken", "lines": [{"item_id": line["id"], "quantity": 1}]}
    response = admin(store, "POST", f"/orders/{order['id']}/refunds", json=body)
    assert response.status_code == 201
    refund = response.json()
    assert refund["line_items"][0]["quantity"] == -1
    assert Decimal(refund["line_items"][0]["total"]) < 0
    served = api(store, f"/orders/{order['id']}").json()
    assert served["refunds"][0] == {
        "id": refund["id"],
        "reason": "Broken",
        "total": "-" + refund["amount"],
    }
    assert served["date_modified_gmt"] > order["date_modified_gmt"]
    listed = api(store, f"/orders/{order['id']}/refunds").json()
    assert listed[0]["id"] == refund["id"]


def test_amount_refund_of_the_whole_total_marks_order_refunded(store: Any) -> None:
    order = first_with(store, "completed")
    response = admin(
        store, "POST", f"/orders/{order['id']}/refunds", json={"amount": order["total"]}
    )
    assert response.status_code == 201
    assert response.json()["line_items"] == []
    assert api(store, f"/orders/{order['id']}").json()["status"] == "refunded"


def test_refund_above_what_is_left_is_refused(store: Any) -> None:
    order = first_with(store, "completed")
    too_much = str(Decimal(order["total"]) + Decimal("0.01"))
    response = admin(store, "POST", f"/orders/{order['id']}/refunds", json={"amount": too_much})
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid refund amount."}


def test_trashed_order_leaves_any_and_deleted_order_is_gone(store: Any) -> None:
    order = first_with(store, "completed")
    assert admin(store, "POST", f"/orders/{order['id']}/trash").status_code == 200
    listed = {o["id"] for o in api(store, "/orders", per_page=100).json()}
    assert order["id"] not in listed
    assert api(store, f"/orders/{order['id']}").json()["status"] == "trash"
    assert admin(store, "DELETE", f"/orders/{order['id']}").status_code == 204
    assert api(store, f"/orders/{order['id']}").status_code == 404
    assert admin(store, "DELETE", f"/orders/{order['id']}").status_code == 404


def test_queued_edit_applies_right_after_the_next_page(store: Any) -> None:
    order = first_with(store, "processing")
    queued = admin(store, "POST", "/on-next-page", json={"modify": [order["id"]]})
    assert queued.status_code == 202
    before = api(store, f"/orders/{order['id']}").json()
    assert before["date_modified_gmt"] == order["date_modified_gmt"]
    api(store, "/orders", per_page=5)
    after = api(store, f"/orders/{order['id']}").json()
    assert after["date_modified_gmt"] > order["date_modified_gmt"]


def test_edit_between_pages_shifts_later_pages_for_page_number_paging(store: Any) -> None:
    params = {"orderby": "modified", "order": "asc", "per_page": 10}
    first_page = api(store, "/orders", page=1, **params).json()
    expected = {o["id"] for o in store.emulator.state.all_orders() if o["status"] != "trash"}
    admin(store, "POST", "/on-next-page", json={"modify": [first_page[0]["id"]]})
    seen = [o["id"] for o in api(store, "/orders", page=1, **params).json()]
    page = 2
    while True:
        batch = api(store, "/orders", page=page, **params).json()
        if not batch:
            break
        seen.extend(o["id"] for o in batch)
        page += 1
    missed = expected - set(seen)
    assert len(missed) == 1
    assert seen.count(first_page[0]["id"]) == 2


def test_queued_creation_raises_the_total_on_the_following_page(store: Any) -> None:
    first = api(store, "/orders", per_page=10)
    admin(store, "POST", "/on-next-page", json={"create": 2})
    api(store, "/orders", per_page=10)
    second = api(store, "/orders", per_page=10, page=2)
    assert int(second.headers["X-WP-Total"]) == int(first.headers["X-WP-Total"]) + 2


def test_store_endpoint_describes_profile_and_keys(store: Any) -> None:
    body = admin(store, "GET", "/store").json()
    assert body["profile"] == "us"
    assert body["currency"] == "USD"
    assert {k["permissions"] for k in body["keys"]} == {"read", "write", "read_write"}


def test_edit_lands_after_generated_history_even_with_an_early_clock() -> None:
    emulator = WooCommerceEmulator(
        SandboxOptions(seed=0, orders=20), clock=lambda: datetime(2020, 1, 1, tzinfo=UTC)
    )
    orders = emulator.state.all_orders()
    edited = emulator.state.modify_order(orders[0]["id"])
    assert edited["date_modified_gmt"] > max(o["date_modified_gmt"] for o in orders)
    emulator.close()
