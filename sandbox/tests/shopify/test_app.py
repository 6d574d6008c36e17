"""The emulator's shops: all three seeded by default, or only those asked for."""

import pytest

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.shopify import build


def test_all_three_shops_are_seeded_by_default() -> None:
    emulator = build(SandboxOptions(seed=3, orders=5))
    assert [len(shop.orders) for shop in emulator.shops.values()] == [5, 5, 5]


def test_only_the_shops_asked_for_are_seeded_and_the_others_served_empty() -> None:
    emulator = build(SandboxOptions(seed=3, orders=5), shops=["ca"])
    assert len(emulator.shop("ca").orders) == 5
    assert len(emulator.shop("us").orders) == len(emulator.shop("uk").orders) == 0
    assert list(emulator.shop("ca").orders) == list(
        build(SandboxOptions(seed=3, orders=5)).shop("ca").orders
    )


def test_an_unknown_shop_is_refused_with_the_valid_names() -> None:
    with pytest.raises(ValueError, match="use us, ca or uk"):
        build(SandboxOptions(seed=3, orders=5), shops=["fr"])
