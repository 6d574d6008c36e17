"""Each real-time store run has a Meltano system folder of its own, sharing the installed plugins.

Meltano writes a run's catalog to `<system folder>/run/<tap>/tap.properties.json`, the same path
for every run of a tap: two runs of one tap at once overwrite each other's catalog ("Invalid
JSON", or the file missing when the tap starts).
"""

from __future__ import annotations

from pathlib import Path

from kconnector_realtime.dispatcher import meltano_system_env


def _project(tmp_path: Path) -> Path:
    shared = tmp_path / "project" / ".meltano"
    for name in ("extractors", "loaders", "mappers", "run", "logs"):
        (shared / name).mkdir(parents=True)
    (shared / "meltano.db").write_bytes(b"")
    return shared


def test_a_run_links_the_installed_plugins_and_keeps_run_and_logs_its_own(tmp_path: Path) -> None:
    shared = _project(tmp_path)
    folder = tmp_path / "run-1"
    folder.mkdir()

    env = meltano_system_env(folder, {"MELTANO_PROJECT_ROOT": str(tmp_path / "project")})

    own = Path(env["MELTANO_SYS_DIR_ROOT"])
    assert own == folder / "meltano"
    assert sorted(p.name for p in own.iterdir()) == ["extractors", "loaders", "mappers"]
    assert (own / "extractors").resolve() == (shared / "extractors").resolve()
    # The project's system database stays the one every run uses.
    assert env["MELTANO_DATABASE_URI"] == f"sqlite:///{(shared / 'meltano.db').resolve()}"


def test_two_runs_of_one_tap_get_two_system_folders(tmp_path: Path) -> None:
    _project(tmp_path)
    environ = {"MELTANO_PROJECT_ROOT": str(tmp_path / "project")}
    folders = [tmp_path / "standby", tmp_path / "run"]
    for folder in folders:
        folder.mkdir()

    roots = {meltano_system_env(folder, environ)["MELTANO_SYS_DIR_ROOT"] for folder in folders}

    assert len(roots) == 2


def test_a_system_folder_and_database_set_by_the_operator_are_followed(tmp_path: Path) -> None:
    shared = tmp_path / "elsewhere"
    (shared / "extractors").mkdir(parents=True)
    folder = tmp_path / "run-1"
    folder.mkdir()
    environ = {
        "MELTANO_SYS_DIR_ROOT": str(shared),
        "MELTANO_DATABASE_URI": "postgresql://meltano@db/meltano",
    }

    env = meltano_system_env(folder, environ)

    assert (Path(env["MELTANO_SYS_DIR_ROOT"]) / "extractors").resolve() == shared / "extractors"
    assert "MELTANO_DATABASE_URI" not in env  # the operator's stays in the environment
