import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from kconnector_sandbox.shopify.bulk import BulkFailure, BulkOperationRecord, view

RUN = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id status } userErrors { field message code } } }"""
BULK_QUERY = (
    "{ orders { edges { node { id name lineItems { edges { node { id quantity } } } } } } }"
)
POLL = """{ currentBulkOperation {
  id status errorCode objectCount rootObjectCount url partialDataUrl } }"""


def _wait(client):
    for _ in range(200):
        current = client.gql(POLL)["data"]["currentBulkOperation"]
        if current["status"] in {"COMPLETED", "FAILED"}:
            return current
        time.sleep(0.02)
    msg = "bulk operation did not finish"
    raise AssertionError(msg)


def test_bulk_query_completes_with_jsonl_children_after_parents(served):
    started = served.gql(RUN, {"q": BULK_QUERY})["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == []
    assert started["bulkOperation"]["status"] in {"CREATED", "RUNNING"}
    done = _wait(served)
    assert done["status"] == "COMPLETED"
    rows = [json.loads(line) for line in requests.get(done["url"], timeout=10).text.splitlines()]
    orders = [r for r in rows if "__parentId" not in r]
    assert len(orders) == len(served.shop.orders) == int(done["rootObjectCount"])
    assert len(rows) == int(done["objectCount"])
    seen = set()
    for row in rows:
        if "__parentId" in row:
            assert row["__parentId"] in seen
        else:
            seen.add(row["id"])


def test_second_bulk_query_while_one_runs_is_refused_before_2026_01(served_realtime):
    # real time: a run lasts at least one second, so the second request overlaps the first
    first = served_realtime.gql(RUN, {"q": BULK_QUERY})["data"]["bulkOperationRunQuery"]
    second = served_realtime.gql(RUN, {"q": BULK_QUERY})["data"]["bulkOperationRunQuery"]
    assert first["userErrors"] == []
    assert second["bulkOperation"] is None
    assert second["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    assert first["bulkOperation"]["id"] in second["userErrors"][0]["message"]


def test_api_2026_01_runs_bulk_queries_concurrently(served_realtime):
    url = served_realtime.url.replace("2025-10", "2026-01")
    for _ in range(2):
        response = served_realtime.post(RUN, {"q": BULK_QUERY}, url=url)
        assert response.json()["data"]["bulkOperationRunQuery"]["userErrors"] == []


def test_armed_failure_makes_the_next_bulk_operation_fail_with_partial_data(served):
    served.admin("POST", "us/bulk", json={"next": "timeout"})
    served.gql(RUN, {"q": BULK_QUERY})
    done = _wait(served)
    assert done["status"] == "FAILED"
    assert done["errorCode"] == "TIMEOUT"
    assert done["url"] is None
    partial = requests.get(done["partialDataUrl"], timeout=10)
    assert partial.status_code == 200
    assert partial.text.count("\n") == int(done["objectCount"])


def test_invalid_bulk_query_is_a_user_error(served):
    result = served.gql(RUN, {"q": "{ orders { nope } }"})["data"]["bulkOperationRunQuery"]
    assert result["bulkOperation"] is None
    assert result["userErrors"][0]["code"] == "INVALID"


def test_connection_inside_a_list_field_is_refused_like_shopify(served: Any) -> None:
    # Order.fulfillments is a list: its fulfillmentLineItems connection cannot be bulk-read
    query = (
        "{ orders { edges { node { id fulfillments { id "
        "fulfillmentLineItems { edges { node { id quantity } } } } } } } }"
    )
    result = served.gql(RUN, {"q": query})["data"]["bulkOperationRunQuery"]
    assert result["bulkOperation"] is None
    assert result["userErrors"] == [
        {
            "field": ["query"],
            "message": "Queries that contain a connection field within a list field are not "
            "currently supported.",
            "code": "INVALID",
        }
    ]
    assert served.shop.bulk_operations == []


def test_list_fields_without_connections_stay_inside_their_parents_line(served: Any) -> None:
    query = (
        "{ orders { edges { node { id fulfillments { id status } "
        "lineItems { edges { node { id } } } } } } }"
    )
    assert served.gql(RUN, {"q": query})["data"]["bulkOperationRunQuery"]["userErrors"] == []
    done = _wait(served)
    rows = [json.loads(line) for line in requests.get(done["url"], timeout=10).text.splitlines()]
    by_id = {row["id"]: row for row in rows}
    fulfilled = next(o for o in served.shop.orders.values() if o.fulfillments)
    assert by_id[fulfilled.id]["fulfillments"] == [
        {"id": f.id, "status": f.status} for f in fulfilled.fulfillments
    ]
    children = [row for row in rows if row.get("__parentId") == fulfilled.id]
    assert [row["id"] for row in children] == [line.id for line in fulfilled.line_items]


def test_expired_operation_has_no_url_and_its_download_is_refused(served):
    served.gql(RUN, {"q": BULK_QUERY})
    done = _wait(served)
    assert requests.get(done["url"], timeout=10).status_code == 200
    expired = served.admin("POST", "us/bulk", json={"expire": True}).json()["expired"]
    assert expired == [done["id"]]
    current = served.gql(POLL)["data"]["currentBulkOperation"]
    assert current["status"] == "EXPIRED"
    assert current["url"] is None
    assert requests.get(done["url"], timeout=10).status_code == 403


def test_url_expires_seven_days_after_the_operation_completed() -> None:
    created = datetime(2026, 3, 1, tzinfo=UTC)
    record = BulkOperationRecord.of_rows(
        legacy_id=1,
        query="{ orders { edges { node { id } } } }",
        created_at=created,
        started=0.0,
        duration=10.0,
        rows=[{"id": "gid://shopify/Order/1"}, {"id": "gid://shopify/Order/2"}],
        root_count=2,
        failure=BulkFailure.NONE,
    )
    completed = created + timedelta(seconds=10)
    fresh = view(record, 20.0, "http://x", completed + timedelta(days=7) - timedelta(seconds=1))
    assert fresh.status == "COMPLETED"
    assert fresh.url == "http://x/1.jsonl"
    assert fresh.file_size == len(record.jsonl())
    assert record.jsonl().count(b"\n") == fresh.object_count == 2
    stale = view(record, 20.0, "http://x", completed + timedelta(days=7))
    assert (stale.status, stale.url) == ("EXPIRED", None)


def test_bulk_run_executed_in_slices_writes_every_order_once_in_order(served, monkeypatch):
    # Executed 7 root orders at a time (500 by default): the result never all in memory.
    monkeypatch.setattr("kconnector_sandbox.shopify.bulk_runner.BULK_SLICE", 7)
    query = BULK_QUERY.replace("orders {", "orders(sortKey: UPDATED_AT) {", 1)
    served.gql(RUN, {"q": query})
    done = _wait(served)
    assert done["status"] == "COMPLETED"
    rows = [json.loads(line) for line in requests.get(done["url"], timeout=10).text.splitlines()]
    orders = [r["id"] for r in rows if "__parentId" not in r]
    expected = sorted(
        served.shop.orders.values(), key=lambda o: (o.updated_at, o.legacy_resource_id)
    )
    assert orders == [o.id for o in expected]
    assert len(rows) == int(done["objectCount"])
    parents = set()
    for row in rows:
        if "__parentId" in row:
            assert row["__parentId"] in parents
        else:
            parents.add(row["id"])


def _held_after_first_slice(monkeypatch):
    """Slices after the first wait for the returned event (a run that is still writing)."""
    from kconnector_sandbox.shopify import bulk_runner  # noqa: PLC0415

    release = threading.Event()
    real = bulk_runner._execute_slice
    calls = []

    def held(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_runner, "_execute_slice", held)
    monkeypatch.setattr(bulk_runner, "BULK_SLICE", 7)
    return release


def test_run_answers_at_once_and_is_running_until_every_slice_is_written(served, monkeypatch):
    release = _held_after_first_slice(monkeypatch)
    response = requests.post(
        served.url,
        json={"query": RUN, "variables": {"q": BULK_QUERY}},
        headers={"X-Shopify-Access-Token": served.token},
        timeout=5,  # a run executed inside the request would hold it until released
    )
    started = response.json()["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == []
    assert started["bulkOperation"]["status"] in {"CREATED", "RUNNING"}
    time.sleep(0.1)  # past the modelled duration at time scale 50: only the writing holds it
    current = served.gql(POLL)["data"]["currentBulkOperation"]
    assert current["status"] == "RUNNING"
    assert current["url"] is None
    release.set()
    done = _wait(served)
    assert done["status"] == "COMPLETED"
    rows = [json.loads(line) for line in requests.get(done["url"], timeout=10).text.splitlines()]
    assert len([r for r in rows if "__parentId" not in r]) == len(served.shop.orders)


def test_order_deleted_while_the_run_writes_is_left_out(served, monkeypatch):
    release = _held_after_first_slice(monkeypatch)
    assert served.gql(RUN, {"q": BULK_QUERY})["data"]["bulkOperationRunQuery"]["userErrors"] == []
    last = served.shop.book.ids()[-1]  # in the last slice, not yet written
    served.admin("DELETE", f"us/orders/{last}").raise_for_status()
    release.set()
    done = _wait(served)
    assert done["status"] == "COMPLETED"
    rows = [json.loads(line) for line in requests.get(done["url"], timeout=10).text.splitlines()]
    roots = [r["id"] for r in rows if "__parentId" not in r]
    assert roots == [o.id for o in served.shop.orders.values()]
    assert f"gid://shopify/Order/{last}" not in roots
