"""Write (or check) each plugin's Meltano Hub-style definition from its own `--about` output.

    .venv/bin/python scripts/plugin_definitions.py          # rewrite <plugin>/meltano-plugin.yml
    .venv/bin/python scripts/plugin_definitions.py --check  # exit 1 when one is out of date

Another Meltano project adds a plugin from its definition with
`meltano add <type> <name> --from-ref <path or URL of meltano-plugin.yml>`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "<repository-url>"
# Settings every singer-sdk plugin declares; documented by the SDK, not repeated per plugin.
SDK_SETTINGS = frozenset(
    {
        "faker_config",
        "flattening_enabled",
        "flattening_max_depth",
        "flattening_max_key_length",
        "flattening_separator",
        "batch_config",
    }
)


@dataclass(frozen=True)
class Plugin:
    """A plugin folder of this repository."""

    folder: str
    plugin_type: str
    executable: str
    label: str
    needs_canonical: bool


PLUGINS = (
    Plugin(
        "tap-shopify-orders",
        "extractors",
        "tap-shopify-orders",
        "Shopify orders",
        needs_canonical=True,
    ),
    Plugin(
        "tap-woocommerce-orders",
        "extractors",
        "tap-woocommerce-orders",
        "WooCommerce orders",
        needs_canonical=True,
    ),
    Plugin(
        "transforms",
        "mappers",
        "map-quickbooks",
        "QuickBooks mapping rules",
        needs_canonical=True,
    ),
    Plugin(
        "target-quickbooks",
        "loaders",
        "target-quickbooks",
        "QuickBooks Online",
        needs_canonical=False,
    ),
)


def _kind(name: str, spec: dict[str, Any]) -> str | None:
    # JSON numbers get no kind: Meltano 4.4's `decimal` kind cannot serialise plugin config.
    types = spec.get("type") or []
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    if spec.get("secret") or spec.get("sensitive"):
        return "password"
    if name.endswith("start_date") or spec.get("format") == "date-time":
        return "date_iso8601"
    for json_type, kind in (
        ("boolean", "boolean"),
        ("integer", "integer"),
        ("array", "array"),
        ("object", "object"),
    ):
        if json_type in types:
            return kind
    return None


def about(plugin: Plugin) -> dict[str, Any]:
    """The plugin's `--about --format=json`."""
    executable = ROOT / ".venv" / "bin" / plugin.executable
    output = subprocess.run(  # noqa: S603 - our own executable, fixed arguments
        [str(executable), "--about", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    parsed: dict[str, Any] = json.loads(output)
    return parsed


def _setting(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    setting: dict[str, Any] = {"name": name}
    if spec.get("title"):
        setting["label"] = spec["title"]
    kind = _kind(name, spec)
    if kind:
        setting["kind"] = kind
    if kind == "password":
        setting["sensitive"] = True
    if spec.get("description"):
        setting["description"] = spec["description"]
    if spec.get("default") is not None:
        setting["value"] = spec["default"]
    return setting


def definition(plugin: Plugin) -> dict[str, Any]:
    """The Hub-style definition of one plugin."""
    info = about(plugin)
    properties: dict[str, Any] = info["settings"]["properties"]
    settings = [_setting(n, spec) for n, spec in properties.items() if n not in SDK_SETTINGS]
    pip_parts = [f"git+{REPOSITORY}#subdirectory={plugin.folder}"]
    if plugin.needs_canonical:
        pip_parts.insert(0, f"git+{REPOSITORY}#subdirectory=canonical")
    result: dict[str, Any] = {
        "name": plugin.executable,
        "namespace": plugin.executable.replace("-", "_"),
        "variant": "k-connector",
        "label": plugin.label,
        "description": info.get("description") or plugin.label,
        "repo": REPOSITORY,
        "pip_url": " ".join(pip_parts),
        "executable": plugin.executable,
    }
    capabilities = [c for c in info.get("capabilities", []) if c != "structured-logging"]
    if plugin.plugin_type != "mappers":
        result["capabilities"] = capabilities
    result["settings"] = settings
    required = info["settings"].get("required")
    if required:
        result["settings_group_validation"] = [required]
    return result


def render(plugin: Plugin) -> str:
    """The YAML text of a plugin's definition."""
    header = (
        f"# Meltano Hub-style definition of {plugin.executable} ({plugin.plugin_type[:-1]}).\n"
        "# Generated from `--about` by scripts/plugin_definitions.py; do not edit by hand.\n"
        f"# Add it to a project: meltano add {plugin.plugin_type[:-1]} {plugin.executable} "
        "--from-ref <path or URL of this file>\n"
    )
    body = yaml.safe_dump(definition(plugin), sort_keys=False, allow_unicode=True, width=100)
    return header + body


def main() -> int:
    """Write or check every plugin's definition."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a file is out of date")
    args = parser.parse_args()
    stale = []
    for plugin in PLUGINS:
        path = ROOT / plugin.folder / "meltano-plugin.yml"
        text = render(plugin)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        sys.stderr.write(
            "out of date (run scripts/plugin_definitions.py): " + ", ".join(stale) + "\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
