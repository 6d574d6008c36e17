"""The operator commands read the target's config file, or Meltano's environment variables."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from target_quickbooks.operations.cli import main
from target_quickbooks.operations.config import OpsConfigError, load_config

NAMES = ["realm_id", "client_secret", "use_batch_api", "max_concurrency"]


def test_settings_come_from_meltano_environment_variables_without_a_config_file():
    environ = {
        "TARGET_QUICKBOOKS_REALM_ID": "123",
        "TARGET_QUICKBOOKS_CLIENT_SECRET": "s",
        "TARGET_QUICKBOOKS_USE_BATCH_API": "false",
        "TARGET_QUICKBOOKS_MAX_CONCURRENCY": "2",
        "TARGET_QUICKBOOKS_UNRELATED": "x",
        "TAP_SHOPIFY_REALM_ID": "999",
    }
    assert load_config([], NAMES, environ) == {
        "realm_id": "123",
        "client_secret": "s",
        "use_batch_api": False,
        "max_concurrency": "2",
    }


def test_every_boolean_setting_from_the_environment_is_a_boolean():
    # `meltano invoke target-quickbooks:ops` in the demo environment (allow_plaintext_tokens).
    environ = {
        "TARGET_QUICKBOOKS_ALLOW_PLAINTEXT_TOKENS": "true",
        "TARGET_QUICKBOOKS_ALLOW_INSECURE_HTTP": "False",
        "TARGET_QUICKBOOKS_REALM_ID": "true",  # a text setting keeps its text
    }
    names = ["allow_plaintext_tokens", "allow_insecure_http", "realm_id"]
    assert load_config([], names, environ) == {
        "allow_plaintext_tokens": True,
        "allow_insecure_http": False,
        "realm_id": "true",
    }


def test_config_files_are_merged_in_order_and_the_environment_is_then_ignored(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"realm_id": "1", "client_secret": "a"}))
    second.write_text(json.dumps({"client_secret": "b"}))
    environ = {"TARGET_QUICKBOOKS_REALM_ID": "env"}
    assert load_config([first, second], NAMES, environ) == {"realm_id": "1", "client_secret": "b"}


def test_an_unreadable_config_file_is_named_without_its_content(tmp_path):
    broken = tmp_path / "target.json"
    broken.write_text('{"client_secret": "CANARY-SECRET-7f3a9c",')
    with pytest.raises(OpsConfigError, match=r"target\.json"):
        load_config([broken], NAMES, {})

    result = CliRunner().invoke(main, ["--config", str(broken), "status"])

    assert result.exit_code == 2
    assert "cannot read the config file" in result.output
    assert "CANARY" not in result.output


def test_an_incomplete_configuration_is_a_system_problem(tmp_path):
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"realm_id": "1", "database_url": "sqlite://"}))

    result = CliRunner().invoke(main, ["--config", str(config), "status", "--offline"])

    assert result.exit_code == 2
    assert "client_secret is required" in result.output


def test_resolve_needs_exactly_one_decision(tmp_path):
    config = tmp_path / "target.json"
    config.write_text(
        json.dumps(
            {
                "realm_id": "1",
                "client_id": "c",
                "client_secret": "s",
                "refresh_token": "r",
                "database_url": f"sqlite:///{tmp_path / 'state.db'}",
                "allow_plaintext_tokens": True,
            }
        )
    )

    result = CliRunner().invoke(main, ["--config", str(config), "review", "resolve", "1"])

    assert result.exit_code == 2
    assert "exactly one of --accept" in result.output
