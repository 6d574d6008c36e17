"""Fixtures: the WooCommerce emulator served on a free loopback port, and a tap runner."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.woocommerce import WooCommerceEmulator
from kconnector_sandbox.woocommerce.api_keys import Permission
from tap_woocommerce_orders.tap import TapWooCommerceOrders

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

FIXTURES = Path(__file__).parent / "fixtures"
# Edits made through /__admin land at this moment: after the seeded history (which ends
# 2026-11-01), before the tap's run, so an edit never races the run's upper bound.
EDIT_CLOCK = datetime(2026, 11, 10, 12, 0, 0, tzinfo=UTC)


@dataclass
class Store:
    """A served emulator and the settings that reach it."""

    emulator: WooCommerceEmulator
    url: str

    def config(self, **overrides: Any) -> dict[str, Any]:
        key = self.emulator.key_with(Permission.READ)
        config: dict[str, Any] = {
            "url": self.url,
            "consumer_key": key.consumer_key,
            "consumer_secret": key.consumer_secret,
            "start_date": "2024-01-01T00:00:00Z",
            "allow_insecure_http": True,  # the emulator is plain HTTP on loopback
            "max_retries": 2,
        }
        config.update(overrides)
        return config

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, f"{self.url}/__admin/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None


@dataclass
class TapOutput:
    """The Singer messages of one run."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}


# The tap's "now" in tests: a served emulator's own (a day after its edit clock), else a fixed
# date after every fake answer's dates. No test reads the wall clock.
MOCK_NOW = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)
STORE_CLOCKS: dict[str, Callable[[], datetime]] = {}


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TapOutput:
    """Run a full sync in-process and collect its messages."""
    now = clock or STORE_CLOCKS.get(str(config.get("url")), lambda: MOCK_NOW)
    tap = TapWooCommerceOrders(config=config, state=state)
    for stream in tap.streams.values():
        if hasattr(stream, "clock"):
            stream.clock = now
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tap.sync_all()
    return TapOutput([json.loads(line) for line in buffer.getvalue().splitlines()])


@contextlib.contextmanager
def served_store(seed: int, orders: int, *, refunds: bool = True) -> Iterator[Store]:
    emulator = WooCommerceEmulator(
        SandboxOptions(seed=seed, orders=orders), clock=lambda: EDIT_CLOCK, refunds=refunds
    )
    try:
        with ServedApp(emulator.app) as served:
            STORE_CLOCKS[served.url] = lambda: EDIT_CLOCK + timedelta(days=1)
            try:
                yield Store(emulator, served.url)
            finally:
                del STORE_CLOCKS[served.url]
    finally:
        emulator.close()


@pytest.fixture
def fresh_store() -> Callable[..., contextlib.AbstractContextManager[Store]]:
    """A new store per use (tests that edit it)."""
    return served_store


@pytest.fixture(scope="session")
def eu_store() -> Iterator[Store]:
    """A tax-inclusive EUR store, shared by read-only tests."""
    with served_store(seed=2, orders=120) as store:
        yield store


@pytest.fixture
def tap_run() -> Callable[..., TapOutput]:
    """Run the tap in-process."""
    return run_tap


@pytest.fixture
def load_fixture() -> Callable[[str], Any]:
    """A hand-written WooCommerce document from tests/fixtures (numbers as Decimal)."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)

    return load
