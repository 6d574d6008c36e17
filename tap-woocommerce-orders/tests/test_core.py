"""The SDK's standard tap tests, against the WooCommerce emulator served on a free port."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.woocommerce import build
from kconnector_sandbox.woocommerce.api_keys import Permission
from tap_woocommerce_orders.tap import TapWooCommerceOrders

if TYPE_CHECKING:
    from collections.abc import Iterator


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The SDK builds its test class from a config at import time, so the port is chosen now and the
# emulator is served on it for this module (fixture below).
_EMULATOR = build(SandboxOptions(seed=1, orders=150))
_PORT = _free_port()
_KEY = _EMULATOR.key_with(Permission.READ)
CONFIG = {
    "url": f"http://127.0.0.1:{_PORT}",
    "consumer_key": _KEY.consumer_key,
    "consumer_secret": _KEY.consumer_secret,
    "start_date": "2024-01-01T00:00:00Z",
    "allow_insecure_http": True,  # the emulator is plain HTTP on loopback
}


@pytest.fixture(scope="module", autouse=True)
def served_emulator() -> Iterator[None]:
    with ServedApp(_EMULATOR.app, port=_PORT):
        yield
    _EMULATOR.close()


TestTapWooCommerceOrders = get_tap_test_class(
    TapWooCommerceOrders,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=None),
)
