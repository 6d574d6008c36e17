"""The e2e harness runs `meltano install` only when what the plugin venvs are made from changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import meltano_sandbox

FOLDERS = ("canonical", "tap-shopify-orders")


@pytest.fixture
def installs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A project in `tmp_path` whose `meltano install` is recorded (and makes one plugin venv)."""
    (tmp_path / "meltano.yml").write_text("plugins: {}\n", encoding="utf-8")
    (tmp_path / "tools" / "meltano").mkdir(parents=True)
    (tmp_path / "tools" / "meltano" / "uv.lock").write_text("meltano 4\n", encoding="utf-8")
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    meltano = tmp_path / "bin" / "meltano"
    meltano.parent.mkdir()
    meltano.write_text("", encoding="utf-8")
    calls: list[list[str]] = []

    def install(command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command[1:])
        venv = tmp_path / ".meltano" / "extractors" / "tap-shopify-orders" / "venv" / "bin"
        venv.mkdir(parents=True, exist_ok=True)
        (venv / "python").write_text("", encoding="utf-8")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(meltano_sandbox, "ROOT", tmp_path)
    monkeypatch.setattr(meltano_sandbox, "MELTANO", meltano)
    monkeypatch.setattr(meltano_sandbox, "PLUGIN_PACKAGE_FOLDERS", FOLDERS)
    monkeypatch.setattr(meltano_sandbox.subprocess, "run", install)
    return calls


def test_an_unchanged_project_is_installed_once(installs: list[list[str]]) -> None:
    meltano_sandbox.ensure_plugins_installed()
    meltano_sandbox.ensure_plugins_installed()
    meltano_sandbox.ensure_plugins_installed()
    assert installs == [["install", "--clean"]]


def test_a_changed_meltano_yml_or_meltano_version_installs_again(
    installs: list[list[str]],
) -> None:
    root = meltano_sandbox.ROOT
    meltano_sandbox.ensure_plugins_installed()
    (root / "meltano.yml").write_text("plugins: {extractors: []}\n", encoding="utf-8")
    meltano_sandbox.ensure_plugins_installed()
    (root / "tools" / "meltano" / "uv.lock").write_text("meltano 5\n", encoding="utf-8")
    meltano_sandbox.ensure_plugins_installed()
    assert installs == [["install", "--clean"], ["install"], ["install"]]


def test_a_changed_plugin_pyproject_reinstalls_cleanly(installs: list[list[str]]) -> None:
    meltano_sandbox.ensure_plugins_installed()
    pyproject = meltano_sandbox.ROOT / "tap-shopify-orders" / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["backoff"]\n', encoding="utf-8")
    meltano_sandbox.ensure_plugins_installed()
    assert installs == [["install", "--clean"], ["install", "--clean"]]


def test_a_deleted_plugin_venv_installs_again(installs: list[list[str]]) -> None:
    meltano_sandbox.ensure_plugins_installed()
    venv = meltano_sandbox.ROOT / ".meltano" / "extractors" / "tap-shopify-orders" / "venv"
    (venv / "bin" / "python").unlink()
    meltano_sandbox.ensure_plugins_installed()
    assert installs == [["install", "--clean"], ["install"]]
