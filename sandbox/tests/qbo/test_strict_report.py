"""The strict report: client protocol problems recorded (and some refused), without bodies."""

import json

import pytest
import requests

from kconnector_sandbox.qbo.admin_client import strict_report
from kconnector_sandbox.qbo.strict_report import minor_version_problem


def _kinds(client):
    return [problem["kind"] for problem in strict_report(client.base_url)]


def _raw_post(client, tail, body, params):
    return requests.post(
        client.url(tail), json=body, params=params, headers=client.headers(), timeout=10
    )


def test_a_well_behaved_client_leaves_the_report_empty(us):
    assert us.post("customer", {"DisplayName": "Polite"}, requestid="rid-1").status_code == 200
    assert us.post("customer", {"DisplayName": "Polite"}, requestid="rid-1").status_code == 200
    assert us.get("customer/1").status_code == 200
    assert us.query("select * from Customer").status_code == 200
    assert strict_report(us.base_url) == []


def test_requestid_reused_with_another_body_is_reported_and_answered_with_the_first(us):
    first = us.post("customer", {"DisplayName": "Secret Person One"}, requestid="same-id")
    second = us.post("customer", {"DisplayName": "Secret Person Two"}, requestid="same-id")
    assert second.json()["Customer"]["Id"] == first.json()["Customer"]["Id"]
    problems = strict_report(us.base_url)
    assert [p["kind"] for p in problems] == ["requestid-reused-with-different-body"]
    assert problems[0]["requestid"] == "same-id"
    assert problems[0]["method"] == "POST"
    assert problems[0]["path"] == f"/v3/company/{us.realm}/customer"
    assert "Secret" not in json.dumps(problems)  # never a body
    assert us.access_token not in json.dumps(problems)  # never a token


@pytest.mark.parametrize(
    ("minor", "kind"),
    [
        (None, "minorversion-missing"),
        ("", "minorversion-missing"),
        ("65", "minorversion-obsolete"),
        ("74", "minorversion-obsolete"),
        ("abc", "minorversion-obsolete"),
    ],
)
def test_missing_or_obsolete_minorversion_is_reported(us, minor, kind):
    params = {} if minor is None else {"minorversion": minor}
    response = requests.get(us.url("customer/1"), params=params, headers=us.headers(), timeout=10)
    assert response.status_code == 200
    assert _kinds(us) == [kind]


@pytest.mark.parametrize("minor", ["75", "76"])
def test_current_minorversion_is_not_reported(minor):
    assert minor_version_problem(minor) is None


def test_write_without_requestid_is_reported(us):
    assert us.post("customer", {"DisplayName": "No Id"}).status_code == 200
    assert _kinds(us) == ["write-without-requestid"]


def test_requestid_over_50_characters_is_refused_and_reported(us):
    response = us.post("customer", {"DisplayName": "Long Id"}, requestid="r" * 51)
    assert response.json()["Fault"]["Error"][0]["code"] == "6000"
    assert _kinds(us) == ["requestid-too-long"]


def test_batch_id_over_10_characters_with_a_requestid_is_refused_per_item_and_reported(us):
    items = [
        {"bId": "b" * 11, "operation": "create", "Customer": {"DisplayName": "Long bId"}},
        {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Short bId"}},
    ]
    response = us.post("batch", {"BatchItemRequest": items}, requestid="batch-1")
    results = {r["bId"]: r for r in response.json()["BatchItemResponse"]}
    assert results["b" * 11]["Fault"]["Error"][0]["code"] == "2050"
    assert results["b" * 11]["Fault"]["Error"][0]["element"] == "bId"
    assert results["b1"]["Customer"]["DisplayName"] == "Short bId"
    problems = strict_report(us.base_url)
    assert [p["kind"] for p in problems] == ["batch-bid-too-long"]
    assert "11 characters" in problems[0]["detail"]


def test_batch_id_over_10_characters_without_requestid_is_accepted(us):
    items = [{"bId": "b" * 11, "operation": "create", "Customer": {"DisplayName": "Free bId"}}]
    response = us.post("batch", {"BatchItemRequest": items})
    assert "Customer" in response.json()["BatchItemResponse"][0]
    assert _kinds(us) == ["write-without-requestid"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_query_posted_without_application_text_is_refused_with_1050(us, content_type):
    headers = {**us.headers(), "Content-Type": content_type}
    response = requests.post(
        us.url("query"),
        data=b"select * from Customer",
        params={"minorversion": "75"},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "1050"
    assert _kinds(us) == ["query-content-type"]


def test_query_posted_as_application_text_is_served(us):
    headers = {**us.headers(), "Content-Type": "application/text; charset=utf-8"}
    response = requests.post(
        us.url("query"),
        data=b"select * from Customer",
        params={"minorversion": "75"},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 200
    assert strict_report(us.base_url) == []


def test_admin_report_lists_counts_and_is_cleared_by_delete_and_reset(us):
    _raw_post(us, "customer", {"DisplayName": "Two Problems"}, {})
    report = requests.get(f"{us.base_url}/__admin/strict-report", timeout=10).json()
    assert report["total"] == 2
    assert report["dropped"] == 0
    assert {p["kind"] for p in report["problems"]} == {
        "minorversion-missing",
        "write-without-requestid",
    }
    assert set(report["problems"][0]) == {"kind", "method", "path", "requestid", "detail"}
    assert requests.delete(f"{us.base_url}/__admin/strict-report", timeout=10).status_code == 200
    assert strict_report(us.base_url) == []
    _raw_post(us, "customer", {"DisplayName": "Again"}, {})
    requests.post(f"{us.base_url}/__admin/reset", timeout=10)
    assert strict_report(us.base_url) == []


def test_strict_report_helper_refuses_a_non_http_url():
    with pytest.raises(ValueError, match="http"):
        strict_report("file:///etc/passwd")
