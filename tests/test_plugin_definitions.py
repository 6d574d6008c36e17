"""The Meltano wiring stays in step with what each plugin declares in `--about`."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from plugin_definitions import PLUGINS, SDK_SETTINGS, about  # noqa: E402


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
