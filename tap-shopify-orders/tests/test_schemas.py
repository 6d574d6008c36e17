"""The SCHEMA messages are the canonical schemas, unchanged."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from kconnector_canonical import singer_schema
from tap_shopify_orders.tap import TapShopifyOrders


def schema_messages(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tap = TapShopifyOrders(config=config)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for stream in tap.streams.values():
            stream._write_schema_message()
    messages = [json.loads(line) for line in out.getvalue().splitlines()]
    return {m["stream"]: m["schema"] for m in messages if m["type"] == "SCHEMA"}


def test_schema_messages_equal_the_canonical_schemas(mock_config: dict[str, Any]) -> None:
    assert schema_messages(mock_config) == {
        "orders": singer_schema("orders"),
        "refunds": singer_schema("refunds"),
        "payouts": singer_schema("payouts"),
    }
