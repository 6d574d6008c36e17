"""Settings: defaults, config-time checks naming the setting, safe rule conditions."""

from decimal import Decimal

import pytest
from singer_sdk.exceptions import ConfigValidationError

from map_quickbooks.rules import CONDITION_SAMPLE, Condition, Settings


def test_empty_config_gives_the_documented_defaults():
    settings = Settings.from_config({})
    assert settings.paid_at_checkout_window_minutes == 60
    assert settings.tax_mode == "us_automated"
    assert settings.discount_mode == "discount_line"
    assert settings.doc_number_template == "{prefix}{order_number}"
    assert settings.skip_test_orders is True
    assert settings.document_type_rules == ()


def test_same_config_gives_the_same_mapping_version_and_a_change_another():
    first = Settings.from_config({"item_map": {"A": "B"}}).mapping_version
    assert first == Settings.from_config({"item_map": {"A": "B"}}).mapping_version
    assert first != Settings.from_config({"item_map": {"A": "C"}}).mapping_version


@pytest.mark.parametrize(
    "expression",
    [
        "().__class__.__bases__",
        "gateway.__class__",
        "__import__('os')",
        "open('/etc/passwd')",
        "rand() > 0.5",
        "undefined_name == 1",
        "gateway ==",
    ],
)
def test_unsafe_or_invalid_expression_is_rejected_naming_the_setting(expression):
    config = {
        "document_type_rules": [
            {"when": "True", "type": "invoice"},
            {"when": expression, "type": "invoice"},
        ]
    }
    with pytest.raises(ConfigValidationError) as caught:
        Settings.from_config(config)
    assert "document_type_rules[1].when" in str(caught.value)
    assert caught.value.errors[0].startswith("document_type_rules[1].when")


def test_condition_reads_gateway_tags_channel_and_total():
    condition = Condition.compile(
        "rule", "gateway == 'cod' and 'wholesale' in tags and channel == 'pos' and total > 100"
    )
    facts = dict(CONDITION_SAMPLE)
    facts.update(gateway="cod", tags=["wholesale"], channel="pos", total=Decimal("100.01"))
    assert condition.matches(facts)
    facts["total"] = Decimal(100)
    assert not condition.matches(facts)


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        ({"doc_number_template": "{prefix}{number}"}, "doc_number_template"),
        ({"doc_number_template": "{prefix}"}, "doc_number_template"),
        ({"doc_number_template": "{prefix"}, "doc_number_template"),
        ({"refund_doc_number_template": "R"}, "refund_doc_number_template"),
        ({"store_timezone": "Mars/Olympus"}, "store_timezone"),
        ({"home_currency": "EURO"}, "home_currency"),
        ({"multicurrency": True}, "home_currency"),
        ({"created_after": "2026-01-01T00:00:00"}, "created_after"),
    ],
)
def test_invalid_setting_is_rejected_with_its_name(config, setting):
    with pytest.raises(ConfigValidationError) as caught:
        Settings.from_config(config)
    assert str(caught.value).startswith(f"Invalid setting {setting}:")
