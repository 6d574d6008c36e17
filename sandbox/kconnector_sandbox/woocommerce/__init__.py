"""WooCommerce REST API v3 emulator.

A seeded store's orders, refunds and notes, served as WordPress + WooCommerce serve them, with
the ways real hosts misbehave as switches.

`build(options)` returns the emulator (`.app`, `.banner(url)`, `.state` and friends for tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kconnector_sandbox.woocommerce.emulator import WooCommerceEmulator

if TYPE_CHECKING:
    from kconnector_sandbox.options import SandboxOptions

__all__ = ["WooCommerceEmulator", "build"]


def build(options: SandboxOptions) -> WooCommerceEmulator:
    """The emulator for these options (store profile chosen by `options.seed % 3`)."""
    return WooCommerceEmulator(options)
