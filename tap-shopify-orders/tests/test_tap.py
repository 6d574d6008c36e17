"""Settings: declared for `--about`, validated by name before any request; README in sync."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_shopify_orders.settings import API_VERSION, parse_settings
from tap_shopify_orders.tap import TapShopifyOrders

if TYPE_CHECKING:
    import requests_mock

README = Path(__file__).parents[1] / "README.md"
VALID = {
    "shop": "kc-demo.myshopify.com",
    "access_token": "shpat_x",
    "start_date": "2024-01-01T00:00:00Z",
}


def test_defaults_pin_one_api_version_and_exclude_test_orders() -> None:
    settings = parse_settings(VALID)
    assert settings.api_version == API_VERSION
    assert settings.graphql_url == (
        f"https://kc-demo.myshopify.com/admin/api/{API_VERSION}/graphql.json"
    )
    assert settings.include_test_orders is False
    assert settings.start_date.tzinfo is not None


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"shop": "kc-demo.com"}, "shop"),
        ({"shop": ""}, "shop"),
        ({"access_token": ""}, "access_token"),
        ({"api_version": "2026-02"}, "api_version"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2024-01-01T00:00:00"}, "start_date"),
        ({"start_date": None}, "start_date"),
        ({"page_size": 500}, "page_size"),
        ({"lookback_window_minutes": -1}, "lookback_window_minutes"),
        ({"bulk_threshold_days": 0}, "bulk_threshold_days"),
        ({"include_test_orders": "yes"}, "include_test_orders"),
        ({"api_url": "ftp://x"}, "api_url"),
    ],
)
def test_invalid_setting_fails_naming_the_setting(override: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigValidationError) as raised:
        parse_settings(VALID | override)
    assert any(f"`{setting}`" in error for error in raised.value.errors)


@pytest.mark.parametrize(
    "api_url",
    [
        "http://shop.example.com",
        "http://localhost.example.com",  # a prefix of "localhost" is not loopback
        "http://127.0.0.1.example.com",
        "http://10.0.0.8:8080",
    ],
)
def test_plain_http_api_url_to_another_machine_needs_the_opt_in(api_url: str) -> None:
    with pytest.raises(ConfigValidationError) as raised:
        parse_settings(VALID | {"api_url": api_url})
    [problem] = [error for error in raised.value.errors if "`api_url`" in error]
    assert "https://" in problem
    assert "allow_insecure_http" in problem
    assert parse_settings(VALID | {"api_url": api_url, "allow_insecure_http": True}).api_url


@pytest.mark.parametrize(
    "api_url",
    ["http://127.0.0.1:8080", "http://127.3.2.1", "http://localhost:9", "http://[::1]:80"],
)
def test_plain_http_api_url_to_this_machine_is_allowed(api_url: str) -> None:
    assert parse_settings(VALID | {"api_url": api_url}).api_url == api_url


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigValidationError) as raised:
        parse_settings({"shop": "x", "page_size": 0})
    assert len(raised.value.errors) >= 4


def test_tap_refuses_a_bad_config_before_any_request(requests_mock: requests_mock.Mocker) -> None:
    with pytest.raises(ConfigValidationError, match="page_size"):
        TapShopifyOrders(config=VALID | {"page_size": 0})
    assert requests_mock.call_count == 0


def test_access_token_is_declared_secret() -> None:
    schema = TapShopifyOrders.config_jsonschema["properties"]
    assert schema["access_token"]["secret"] is True
    assert schema["api_version"]["default"] == API_VERSION


def test_readme_settings_table_matches_about_output() -> None:
    about = subprocess.run(
        [sys.executable, "-m", "tap_shopify_orders.tap", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    readme = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->", readme, re.DOTALL)
    assert block is not None, "README lacks the settings markers"
    table = re.search(r"(\| Setting.*?)(?:\n\n|\Z)", about, re.DOTALL)
    assert table is not None
    assert table.group(1).strip() in block.group(1)
