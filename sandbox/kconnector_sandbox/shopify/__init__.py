"""Shopify GraphQL Admin API emulator.

Seeded shops, cost-based throttling, bulk operations, webhooks, and an admin API to change data
and inject faults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kconnector_sandbox.shopify import webhook_subscriptions
from kconnector_sandbox.shopify.app import ShopifyEmulator
from kconnector_sandbox.shopify.build import build_order
from kconnector_sandbox.shopify.generator import generate_specs
from kconnector_sandbox.shopify.profiles import PROFILES
from kconnector_sandbox.shopify.webhooks import order_payload

if TYPE_CHECKING:
    from collections.abc import Collection

    from kconnector_sandbox.options import SandboxOptions

__all__ = ["ShopifyEmulator", "build", "export_orders"]


def build(options: SandboxOptions, shops: Collection[str] | None = None) -> ShopifyEmulator:
    """The emulator for `options` (seed, orders per shop, time scale, faults).

    `shops` (profile keys ``us``, ``ca``, ``uk``) seeds only those shops; the others are served
    empty. None seeds all three.
    """
    emulator = ShopifyEmulator(options, shops)
    webhook_subscriptions.install(emulator)  # GraphQL webhookSubscription* fields
    return emulator


def export_orders(options: SandboxOptions) -> dict[str, list[dict[str, Any]]]:
    """Each seeded shop's orders as JSON (the REST/webhook order shape), keyed by shop domain.

    The same orders the emulator serves for `options.seed` and `options.orders`; meant for a
    ``seed`` command that writes a store to files.
    """
    return {
        profile.domain: [
            order_payload(build_order(spec, profile.currency), ZoneInfo(profile.iana_timezone))
            for spec in generate_specs(options.seed, options.orders, profile)
        ]
        for profile in PROFILES.values()
    }
