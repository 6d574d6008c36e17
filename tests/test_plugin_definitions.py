"""The Meltano wiring stays in step with what each plugin declares in `--about`."""

import functools
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from plugin_definitions import MAPPING_NAME, PLUGINS, SDK_SETTINGS  # noqa: E402
from plugin_definitions import about as run_about  # noqa: E402

# Each plugin's `--about` is a process start (a second or more of CPU); the tests only read it.
about = functools.cache(run_about)


def test_hub_definitions_are_generated_from_the_current_about_output():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "plugin_definitions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.executable)
def test_meltano_yml_declares_every_setting_and_hides_every_secret(plugin):
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    declared = next(
        p for p in project["plugins"][plugin.plugin_type] if p["name"] == plugin.executable
    )
    settings = {s["name"]: s for s in declared.get("settings", [])}
    properties = about(plugin)["settings"]["properties"]
    own = {
        name: spec
        for name, spec in properties.items()
        if name not in SDK_SETTINGS and name not in {"stream_maps", "stream_map_config"}
    }
    assert sorted(set(own) - set(settings)) == []
    assert sorted(set(settings) - set(properties)) == []
    for name, spec in own.items():
        if spec.get("secret"):
            assert settings[name].get("kind") == "password", name


def _definition(plugin):
    return yaml.safe_load((ROOT / plugin.folder / "meltano-plugin.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.executable)
def test_hub_definition_installs_the_published_distribution_by_name(plugin):
    text = (ROOT / plugin.folder / "meltano-plugin.yml").read_text(encoding="utf-8")
    definition = yaml.safe_load(text)
    assert definition["pip_url"] == plugin.distribution
    assert "repo" not in definition
    assert "git+" not in text
    assert "<repository" not in text
    assert f"meltano add --plugin-type {plugin.singular_type} {plugin.executable}" in text


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.executable)
def test_no_plugin_advertises_batch_messages_the_mapper_cannot_read(plugin):
    definition = _definition(plugin)
    assert "batch" not in definition.get("capabilities", [])
    assert "batch_config" not in about(plugin)["settings"]["properties"]


def test_the_mapper_definition_carries_a_mapping_named_apart_from_the_plugin():
    (mapper,) = [p for p in PLUGINS if p.plugin_type == "mappers"]
    mappings = _definition(mapper)["mappings"]
    assert [m["name"] for m in mappings] == [MAPPING_NAME]
    assert mapper.executable != MAPPING_NAME


def test_the_target_definition_carries_the_operator_commands_of_meltano_yml():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (declared,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-quickbooks"]
    (target,) = [p for p in PLUGINS if p.executable == "target-quickbooks"]
    commands = _definition(target)["commands"]
    assert commands == declared["commands"]
    assert {"status", "review", "errors", "retry", "audit", "reconcile"} <= set(commands)
