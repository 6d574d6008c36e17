"""The operator commands' configuration: the target's own config file, or Meltano's environment.

`meltano invoke target-quickbooks:<command>` passes the plugin's settings as environment
variables named ``TARGET_QUICKBOOKS_<SETTING>`` (Meltano's configuration docs,
https://docs.meltano.com/guide/configuration/), so without ``--config`` the settings are read
from there; with ``--config`` the same JSON file the target reads is used, so the database and
the QuickBooks credentials always match the target's.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from target_quickbooks.target import TargetQuickBooks

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

ENV_PREFIX = "TARGET_QUICKBOOKS_"
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


class OpsConfigError(ValueError):
    """The configuration cannot be read (the message names the file or variable)."""


def _boolean_settings() -> frozenset[str]:
    """The target's boolean settings (`allow_plaintext_tokens`, `use_batch_api`, ...)."""
    properties = TargetQuickBooks.config_jsonschema["properties"]
    return frozenset(
        name for name, spec in properties.items() if "boolean" in str(spec.get("type"))
    )


def from_environment(names: Iterable[str], environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from ``TARGET_QUICKBOOKS_<NAME>`` variables (booleans as true/false).

    Meltano passes every setting as text; the target's boolean settings are turned back into
    booleans (whatever their name), or validating the config would refuse "true".
    """
    booleans = _boolean_settings()
    config: dict[str, Any] = {}
    for name in names:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is None or value == "":
            continue
        config[name] = _BOOLEANS.get(value.lower(), value) if name in booleans else value
    return config


def load_config(
    paths: Iterable[Path], names: Iterable[str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The config files merged in order (later wins), else the environment.

    Raises:
        OpsConfigError: a file that cannot be read or is not a JSON object.
    """
    config: dict[str, Any] = {}
    files = list(paths)
    for path in files:
        try:
            loaded = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            msg = f"cannot read the config file {path}: {type(exc).__name__}"
            raise OpsConfigError(msg) from None
        if not isinstance(loaded, dict):
            msg = f"the config file {path} does not hold a JSON object"
            raise OpsConfigError(msg)
        config.update(loaded)
    if not files:
        config = from_environment(names, os.environ if environ is None else environ)
    return config
