"""Example canonical records (valid, reconciled to the cent), for docs and for tests downstream.

`load("shopify_order")` returns a fresh copy; names: shopify_order, shopify_refund,
woocommerce_order, woocommerce_refund, shopify_payout.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

EXAMPLES: tuple[str, ...] = (
    "shopify_order",
    "shopify_refund",
    "woocommerce_order",
    "woocommerce_refund",
    "shopify_payout",
)


def load(name: str) -> dict[str, Any]:
    """A fresh copy of the named example record."""
    if name not in EXAMPLES:
        msg = f"unknown example {name!r}; expected one of {', '.join(EXAMPLES)}"
        raise ValueError(msg)
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    record: dict[str, Any] = json.loads(text)
    return record
