import pytest
import requests


def _set_faults(client, spec, seed=1, slow_seconds=0.1):
    response = requests.post(
        f"{client.base_url}/__admin/faults",
        json={"spec": spec, "seed": seed, "slow_seconds": slow_seconds},
        timeout=10,
    )
    assert response.status_code == 200


def test_injected_429_has_throttle_body(us):
    _set_faults(us, "429=1")
    response = us.get("customer/1")
    assert response.status_code == 429
    assert response.json()["Fault"]["type"] == "SERVICE"
    assert response.headers["intuit_tid"]


def test_injected_500_is_system_fault(us):
    _set_faults(us, "500=1")
    response = us.get("customer/1")
    assert response.status_code == 500
    assert response.json()["Fault"]["Error"][0]["code"] == "10000"
    assert response.json()["Fault"]["type"] == "SystemFault"


@pytest.mark.parametrize("status", [502, 503])
def test_injected_gateway_errors(us, status):
    _set_faults(us, f"{status}=1")
    response = us.get("customer/1")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")


def test_injected_reset_drops_the_connection(us):
    _set_faults(us, "reset=1")
    with pytest.raises(requests.ConnectionError):
        us.get("customer/1")


def test_slow_fault_still_answers(us):
    _set_faults(us, "slow=1", slow_seconds=0.05)
    assert us.get("customer/1").status_code == 200


def test_timeout_after_commit_writes_then_drops_and_retry_returns_original(us):
    _set_faults(us, "timeout_after_commit=1")
    with pytest.raises(requests.ConnectionError):
        us.post("customer", {"DisplayName": "Committed"}, requestid="commit-1")
    _set_faults(us, "")
    retry = us.post("customer", {"DisplayName": "Committed"}, requestid="commit-1")
    assert retry.status_code == 200
    count = us.query("select count(*) from Customer where DisplayName = 'Committed'")
    assert count.json()["QueryResponse"]["totalCount"] == 1


def test_fault_sequence_is_seeded(us):
    def draw_statuses():
        _set_faults(us, "500=0.5", seed=42)
        return [us.get("customer/1").status_code for _ in range(8)]

    first = draw_statuses()
    assert first == draw_statuses()
    assert 500 in first
    assert 200 in first


def test_bad_fault_spec_is_400(us):
    response = requests.post(f"{us.base_url}/__admin/faults", json={"spec": "999=1"}, timeout=10)
    assert response.status_code == 400
