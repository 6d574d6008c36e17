"""Fixtures: WooCommerce emulators served on free loopback ports, and their demo credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.woocommerce import WooCommerceEmulator, build
from kconnector_sandbox.woocommerce.store_profiles import profile_by_key

if TYPE_CHECKING:
    from collections.abc import Iterator

SEED_US = 0  # seed % 3 == 0 selects the us store


@dataclass
class Store:
    """A served emulator with what a client needs."""

    emulator: WooCommerceEmulator
    url: str

    @property
    def api(self) -> str:
        return self.url + "/wp-json/wc/v3"

    @property
    def auth(self) -> tuple[str, str]:
        key = self.emulator.demo_key
        return key.consumer_key, key.consumer_secret


def _serve(emulator: WooCommerceEmulator) -> Iterator[Store]:
    with ServedApp(emulator.app) as served:
        yield Store(emulator, served.url)
    emulator.close()


@pytest.fixture(scope="module")
def shared_store() -> Iterator[Store]:
    """A read-only store (120 orders, us profile) shared by a test module."""
    yield from _serve(build(SandboxOptions(seed=SEED_US, orders=120)))


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh store a test may change (60 orders, us profile)."""
    yield from _serve(build(SandboxOptions(seed=SEED_US, orders=60)))


@pytest.fixture
def eu_store() -> Iterator[Store]:
    """A fresh tax-inclusive EUR store."""
    options = SandboxOptions(seed=SEED_US, orders=40)
    yield from _serve(WooCommerceEmulator(options, profile=profile_by_key("eu")))
