"""Write (or check) each plugin's Meltano Hub-style definition from its own `--about` output.

    .venv/bin/python scripts/plugin_definitions.py          # rewrite <plugin>/meltano-plugin.yml
    .venv/bin/python scripts/plugin_definitions.py --check  # exit 1 when one is out of date

Another Meltano project adds a plugin from its definition with
`meltano add --plugin-type <type> <name> --from-ref <path or URL of meltano-plugin.yml>`
(the `--plugin-type` form: with Meltano 4.4, `meltano add extractor <name> --from-ref` adds a
same-named utility too, and `meltano add mapper` adds only a utility).

As on Meltano Hub, `pip_url` names the published distribution (the plugin folder's
`[project].name`); `kconnector-canonical` comes in as its dependency. The mapper's definition
carries a mapping (Meltano runs mappings, not mapper plugins), and the target's carries the
operator commands declared in this repository's `meltano.yml`. There is no `repo:` key: the
project has no public repository URL yet, and a placeholder would not install.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The mapping another project's pipelines name (`meltano run <tap> quickbooks target-quickbooks`):
# Meltano refuses a mapping named like its mapper plugin.
MAPPING_NAME = "quickbooks"
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

    @property
    def distribution(self) -> str:
        """The published distribution's name, from the folder's pyproject.toml."""
        with (ROOT / self.folder / "pyproject.toml").open("rb") as pyproject:
            name: str = tomllib.load(pyproject)["project"]["name"]
        return name

    @property
    def singular_type(self) -> str:
        """`extractor`, `mapper` or `loader`, as `meltano add --plugin-type` takes it."""
        return self.plugin_type.removesuffix("s")


PLUGINS = (
    Plugin(
        "tap-shopify-orders",
        "extractors",
        "tap-shopify-orders",
        "Shopify orders",
    ),
    Plugin(
        "tap-woocommerce-orders",
        "extractors",
        "tap-woocommerce-orders",
        "WooCommerce orders",
    ),
    Plugin(
        "transforms",
        "mappers",
        "map-quickbooks",
        "QuickBooks mapping rules",
    ),
    Plugin(
        "target-quickbooks",
        "loaders",
        "target-quickbooks",
        "QuickBooks Online",
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


def project_commands(plugin: Plugin) -> dict[str, Any]:
    """The plugin's `commands:` in this repository's meltano.yml (the operator commands)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    declared = next(
        p for p in project["plugins"][plugin.plugin_type] if p["name"] == plugin.executable
    )
    commands: dict[str, Any] = declared.get("commands") or {}
    return commands


def definition(plugin: Plugin) -> dict[str, Any]:
    """The Hub-style definition of one plugin."""
    info = about(plugin)
    properties: dict[str, Any] = info["settings"]["properties"]
    settings = [_setting(n, spec) for n, spec in properties.items() if n not in SDK_SETTINGS]
    result: dict[str, Any] = {
        "name": plugin.executable,
        "namespace": plugin.executable.replace("-", "_"),
        "variant": "k-connector",
        "label": plugin.label,
        "description": info.get("description") or plugin.label,
        "pip_url": plugin.distribution,
        "executable": plugin.executable,
    }
    capabilities = [c for c in info.get("capabilities", []) if c != "structured-logging"]
    if plugin.plugin_type != "mappers":
        result["capabilities"] = capabilities
    result["settings"] = settings
    required = info["settings"].get("required")
    if required:
        result["settings_group_validation"] = [required]
    if plugin.plugin_type == "mappers":
        result["mappings"] = [{"name": MAPPING_NAME, "config": {}}]
    commands = project_commands(plugin)
    if commands:
        result["commands"] = commands
    return result


def render(plugin: Plugin) -> str:
    """The YAML text of a plugin's definition."""
    header = (
        f"# Meltano Hub-style definition of {plugin.executable} ({plugin.singular_type}).\n"
        "# Generated from `--about` by scripts/plugin_definitions.py; do not edit by hand.\n"
        f"# Add it to a project: meltano add --plugin-type {plugin.singular_type} "
        f"{plugin.executable} --from-ref <path or URL of this file>\n"
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
