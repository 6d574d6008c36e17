"""CloudEvents webhooks: a signed array of change events after each successful write."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kconnector_sandbox.qbo.cloudevents import _changes
from kconnector_sandbox.runner import ServedApp

VERIFIER = "verifier-token-of-the-test-app"
US_REALM = "9130357600000001"


class Collector:
    """A webhook endpoint that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()

        async def hook(request):
            self.received.append((dict(request.headers), await request.body()))
            self.arrived.set()
            return PlainTextResponse("ok")

        self.app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def events(self) -> list[dict[str, str]]:
        return [event for _headers, body in self.received for event in json.loads(body)]


@pytest.fixture
def collector():
    endpoint = Collector()
    with ServedApp(endpoint.app) as served:
        endpoint.url = f"{served.url}/hook"
        yield endpoint


def _subscribe(qbo_url: str, url: str) -> None:
    response = requests.post(
        f"{qbo_url}/__admin/webhooks", json={"url": url, "verifier_token": VERIFIER}, timeout=10
    )
    assert response.status_code == 201


def test_a_created_document_sends_a_signed_cloudevent(clocked, collector, make_client) -> None:
    served, emulator, clock = clocked
    _subscribe(served.url, collector.url)
    client = make_client(served, emulator)

    customer = client.post("customer", {"DisplayName": "Webhook Test"}).json()["Customer"]

    assert emulator.cloudevents.wait_idle(10)
    (headers, body), *_ = collector.received
    expected = base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest())
    assert headers["intuit-signature"] == expected.decode()
    (event,) = json.loads(body)
    assert event["specversion"] == "1.0"
    assert event["type"] == "qbo.customer.created.v1"
    assert event["intuitentityid"] == customer["Id"]
    assert event["intuitaccountid"] == US_REALM
    assert event["time"] == datetime.fromtimestamp(clock(), UTC).isoformat().replace("+00:00", "Z")


def test_a_bookkeepers_edit_sends_an_updated_event(clocked, collector, make_client) -> None:
    served, emulator, _clock = clocked
    client = make_client(served, emulator)
    customer = client.post("customer", {"DisplayName": "Edited Later"}).json()["Customer"]
    _subscribe(served.url, collector.url)

    requests.post(
        f"{served.url}/__admin/realms/{US_REALM}/edit/Customer/{customer['Id']}",
        json={"Notes": "called"},
        timeout=10,
    ).raise_for_status()

    assert emulator.cloudevents.wait_idle(10)
    assert [(e["type"], e["intuitentityid"]) for e in collector.events()] == [
        ("qbo.customer.updated.v1", customer["Id"])
    ]


def test_no_endpoint_no_event(clocked, make_client) -> None:
    served, emulator, _clock = clocked
    client = make_client(served, emulator)
    client.post("customer", {"DisplayName": "Nobody Listens"})

    assert emulator.cloudevents.wait_idle(1)
    assert emulator.cloudevents.deliveries == []


def test_a_refused_read_or_a_fault_sends_nothing() -> None:
    fault = {"Fault": {"Error": [{"code": "6240"}]}, "time": "x"}
    assert _changes(fault, "Customer", None) == []


def test_batch_items_each_make_an_event_and_faults_none() -> None:
    batch = {
        "BatchItemResponse": [
            {"bId": "1", "SalesReceipt": {"Id": "10", "SyncToken": "0"}},
            {"bId": "2", "Fault": {"Error": [{"code": "6000"}]}},
            {"bId": "3", "Invoice": {"Id": "11", "SyncToken": "2"}},
            {"bId": "4", "Payment": {"Id": "12", "status": "Deleted"}},
        ]
    }
    assert _changes(batch, "batch", None) == [
        ("SalesReceipt", "10", "created"),
        ("Invoice", "11", "updated"),
        ("Payment", "12", "deleted"),
    ]


def test_void_and_delete_operations_name_their_change() -> None:
    body = {"SalesReceipt": {"Id": "10", "SyncToken": "3"}}
    assert _changes(body, "salesreceipt", "void") == [("SalesReceipt", "10", "voided")]
