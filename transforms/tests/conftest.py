"""Shared fixtures of the map-quickbooks tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from map_quickbooks.rules import Settings

if TYPE_CHECKING:
    from types import ModuleType

BUILDER_MODULE = "map_quickbooks_tests_canonical_builder"


def load_builder() -> ModuleType:
    """tests/canonical_builder.py, imported by path (plugin test folders are no packages)."""
    if BUILDER_MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            BUILDER_MODULE, Path(__file__).with_name("canonical_builder.py")
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[BUILDER_MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[BUILDER_MODULE]


@pytest.fixture(scope="session")
def builder() -> ModuleType:
    return load_builder()


@pytest.fixture
def default_settings() -> Settings:
    return Settings.from_config({})
