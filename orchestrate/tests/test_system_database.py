"""Tenants starting together migrate the shared Meltano system database once, one at a time."""

from __future__ import annotations

import stat
import threading
from typing import TYPE_CHECKING

from kconnector_orchestrate.meltano_command import MeltanoInvocation
from kconnector_orchestrate.pipes_runner import ensure_system_database

if TYPE_CHECKING:
    from pathlib import Path


def _fake_meltano(folder: Path, *, status: int) -> Path:
    """A `meltano` that logs its arguments, overlapping calls and exits with `status`."""
    script = folder / "meltano"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ -e "{folder}/running" ]; then echo overlap >> "{folder}/calls"; fi\n'
        f'touch "{folder}/running"\n'
        f'echo "$*" >> "{folder}/calls"\n'
        "sleep 0.3\n"
        f'rm -f "{folder}/running"\n'
        f"exit {status}\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _call(shared: Path, tenant: str) -> MeltanoInvocation:
    env = {"MELTANO_DATABASE_URI": f"sqlite:///{shared / 'meltano.db'}", "PATH": "/usr/bin:/bin"}
    return MeltanoInvocation(("meltano", "run"), env, (), shared / "tenants" / tenant, shared)


def test_runs_starting_together_migrate_the_database_once_and_never_at_once(tmp_path):
    meltano = _fake_meltano(tmp_path, status=0)
    shared = tmp_path / "shared"
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda name=name: results.append(
                ensure_system_database(_call(shared, name), str(meltano))
            )
        )
        for name in ("a", "b", "c")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [0, 0, 0]
    assert (tmp_path / "calls").read_text(encoding="utf-8").splitlines() == ["upgrade database"]
    # A later run finds the marker and starts no migration.
    assert ensure_system_database(_call(shared, "a"), str(meltano)) == 0
    assert (tmp_path / "calls").read_text(encoding="utf-8").splitlines() == ["upgrade database"]


def test_a_failed_migration_is_reported_and_tried_again_by_the_next_run(tmp_path):
    meltano = _fake_meltano(tmp_path, status=1)
    shared = tmp_path / "shared"
    assert ensure_system_database(_call(shared, "a"), str(meltano)) == 1
    assert ensure_system_database(_call(shared, "a"), str(meltano)) == 1
    assert (tmp_path / "calls").read_text(encoding="utf-8").splitlines() == [
        "upgrade database",
        "upgrade database",
    ]


def test_another_database_is_migrated_on_its_own(tmp_path):
    meltano = _fake_meltano(tmp_path, status=0)
    shared = tmp_path / "shared"
    assert ensure_system_database(_call(shared, "a"), str(meltano)) == 0
    other = _call(shared, "a")
    other.env["MELTANO_DATABASE_URI"] = "postgresql://db.example/meltano"
    assert ensure_system_database(other, str(meltano)) == 0
    assert len((tmp_path / "calls").read_text(encoding="utf-8").splitlines()) == 2
