from typing import Any

import pytest
import requests_mock
from singer_sdk.exceptions import ConfigValidationError

from tap_woocommerce_orders.settings import StoreSettings
from tap_woocommerce_orders.tap import TapWooCommerceOrders

VALID = {
    "url": "https://shop.example.com/",
    "consumer_key": "ck_abc",
    "consumer_secret": "cs_def",
    "start_date": "2026-01-01T00:00:00Z",
}


def errors_of(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigValidationError) as caught:
        StoreSettings.from_config(config)
    return caught.value.errors


def test_valid_settings_give_the_api_base_and_the_store_identity() -> None:
    settings = StoreSettings.from_config(VALID)

    assert settings.api_base == "https://shop.example.com/wp-json/wc/v3"
    assert settings.store == "shop.example.com"
    assert settings.statuses == ("any",)
    assert settings.include_trash is True
    assert settings.per_page == 100


def test_plain_http_store_is_refused_naming_the_opt_in_setting() -> None:
    errors = errors_of({**VALID, "url": "http://shop.example.com"})

    assert len(errors) == 1
    assert errors[0].startswith("url:")
    assert "allow_insecure_http" in errors[0]


def test_plain_http_store_is_accepted_with_the_explicit_opt_in() -> None:
    settings = StoreSettings.from_config(
        {**VALID, "url": "http://127.0.0.1:8080", "allow_insecure_http": True}
    )

    assert settings.https is False
    assert settings.store == "127.0.0.1"


def test_query_string_auth_over_plain_http_is_refused() -> None:
    errors = errors_of({**VALID, "url": "http://shop.example.com", "auth_method": "query_string"})

    assert any(error.startswith("auth_method:") for error in errors)


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"per_page": 101}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"statuses": []}, "statuses"),
        ({"statuses": ["Processing!"]}, "statuses"),
        ({"auth_method": "oauth"}, "auth_method"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"url": "shop.example.com"}, "url"),
        ({"consumer_secret": " "}, "consumer_secret"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_invalid_setting_is_named(override: dict[str, Any], setting: str | None) -> None:
    errors = errors_of({**VALID, **override})

    assert any(error.startswith(f"{setting}:") for error in errors)


def test_site_in_a_subfolder_keeps_its_path_and_wp_json_suffix_is_tolerated() -> None:
    settings = StoreSettings.from_config({**VALID, "url": "https://Example.com/shop/wp-json/"})

    assert settings.api_base == "https://Example.com/shop/wp-json/wc/v3"
    assert settings.store == "example.com/shop"


def test_status_list_without_any_is_sent_as_given_and_trash_read_separately() -> None:
    settings = StoreSettings.from_config(
        {**VALID, "statuses": ["processing", "wc-completed", "trash"]}
    )

    assert settings.statuses == ("processing", "completed")
    assert settings.include_trash is True


def test_tap_refuses_invalid_settings_before_any_request(
    requests_mock: requests_mock.Mocker,
) -> None:
    with pytest.raises(ConfigValidationError):
        TapWooCommerceOrders(config={**VALID, "url": "http://shop.example.com"})

    assert requests_mock.call_count == 0
