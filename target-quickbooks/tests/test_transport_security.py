"""Credentials stay on their host: URL policy, no cross-host redirects, a deadline per answer."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from kconnector_canonical.http_session import GuardedSession
from target_quickbooks.auth import TokenManager
from target_quickbooks.errors import SystemFaultError
from target_quickbooks.settings import Settings
from target_quickbooks.store import open_store

TOKEN_URL = "https://oauth.test/oauth2/v1/tokens/bearer"
BASE = {
    "realm_id": "123",
    "client_id": "client",
    "client_secret": "client-secret-value",
    "refresh_token": "configured-refresh-token",
    "allow_plaintext_tokens": True,
    "min_backoff_seconds": 0.001,
    "max_backoff_seconds": 0.01,
}


@pytest.mark.parametrize("setting", ["api_url", "token_url"])
@pytest.mark.parametrize(
    "url",
    [
        "http://qbo.example.com",
        "http://localhost.example.com",  # a string prefix of localhost is not loopback
        "http://127.0.0.1.example.com",
        "http://192.168.1.10:8080",
    ],
)
def test_plain_http_to_another_machine_is_refused_naming_the_setting_and_fix(
    setting: str, url: str
) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        Settings.from_config({**BASE, setting: url})
    [problem] = [error for error in caught.value.errors if error.startswith(setting)]
    assert "https://" in problem
    assert "allow_insecure_http" in problem
    assert Settings.from_config({**BASE, setting: url, "allow_insecure_http": True})


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8701", "http://127.9.9.9", "http://localhost:80", "http://[::1]:81"]
)
def test_plain_http_to_this_machine_needs_no_opt_in(url: str) -> None:
    settings = Settings.from_config({**BASE, "api_url": url, "token_url": url + "/tokens"})
    assert settings.api_url == url


def test_token_endpoint_redirect_to_another_host_never_reposts_the_refresh_token(
    tmp_path, requests_mock
) -> None:
    settings = Settings.from_config(
        {**BASE, "token_url": TOKEN_URL, "database_url": f"sqlite:///{tmp_path / 's.db'}"}
    )
    requests_mock.post(
        TOKEN_URL, status_code=307, headers={"Location": "https://collector.example/steal"}
    )
    stolen = requests_mock.post("https://collector.example/steal", json={})
    store = open_store(settings.database_url)
    manager = TokenManager(settings, store.tokens, GuardedSession())

    with pytest.raises(SystemFaultError, match="redirected to another host") as caught:
        manager.access_token()

    assert stolen.call_count == 0
    assert "token_url" in caught.value.guidance
    store.close()


def test_same_host_redirect_is_still_followed(tmp_path, requests_mock) -> None:
    settings = Settings.from_config(
        {**BASE, "token_url": TOKEN_URL, "database_url": f"sqlite:///{tmp_path / 's.db'}"}
    )
    requests_mock.post(TOKEN_URL, status_code=307, headers={"Location": TOKEN_URL + "/v2"})
    requests_mock.post(
        TOKEN_URL + "/v2",
        json={"access_token": "access-1", "refresh_token": "refresh-1", "expires_in": 3600},
    )
    store = open_store(settings.database_url)
    manager = TokenManager(settings, store.tokens, GuardedSession())
    assert manager.access_token() == "access-1"
    store.close()
