from datetime import UTC, datetime

import pytest

from tap_woocommerce_orders.store_errors import (
    Action,
    ErrorClass,
    ResponseFacts,
    body_error_fields,
    classify,
    retry_after_seconds,
)


def json_error(
    status: int, code: str, message: str = "", params: tuple[str, ...] = ()
) -> ResponseFacts:
    return ResponseFacts(
        status=status, is_json=True, code=code, message=message, invalid_params=params
    )


def html(status: int) -> ResponseFacts:
    return ResponseFacts(status=status, is_json=False)


@pytest.mark.parametrize(
    ("facts", "auth_method", "setting", "words"),
    [
        (
            json_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
            "basic",
            "auth_method",
            "query_string",
        ),
        (
            json_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
            "query_string",
            "consumer_key",
            "Read permission",
        ),
        (
            json_error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."),
            "basic",
            "consumer_secret",
            "secret",
        ),
        (
            json_error(
                401,
                "woocommerce_rest_authentication_error",
                "The API key provided does not have read permissions.",
            ),
            "basic",
            "consumer_key",
            "Read permission",
        ),
        (
            json_error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid."),
            "basic",
            "consumer_key",
            "REST API",
        ),
        (
            json_error(401, "woocommerce_rest_authentication_error", "Consumer key is missing."),
            "basic",
            "auth_method",
            "Authorization header",
        ),
        (json_error(404, "rest_no_route"), "basic", "url", "WooCommerce"),
        (json_error(401, "rest_login_required"), "basic", None, "security plugin"),
        (json_error(403, "rest_forbidden"), "basic", None, "security plugin"),
        (
            json_error(400, "rest_invalid_param", params=("per_page",)),
            "basic",
            "per_page",
            "per_page",
        ),
        (html(200), "basic", "url", "cache"),
        (html(404), "basic", "url", "Permalinks"),
        (html(403), "basic", "user_agent", "User-Agent"),
        (html(401), "basic", "url", "password"),
    ],
)
def test_each_store_failure_names_the_setting_and_the_fix(
    facts: ResponseFacts, auth_method: str, setting: str | None, words: str
) -> None:
    verdict = classify(facts, auth_method=auth_method)

    assert verdict.action is Action.FAIL
    assert verdict.error_class is ErrorClass.SYSTEM
    assert verdict.setting == setting
    assert words in verdict.guidance


@pytest.mark.parametrize(
    "facts",
    [
        html(429),
        json_error(429, "too_many_requests"),
        html(502),
        html(503),
        json_error(500, "internal_server_error"),
    ],
)
def test_rate_limits_and_server_errors_are_retried(facts: ResponseFacts) -> None:
    assert classify(facts, auth_method="basic").action is Action.RETRY


def test_json_success_is_accepted() -> None:
    assert classify(ResponseFacts(200, is_json=True), auth_method="basic").action is Action.ACCEPT


def test_order_deleted_meanwhile_is_skipped_not_fatal() -> None:
    verdict = classify(
        json_error(404, "woocommerce_rest_shop_order_invalid_id"), auth_method="basic"
    )

    assert (verdict.action, verdict.error_class) == (Action.SKIP, ErrorClass.DATA)


def test_redirect_is_named_when_credentials_fail_after_one() -> None:
    facts = ResponseFacts(
        401,
        is_json=True,
        code="woocommerce_rest_cannot_view",
        redirected_from="shop.example.com/wp-json/wc/v3/orders",
    )

    assert "redirected from shop.example.com" in classify(facts, auth_method="basic").guidance


def test_wordpress_message_text_is_never_repeated_in_guidance() -> None:
    secret_looking = "Consumer secret is invalid. customer jane@example.com"
    verdict = classify(
        json_error(401, "woocommerce_rest_authentication_error", secret_looking),
        auth_method="basic",
    )

    assert "jane@example.com" not in verdict.guidance


def test_retry_after_is_read_in_seconds_and_in_http_date_form() -> None:
    now = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)

    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds("Wed, 25 Nov 2026 08:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 25 Nov 2026 07:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_error_body_fields_are_read_without_the_values() -> None:
    body = {
        "code": "rest_invalid_param",
        "message": "Invalid parameter(s): per_page",
        "data": {"status": 400, "params": {"per_page": "per_page must be between 1 and 100"}},
    }

    assert body_error_fields(body) == (
        "rest_invalid_param",
        "Invalid parameter(s): per_page",
        ("per_page",),
    )
    assert body_error_fields("<html>") == (None, None, ())
