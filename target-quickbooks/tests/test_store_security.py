"""Tokens never stored in clear by default; the store is readable by its owner only.

Also: processes starting at once on a new store migrate it one after the other.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from typing import TYPE_CHECKING

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_quickbooks.settings import DEFAULT_WRITER_LEASE_WAIT_SECONDS, Settings
from target_quickbooks.store import open_store
from target_quickbooks.store.database import current_revision, head_revision
from target_quickbooks.target import TargetQuickBooks

if TYPE_CHECKING:
    from pathlib import Path

CONFIG = {
    "realm_id": "123",
    "client_id": "id",
    "client_secret": "CANARY-SECRET-7f3a9c",
    "refresh_token": "CANARY-REFRESH-7f3a9c",
}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_without_a_key_or_the_opt_out_the_target_refuses_to_start():
    with pytest.raises(ConfigValidationError) as caught:
        TargetQuickBooks(config=CONFIG)
    message = str(caught.value)
    assert "TQB-TOKEN-KEY" in message
    assert "token_encryption_key is not set" in message
    assert "Fernet.generate_key()" in message  # how to make a key
    assert "TARGET_QUICKBOOKS_TOKEN_ENCRYPTION_KEY" in message  # where to keep it
    assert "never in meltano.yml" in message
    assert "allow_plaintext_tokens" in message
    assert "CANARY" not in message


@pytest.mark.parametrize("opt_out", [True, "true", "1"])
def test_the_explicit_opt_out_allows_tokens_in_clear(opt_out):
    settings = Settings.from_config({**CONFIG, "allow_plaintext_tokens": opt_out})
    assert settings.allow_plaintext_tokens
    assert settings.token_keys == ()


def test_the_opt_out_set_to_false_still_requires_a_key():
    with pytest.raises(ConfigValidationError, match="TQB-TOKEN-KEY"):
        Settings.from_config({**CONFIG, "allow_plaintext_tokens": "false"})


def test_a_key_is_enough_without_the_opt_out(token_keys):
    settings = Settings.from_config({**CONFIG, "token_encryption_key": token_keys[0]})
    assert settings.token_keys == (token_keys[0],)


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, DEFAULT_WRITER_LEASE_WAIT_SECONDS), ("12.5", 12.5), (0, 0.0)]
)
def test_writer_lease_wait_accepts_numbers_and_numeric_strings(raw, expected):
    config = {**CONFIG, "allow_plaintext_tokens": True, "writer_lease_wait_seconds": raw}
    assert Settings.from_config(config).writer_lease_wait_seconds == expected


@pytest.mark.parametrize("raw", ["-1", "soon"])
def test_writer_lease_wait_rejects_what_is_not_a_wait(raw):
    config = {**CONFIG, "allow_plaintext_tokens": True, "writer_lease_wait_seconds": raw}
    with pytest.raises(ConfigValidationError, match="writer_lease_wait_seconds"):
        Settings.from_config(config)


@pytest.fixture
def loose_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_store_and_its_folder_are_readable_by_the_owner_only(tmp_path):
    database = tmp_path / "meltano" / "target-quickbooks" / "state.db"
    store = open_store(f"sqlite:///{database}", token_keys=())
    try:
        store.tokens.save("123", refresh_token="r", access_token="a", expires_at=None)
    finally:
        store.close()
    assert mode_of(database) == 0o600
    assert mode_of(database.parent) == 0o700
    for sidecar in database.parent.iterdir():
        assert mode_of(sidecar) & 0o077 == 0, sidecar.name


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_store_readable_by_others_is_tightened_with_a_warning(tmp_path, caplog):
    database = tmp_path / "state.db"
    open_store(f"sqlite:///{database}", token_keys=()).close()
    database.chmod(0o644)
    caplog.set_level(logging.WARNING)

    open_store(f"sqlite:///{database}", token_keys=()).close()

    assert mode_of(database) == 0o600
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("event=store_permissions_tightened" in w and "was=0o644" in w for w in warnings)
    assert mode_of(tmp_path) & 0o777 == mode_of(tmp_path)  # an existing folder is left alone


def test_processes_starting_at_once_on_a_new_store_migrate_it_once(tmp_path):
    for attempt in range(5):
        url = f"sqlite:///{tmp_path / f'race-{attempt}.db'}"
        failures: list[BaseException] = []
        barrier = threading.Barrier(4)

        def open_at_once(
            url: str = url,
            failures: list[BaseException] = failures,
            barrier: threading.Barrier = barrier,
        ) -> None:
            barrier.wait()
            try:
                store = open_store(url, token_keys=())
                store.close()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

        threads = [threading.Thread(target=open_at_once) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [], f"try {attempt}"
        store = open_store(url, token_keys=())
        try:
            assert current_revision(store.engine) == head_revision()
        finally:
            store.close()
