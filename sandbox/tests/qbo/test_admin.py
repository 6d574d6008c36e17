import requests


def test_request_log_counts_status_and_route(us):
    us.get("customer/1")
    us.get("customer/999")
    summary = requests.get(f"{us.base_url}/__admin/requests", timeout=10).json()
    assert summary["by_status"]["200"] >= 1
    assert summary["by_status"]["400"] == 1
    assert summary["by_route"]["GET /v3/company/{realmId}/customer/{id}"] == 2
    assert summary["minor_versions"]["75"] == 2


def test_entities_listing_and_realm_creation(us):
    listing = requests.get(
        f"{us.base_url}/__admin/realms/{us.realm}/entities/TaxCode", timeout=10
    ).json()
    assert {c["Id"] for c in listing["TaxCode"]} == {"TAX", "NON"}
    created = requests.post(f"{us.base_url}/__admin/realms", json={"kind": "CA"}, timeout=10)
    assert created.status_code == 201
    realms = requests.get(f"{us.base_url}/__admin/realms", timeout=10).json()["realms"]
    assert created.json()["realm_id"] in [r["realm_id"] for r in realms]


def test_reset_restores_seeded_state(us):
    us.post("customer", {"DisplayName": "Gone After Reset"})
    requests.post(f"{us.base_url}/__admin/reset", timeout=10)
    assert len(us.emulator.realms[us.realm].documents("Customer")) == 3


def test_banner_lists_credentials_and_realms(qbo):
    _, emulator = qbo
    banner = "\n".join(emulator.banner("http://127.0.0.1:8701"))
    assert emulator.credentials.client_id in banner
    assert emulator.initial_refresh_tokens["9130357600000002"] in banner
