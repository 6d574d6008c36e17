"""OAuth: rotation persisted before use, stored token preferred, revocation, crash recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest
import requests

from target_quickbooks.auth import RECONNECT_STEPS, TokenManager
from target_quickbooks.errors import SystemFaultError
from target_quickbooks.settings import Settings
from target_quickbooks.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

TOKEN_URL = "https://oauth.test/oauth2/v1/tokens/bearer"


def settings_for(tmp_path: Path, **overrides) -> Settings:
    config = {
        "realm_id": "123",
        "client_id": "client",
        "client_secret": "secret",
        "refresh_token": "configured-refresh",
        "api_url": "https://qbo.test",
        "token_url": TOKEN_URL,
        "database_url": f"sqlite:///{tmp_path / 'state.db'}",
        "min_backoff_seconds": 0.001,
        "max_backoff_seconds": 0.01,
        "allow_plaintext_tokens": True,
        **overrides,
    }
    return Settings.from_config(config)


def grant(n: int) -> dict:
    return {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600}


def sent_refresh_tokens(requests_mock) -> list[str]:
    return [r.text.split("refresh_token=")[1] for r in requests_mock.request_history]


def test_rotated_refresh_token_is_committed_before_the_access_token_is_used(
    tmp_path, requests_mock
):
    settings = settings_for(tmp_path)
    store = open_store(settings.database_url)
    requests_mock.post(TOKEN_URL, json=grant(1))
    seen_in_store: list[str | None] = []
    original_save = store.tokens.save

    def save_then_observe(*args, **kwargs):
        original_save(*args, **kwargs)
        # What another process would read right now, before the access token is handed out.
        record = open_store(settings.database_url).tokens.load("123")
        seen_in_store.append(record.refresh_token if record else None)

    store.tokens.save = save_then_observe  # type: ignore[method-assign]
    token = TokenManager(settings, store.tokens, requests.Session()).access_token()

    assert token == "access-1"
    assert seen_in_store == ["refresh-1"]


def test_stored_refresh_token_is_preferred_over_the_configured_one(tmp_path, requests_mock):
    settings = settings_for(tmp_path)
    store = open_store(settings.database_url)
    store.tokens.save("123", refresh_token="stored-refresh", access_token=None, expires_at=None)
    requests_mock.post(TOKEN_URL, json=grant(2))

    TokenManager(settings, store.tokens, requests.Session()).access_token()

    assert sent_refresh_tokens(requests_mock) == ["stored-refresh"]
    assert store.tokens.load("123").refresh_token == "refresh-2"


def test_configured_token_is_tried_when_the_stored_one_is_dead(tmp_path, requests_mock):
    settings = settings_for(tmp_path)
    store = open_store(settings.database_url)
    store.tokens.save("123", refresh_token="stale-refresh", access_token=None, expires_at=None)
    requests_mock.post(
        TOKEN_URL,
        [{"status_code": 400, "json": {"error": "invalid_grant"}}, {"json": grant(3)}],
    )

    token = TokenManager(settings, store.tokens, requests.Session()).access_token()

    assert token == "access-3"
    assert sent_refresh_tokens(requests_mock) == ["stale-refresh", "configured-refresh"]


def test_revoked_connection_is_a_system_error_with_reconnect_steps(tmp_path, requests_mock):
    settings = settings_for(tmp_path)
    store = open_store(settings.database_url)
    requests_mock.post(TOKEN_URL, status_code=400, json={"error": "invalid_grant"})

    with pytest.raises(SystemFaultError) as caught:
        TokenManager(settings, store.tokens, requests.Session()).access_token()

    assert caught.value.code == "TQB-TOKEN-REVOKED"
    assert caught.value.guidance == RECONNECT_STEPS
    assert "configured-refresh" not in str(caught.value)
    assert "configured-refresh" not in caught.value.guidance


def test_token_endpoint_5xx_is_retried(tmp_path, requests_mock):
    settings = settings_for(tmp_path)
    store = open_store(settings.database_url)
    requests_mock.post(TOKEN_URL, [{"status_code": 503, "text": "busy"}, {"json": grant(4)}])
    assert TokenManager(settings, store.tokens, requests.Session()).access_token() == "access-4"


def test_access_token_is_refreshed_before_it_expires(tmp_path, requests_mock):
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415 - local clock for this test

    settings = settings_for(tmp_path)
    store = open_store(settings.database_url)
    requests_mock.post(TOKEN_URL, [{"json": grant(5)}, {"json": grant(6)}])
    now = [datetime(2026, 11, 25, tzinfo=UTC)]
    manager = TokenManager(settings, store.tokens, requests.Session(), now=lambda: now[0])

    assert manager.access_token() == "access-5"
    now[0] += timedelta(minutes=58)
    assert manager.access_token() == "access-5"
    now[0] += timedelta(seconds=90)  # within the last minute of the hour
    assert manager.access_token() == "access-6"


def test_crash_between_refresh_and_persist_still_connects_next_run(make_config, qbo):
    served, _ = qbo
    settings = Settings.from_config(make_config())
    store = open_store(settings.database_url)

    class CrashError(BaseException):
        """Stands for the process dying right after the token endpoint answered."""

    def crash(*_args, **_kwargs):
        raise CrashError

    original_save = store.tokens.save
    store.tokens.save = crash  # type: ignore[method-assign]
    with pytest.raises(CrashError):
        TokenManager(settings, store.tokens, requests.Session()).access_token()
    store.tokens.save = original_save  # type: ignore[method-assign]

    # Next run: nothing was stored, the configured (now superseded) token is presented again.
    token = TokenManager(settings, store.tokens, requests.Session()).access_token()
    response = requests.get(
        f"{served.url}/v3/company/{settings.realm_id}/query",
        params={"query": "SELECT * FROM Item", "minorversion": "75"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    assert store.tokens.load(settings.realm_id).refresh_token != settings.refresh_token


KILL_AFTER_REFRESH = textwrap.dedent(
    """
    import os, signal, sys
    import requests
    from target_quickbooks.auth import TokenManager
    from target_quickbooks.settings import Settings
    from target_quickbooks.store import open_store
    import json

    settings = Settings.from_config(json.loads(sys.argv[1]))
    store = open_store(settings.database_url)
    manager = TokenManager(settings, store.tokens, requests.Session())
    manager.access_token()  # first rotation, committed
    manager._refresh_at = None  # force a second rotation ...
    store.tokens.save = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)  # ... and die in it
    manager.access_token()
    """
)


def test_token_rotated_mid_run_survives_kill_9_right_after_the_refresh(make_config, qbo):
    import json  # noqa: PLC0415 - only this test serialises the config

    served, _ = qbo
    config = make_config()
    completed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_REFRESH, json.dumps(config)],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ},
    )
    assert completed.returncode == -signal.SIGKILL

    settings = Settings.from_config(config)
    store = open_store(settings.database_url)
    stored_before = store.tokens.load(settings.realm_id).refresh_token
    # The stored access token is still valid; drop it so the next run must refresh with the
    # stored refresh token, the one the killed rotation superseded.
    store.tokens.forget_access_token(settings.realm_id)
    token = TokenManager(settings, store.tokens, requests.Session()).access_token()

    assert store.tokens.load(settings.realm_id).refresh_token != stored_before
    response = requests.get(
        f"{served.url}/v3/company/{settings.realm_id}/query",
        params={"query": "SELECT * FROM Item", "minorversion": "75"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
