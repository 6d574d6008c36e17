"""The HTTP conversation: status/action table, retries, auth refresh, typed errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from target_quickbooks.auth import TokenManager
from target_quickbooks.client import QuickBooksClient, redact
from target_quickbooks.error_catalog import Action, action_for_status, entry_for_fault
from target_quickbooks.errors import DataError, ErrorClass, SystemFaultError, TransientError
from target_quickbooks.rate_limits import RealmRateLimiter
from target_quickbooks.settings import Settings
from target_quickbooks.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

API = "https://qbo.test"
TOKEN_URL = "https://oauth.test/oauth2/v1/tokens/bearer"
REALM = "4620816365"
BASE = f"{API}/v3/company/{REALM}"


@pytest.mark.parametrize(
    ("status", "action", "error_class"),
    [
        (200, Action.SUCCEED, ErrorClass.DATA),
        (400, Action.CLASSIFY_FAULT, ErrorClass.DATA),
        (401, Action.REFRESH_TOKEN, ErrorClass.SYSTEM),
        (403, Action.FATAL, ErrorClass.SYSTEM),
        (404, Action.FATAL, ErrorClass.SYSTEM),
        (408, Action.RETRY, ErrorClass.TRANSIENT),
        (429, Action.RETRY, ErrorClass.TRANSIENT),
        (500, Action.RETRY, ErrorClass.TRANSIENT),
        (502, Action.RETRY, ErrorClass.TRANSIENT),
        (503, Action.RETRY, ErrorClass.TRANSIENT),
        (504, Action.RETRY, ErrorClass.TRANSIENT),
        (418, Action.FATAL, ErrorClass.SYSTEM),
        (599, Action.RETRY, ErrorClass.TRANSIENT),
    ],
)
def test_status_action_table(status, action, error_class):
    rule = action_for_status(status)
    assert (rule.action, rule.error_class) == (action, error_class)


@pytest.mark.parametrize(
    ("code", "status", "error_class"),
    [
        ("3001", 429, ErrorClass.TRANSIENT),
        ("10000", 500, ErrorClass.TRANSIENT),
        ("5010", 400, ErrorClass.CONFLICT),
        ("6240", 400, ErrorClass.DATA),
        ("610", 400, ErrorClass.DATA),
        ("2500", 400, ErrorClass.DATA),
        ("6000", 400, ErrorClass.DATA),
        ("3200", 401, ErrorClass.SYSTEM),
        ("3100", 403, ErrorClass.SYSTEM),
        ("99999", 400, ErrorClass.DATA),
        ("99999", 503, ErrorClass.TRANSIENT),
    ],
)
def test_fault_codes_map_to_their_error_class(code, status, error_class):
    assert entry_for_fault(code, status).error_class is error_class


def fault(code: str, detail: str = "detail", element: str = "") -> dict:
    return {
        "Fault": {
            "Error": [{"Message": "m", "Detail": detail, "code": code, "element": element}],
            "type": "ValidationFault",
        },
        "time": "2026-11-25T00:00:00.000-08:00",
    }


@pytest.fixture
def make_client(tmp_path: Path, requests_mock):
    requests_mock.post(
        TOKEN_URL,
        [
            {
                "json": {
                    "access_token": f"access-{i}",
                    "refresh_token": f"refresh-{i}",
                    "expires_in": 3600,
                }
            }
            for i in range(1, 10)
        ],
    )

    def make(**overrides) -> QuickBooksClient:
        config = {
            "realm_id": REALM,
            "client_id": "client",
            "client_secret": "secret",
            "refresh_token": "refresh-0",
            "api_url": API,
            "token_url": TOKEN_URL,
            "database_url": f"sqlite:///{tmp_path / 'state.db'}",
            "min_backoff_seconds": 0.001,
            "max_backoff_seconds": 0.01,
            "max_attempts": 3,
            "allow_plaintext_tokens": True,
            **overrides,
        }
        settings = Settings.from_config(config)
        store = open_store(settings.database_url)
        session = requests.Session()
        tokens = TokenManager(settings, store.tokens, session)
        limiter = RealmRateLimiter(
            REALM,
            requests_per_window=500,
            batches_per_window=40,
            window_seconds=60,
            max_concurrency=4,
        )
        return QuickBooksClient(settings, tokens, limiter, session)

    return make


def api_calls(requests_mock) -> list:
    return [r for r in requests_mock.request_history if r.url.startswith(API)]


def test_every_request_sends_minorversion_and_a_bearer_token(make_client, requests_mock):
    requests_mock.get(f"{BASE}/item/5", json={"Item": {"Id": "5"}})
    client = make_client()
    client.read("Item", "5")
    (call,) = api_calls(requests_mock)
    assert call.qs["minorversion"] == ["75"]
    assert call.headers["Authorization"] == "Bearer access-1"


def test_429_is_retried_with_the_same_requestid(make_client, requests_mock):
    requests_mock.post(
        f"{BASE}/salesreceipt",
        [
            {"status_code": 429, "json": fault("3001"), "headers": {"Retry-After": "1"}},
            {"status_code": 503, "text": "<html>busy</html>"},
            {"json": {"SalesReceipt": {"Id": "9", "SyncToken": "0"}}},
        ],
    )
    client = make_client()
    document, _ = client.write("SalesReceipt", {"Line": []}, request_id="rid-1")
    assert document["Id"] == "9"
    calls = api_calls(requests_mock)
    assert len(calls) == 3
    assert {c.qs["requestid"][0] for c in calls} == {"rid-1"}


def test_connection_reset_is_retried(make_client, requests_mock):
    requests_mock.post(
        f"{BASE}/batch",
        [{"exc": requests.ConnectionError("reset")}, {"json": {"BatchItemResponse": []}}],
    )
    client = make_client()
    entries, _ = client.batch([{"bId": "b0"}], request_id="batch-1")
    assert entries == []
    assert len(api_calls(requests_mock)) == 2


def test_transient_errors_give_up_after_max_attempts(make_client, requests_mock):
    requests_mock.post(f"{BASE}/query", status_code=500, json=fault("10000"))
    client = make_client(max_attempts=3)
    with pytest.raises(TransientError) as caught:
        client.query("SELECT * FROM Item")
    assert caught.value.code == "10000"
    assert len(api_calls(requests_mock)) == 3


def test_validation_fault_is_a_typed_data_error_without_pii(make_client, requests_mock):
    detail = "Another customer is already using this name: jane@example.com"
    requests_mock.post(
        f"{BASE}/customer", status_code=400, json=fault("6240", detail, "DisplayName")
    )
    client = make_client()
    with pytest.raises(DataError) as caught:
        client.write("Customer", {"DisplayName": "Jane"}, request_id="rid-2")
    error = caught.value
    assert (error.code, error.element, error.status) == ("6240", "DisplayName", 400)
    assert "jane@example.com" not in str(error)
    assert "Duplicate Name" in str(error)
    assert error.guidance
    assert len(api_calls(requests_mock)) == 1


def test_401_refreshes_the_token_once_and_retries(make_client, requests_mock):
    requests_mock.get(
        f"{BASE}/item/5",
        [{"status_code": 401, "json": fault("3200")}, {"json": {"Item": {"Id": "5"}}}],
    )
    client = make_client()
    client.read("Item", "5")
    calls = api_calls(requests_mock)
    assert [c.headers["Authorization"] for c in calls] == ["Bearer access-1", "Bearer access-2"]


def test_repeated_401_is_a_system_error(make_client, requests_mock):
    requests_mock.get(f"{BASE}/item/5", status_code=401, json=fault("3200"))
    client = make_client()
    with pytest.raises(SystemFaultError) as caught:
        client.read("Item", "5")
    assert "reconnect" in caught.value.guidance.lower()


def test_forbidden_is_a_system_error(make_client, requests_mock):
    requests_mock.get(f"{BASE}/item/5", status_code=403, json=fault("3100"))
    with pytest.raises(SystemFaultError):
        make_client().read("Item", "5")


def test_unknown_response_shape_is_a_system_error(make_client, requests_mock):
    requests_mock.get(f"{BASE}/item/5", text="<html>maintenance</html>")
    with pytest.raises(SystemFaultError) as caught:
        make_client().read("Item", "5")
    assert caught.value.code == "TQB-UNKNOWN-RESPONSE"
    assert "maintenance" not in str(caught.value)


def test_fault_in_a_200_body_is_still_an_error(make_client, requests_mock):
    requests_mock.post(f"{BASE}/query", json=fault("4000"))
    with pytest.raises(SystemFaultError):
        make_client().query("SELECT * FROM Item")


def test_amounts_are_sent_as_json_numbers_from_decimal(make_client, requests_mock):
    from decimal import Decimal  # noqa: PLC0415 - local to the one test that needs it

    requests_mock.post(f"{BASE}/payment", json={"Payment": {"Id": "1"}})
    make_client().write("Payment", {"TotalAmt": Decimal("0.10")}, request_id="r")
    (call,) = api_calls(requests_mock)
    assert call.text == '{"TotalAmt":0.10}'


def test_redact_masks_email_addresses_and_bounds_length():
    text = redact("customer bob.smith+x@shop.example.co.uk failed " + "x" * 500)
    assert "bob.smith" not in text
    assert len(text) <= 300


def test_error_catalogue_document_lists_every_code():
    from pathlib import Path  # noqa: PLC0415 - only this test reads the docs

    from target_quickbooks import error_catalog  # noqa: PLC0415

    docs = Path(__file__).parents[2] / "docs" / "errors.md"
    text = docs.read_text("utf-8")
    for code in error_catalog.FAULT_ENTRIES:
        assert f"| {code} " in text or f", {code} " in text or f"| {code}," in text, code
    for status in error_catalog.STATUS_RULES:
        assert f"| {status} " in text or f"{status}," in text or f", {status} " in text, status
    target_codes = [
        v for k, v in vars(error_catalog).items() if k.isupper() and str(v).startswith("TQB-")
    ]
    for code in target_codes:
        assert f"`{code}`" in text, code
