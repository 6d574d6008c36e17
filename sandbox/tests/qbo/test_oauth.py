import requests

from kconnector_sandbox.qbo.oauth import REFRESH_GRACE_SECONDS

US_REALM = "9130357600000001"


def test_refresh_returns_one_hour_token_and_rotated_refresh_token(qbo, make_client):
    served, emulator = qbo
    client = make_client(served, emulator, connected=False)
    first = emulator.initial_refresh_tokens[US_REALM]
    response = client.refresh(first)
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert body["refresh_token"] != first


def test_superseded_refresh_token_works_during_grace_then_invalid_grant(clocked, make_client):
    served, emulator, clock = clocked
    client = make_client(served, emulator, connected=False)
    first = emulator.initial_refresh_tokens[US_REALM]
    assert client.refresh(first).status_code == 200
    assert client.refresh(first).status_code == 200  # still within the grace period
    clock.advance(REFRESH_GRACE_SECONDS / emulator.options.time_scale + 1)
    late = client.refresh(first)
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"
    assert client.refresh().status_code == 200  # the latest token still works


def test_wrong_client_secret_is_invalid_client(qbo):
    served, emulator = qbo
    response = requests.post(
        served.url + "/oauth2/v1/tokens/bearer",
        auth=(emulator.credentials.client_id, "wrong"),
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_missing_token_is_401_authentication_fault(us):
    us.access_token = ""
    response = requests.get(us.url("customer/1"), timeout=10)
    assert response.status_code == 401
    fault = response.json()["Fault"]
    assert fault["type"] == "AUTHENTICATION"
    assert fault["Error"][0]["code"] == "3200"
    assert "AuthenticationFailed" in fault["Error"][0]["Message"]


def test_expired_access_token_is_401(clocked, make_client):
    served, emulator, clock = clocked
    client = make_client(served, emulator)
    assert client.get("customer/1").status_code == 200
    clock.advance(3600 / emulator.options.time_scale + 1)
    response = client.get("customer/1")
    assert response.status_code == 401
    assert response.json()["Fault"]["Error"][0]["Detail"] == "Token expired"


def test_revoked_realm_tokens_get_401_and_refresh_is_invalid_grant(us):
    assert us.get("customer/1").status_code == 200
    revoked = requests.post(f"{us.base_url}/__admin/realms/{us.realm}/revoke", timeout=10)
    assert revoked.json()["revoked"] >= 2
    assert us.get("customer/1").status_code == 401
    assert us.refresh().json()["error"] == "invalid_grant"


def test_token_of_another_realm_is_403(us):
    response = requests.get(
        f"{us.base_url}/v3/company/9130357600000002/customer/1", headers=us.headers(), timeout=10
    )
    assert response.status_code == 403
    assert response.json()["Fault"]["Error"][0]["code"] == "3100"
