"""No `batch`: map-quickbooks, the consumer of these streams, reads RECORD messages only."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities

from tap_woocommerce_orders.tap import TapWooCommerceOrders

VALID = {
    "url": "https://shop.example.com/",
    "consumer_key": "ck_abc",
    "consumer_secret": "cs_def",
    "start_date": "2026-01-01T00:00:00Z",
}


def test_batch_is_neither_advertised_nor_offered_as_a_setting() -> None:
    tap = TapWooCommerceOrders(config=VALID)
    assert PluginCapabilities.BATCH not in tap.capabilities
    assert "batch_config" not in tap.config_jsonschema["properties"]


def test_a_batch_config_is_refused_naming_the_setting_and_the_fix() -> None:
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": "file:///tmp/batches"},
    }
    with pytest.raises(ConfigValidationError) as caught:
        TapWooCommerceOrders(config={**VALID, "batch_config": batch_config})
    assert caught.value.errors[0].startswith("batch_config:")
    assert "remove" in caught.value.errors[0]
