"""Settings: defaults, cross-field checks naming the setting, secrets kept out of reprs."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_quickbooks.settings import (
    PRODUCTION_API_URL,
    SANDBOX_API_URL,
    Settings,
    default_database_url,
)

BASE = {
    "realm_id": "123",
    "client_id": "id",
    "client_secret": "CANARY-SECRET-7f3a9c",
    "refresh_token": "CANARY-REFRESH-7f3a9c",
    "allow_plaintext_tokens": True,
}


def test_database_defaults_under_the_meltano_project():
    url = default_database_url({"MELTANO_PROJECT_ROOT": "/srv/project"})
    assert url == "sqlite:////srv/project/.meltano/target-quickbooks/state.db"


def test_database_defaults_to_the_working_directory_outside_meltano():
    assert default_database_url({}) == "sqlite:///.target-quickbooks/state.db"


def test_environment_chooses_the_api_url():
    assert Settings.from_config(BASE).api_url == SANDBOX_API_URL
    production = Settings.from_config({**BASE, "environment": "production"})
    assert production.api_url == PRODUCTION_API_URL


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"max_concurrency": 11}, "max_concurrency"),
        ({"batch_size": 31}, "batch_size"),
        ({"batch_requests_per_minute": 41}, "batch_requests_per_minute"),
        ({"requests_per_minute": 20, "batch_requests_per_minute": 30}, "batch_requests_per_minute"),
        ({"api_url": "http://qbo.example.com"}, "api_url"),
        ({"environment": "production", "api_url": SANDBOX_API_URL}, "api_url"),
        ({"environment": "staging"}, "environment"),
        ({"minor_version": "v75"}, "minor_version"),
        ({"minor_version": "65"}, "minor_version"),
        ({"refresh_token": ""}, "refresh_token"),
        ({"min_backoff_seconds": "soon"}, "min_backoff_seconds"),
        ({"max_backoff_seconds": True}, "max_backoff_seconds"),
        ({"rate_limit_window_seconds": "0"}, "rate_limit_window_seconds"),
        ({"rate_limit_window_seconds": "nan"}, "rate_limit_window_seconds"),
        ({"request_timeout_seconds": -1}, "request_timeout_seconds"),
        ({"min_backoff_seconds": "5", "max_backoff_seconds": "2"}, "min_backoff_seconds"),
    ],
)
def test_invalid_combinations_name_the_setting(override, setting):
    with pytest.raises(ConfigValidationError) as caught:
        Settings.from_config({**BASE, **override})
    assert setting in str(caught.value)


def test_durations_accept_numeric_strings_as_meltano_passes_them_from_the_environment():
    settings = Settings.from_config(
        {
            **BASE,
            "rate_limit_window_seconds": "1.0166",
            "request_timeout_seconds": 30,
            "min_backoff_seconds": " 0.0167 ",
            "max_backoff_seconds": "1",
        }
    )
    assert settings.rate_limit_window_seconds == pytest.approx(1.0166)
    assert settings.request_timeout_seconds == pytest.approx(30.0)
    assert settings.min_backoff_seconds == pytest.approx(0.0167)
    assert settings.max_backoff_seconds == pytest.approx(1.0)


def test_durations_default_when_unset():
    settings = Settings.from_config(
        {**BASE, "min_backoff_seconds": None, "max_backoff_seconds": ""}
    )
    assert (settings.min_backoff_seconds, settings.max_backoff_seconds) == (1.0, 60.0)
    assert settings.rate_limit_window_seconds == pytest.approx(61.0)


def test_a_token_key_that_is_not_a_fernet_key_is_named_and_not_echoed():
    with pytest.raises(ConfigValidationError) as caught:
        Settings.from_config({**BASE, "token_encryption_key": "CANARY-not-a-key"})
    assert "token_encryption_key: key 1 is not a Fernet key" in str(caught.value)
    assert "CANARY" not in str(caught.value)


def test_token_keys_are_comma_separated_the_current_first(token_keys):
    new_key, old_key = token_keys
    settings = Settings.from_config({**BASE, "token_encryption_key": f" {new_key} , {old_key} "})
    assert settings.token_keys == (new_key, old_key)
    assert new_key not in repr(settings)


def test_secrets_never_appear_in_repr():
    text = repr(Settings.from_config(BASE))
    assert "CANARY" not in text
