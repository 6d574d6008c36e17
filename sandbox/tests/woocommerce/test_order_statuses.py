"""Order statuses as WooCommerce reads them: `any` in a list, trash, `reports/orders/totals`."""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests

TIMEOUT = 10
REGISTERED = "pending,processing,on-hold,completed,cancelled,refunded,failed,checkout-draft"


def ids(store: Any, **params: Any) -> set[int]:
    found: set[int] = set()
    for page in (1, 2):
        response = requests.get(
            store.api + "/orders",
            params={"per_page": 100, "page": page, **params},
            auth=store.auth,
            timeout=TIMEOUT,
        )
        assert response.status_code == 200
        found |= {order["id"] for order in response.json()}
    return found


def test_any_in_a_status_list_wins_so_any_trash_still_leaves_trash_out(shared_store: Any) -> None:
    # WC_REST_Orders_Controller::prepare_objects_query stops at `any`.
    orders = shared_store.emulator.state.all_orders()
    trashed = {o["id"] for o in orders if o["status"] == "trash"}
    assert trashed

    assert not ids(shared_store, status="any,trash") & trashed
    assert not ids(shared_store, status="trash,any") & trashed
    assert ids(shared_store, status=f"{REGISTERED},trash") == {o["id"] for o in orders}


def test_orders_totals_report_lists_every_registered_status_with_its_count(
    shared_store: Any,
) -> None:
    response = requests.get(
        shared_store.api + "/reports/orders/totals", auth=shared_store.auth, timeout=TIMEOUT
    )
    counts = Counter(o["status"] for o in shared_store.emulator.state.all_orders())

    assert response.status_code == 200
    rows = response.json()
    assert [row["slug"] for row in rows] == REGISTERED.split(",")  # never trash
    assert all(row["total"] == counts.get(row["slug"], 0) for row in rows)
    assert rows[0]["name"] == "Pending payment"


def test_orders_totals_report_needs_a_key(shared_store: Any) -> None:
    response = requests.get(shared_store.api + "/reports/orders/totals", timeout=TIMEOUT)

    assert response.status_code == 401
