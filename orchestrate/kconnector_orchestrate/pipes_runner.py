"""The external side of Dagster Pipes: one tenant's `meltano run`, watched and summarised.

Dagster starts this module (`PipesSubprocessClient`) as
`python -m kconnector_orchestrate.pipes_runner --tenants-file F --tenant NAME --meltano M`. It

1. builds the tenant's command line and environment (`meltano_command`): this process, not
   Dagster, strips the orchestrator's other tenants' variables, because Dagster hands a Pipes
   subprocess its whole environment;
2. runs `meltano run` in a process group of its own, passing each output line on to Dagster's
   logs with every credential masked, and reading the run's figures from them (`run_summary`);
3. reports the figures to Dagster as the tenant asset's materialization metadata (orders read,
   documents written, dead letters, reviews);
4. exits with Meltano's status, so a failed run fails the Dagster step (and its retry policy
   applies). A run past `--timeout-seconds`, or a Dagster termination (SIGINT/SIGTERM), stops
   the whole `meltano run` process group; the target's writer lease is released by its
   process ending (PostgreSQL advisory locks end with the session).

Exit status 2: the tenant cannot run as configured (the message names the field and the fix).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from dagster_pipes import open_dagster_pipes

from kconnector_canonical.redaction import SecretRedactor
from kconnector_orchestrate.meltano_command import (
    PLUGIN_TYPE_DIRS,
    MeltanoInvocation,
    TenantEnvironmentError,
    invocation,
)
from kconnector_orchestrate.run_summary import RunLogReader
from kconnector_orchestrate.tenants import TenantsFileError, load_tenants

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

CONFIGURATION_ERROR = 2
TIMED_OUT = 124  # as timeout(1)
_KILL_GRACE_SECONDS = 10.0


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kconnector_orchestrate.pipes_runner")
    parser.add_argument("--tenants-file", required=True, type=Path)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--meltano", required=True)
    parser.add_argument("--timeout-seconds", type=float, default=None)
    return parser.parse_args(argv)


class _ProcessGroup:
    """The `meltano run` process group: stopped whole on timeout or termination."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.timed_out = False

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=_KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def on_timeout(self) -> None:
        self.timed_out = True
        self.stop()


def _tenant_invocation(args: argparse.Namespace) -> MeltanoInvocation:
    tenants = load_tenants(args.tenants_file)
    try:
        tenant = tenants.by_name(args.tenant)
    except KeyError:
        msg = (
            f"tenant {args.tenant!r} is not in the tenants file {args.tenants_file}: add it, or "
            "reload the Dagster code location after editing the file"
        )
        raise TenantEnvironmentError(msg) from None
    return invocation(tenant, os.environ, args.meltano, Path.cwd())


def _prepare_sys_dir(call: MeltanoInvocation) -> None:
    """The tenant's Meltano system folder, with the project's installed plugins linked in."""
    call.sys_dir.mkdir(parents=True, exist_ok=True)
    for plugin_type in PLUGIN_TYPE_DIRS:
        installed = call.shared_sys_dir / plugin_type
        link = call.sys_dir / plugin_type
        if installed.is_dir() and not link.exists():
            with contextlib.suppress(FileExistsError):  # a concurrent run of the tenant made it
                link.symlink_to(installed, target_is_directory=True)


def ensure_system_database(call: MeltanoInvocation, meltano: str) -> int:
    """Migrate the shared Meltano system database once, one tenant at a time; 0 when done.

    Every tenant's run shares the project's system database (the state). Meltano migrates it
    when a command starts, and two runs starting together on a new database both try to create
    its tables: one fails ("table plugin_settings already exists"). So the first run of a
    process migrates it (`meltano upgrade database`) under a file lock in the shared system
    folder, and leaves a marker naming the database, which later runs find and skip. After
    upgrading Meltano, run `meltano upgrade database` once (docs/scale-out.md).
    """
    uri = call.env.get("MELTANO_DATABASE_URI", "")
    digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
    marker = call.shared_sys_dir / f".system-database-{digest}"
    if marker.exists():
        return 0
    call.shared_sys_dir.mkdir(parents=True, exist_ok=True)
    with (call.shared_sys_dir / ".system-database.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # another tenant's run migrated it while this one waited
            return 0
        upgraded = subprocess.run(  # noqa: S603 - the project's own meltano
            [meltano, "upgrade", "database"],
            env=call.env,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        if upgraded.returncode == 0:
            marker.write_text("migrated\n", encoding="utf-8")
        return upgraded.returncode


def main(argv: Sequence[str] | None = None) -> int:
    """Run one tenant's `meltano run` under Dagster Pipes; returns the exit status."""
    args = _arguments(argv)
    with open_dagster_pipes() as pipes:
        try:
            call = _tenant_invocation(args)
        except (TenantsFileError, TenantEnvironmentError) as exc:
            pipes.log.error(str(exc))  # noqa: TRY400 - the message names the fix; no traceback
            print(str(exc), file=sys.stderr)  # noqa: T201 - the run's own log
            return CONFIGURATION_ERROR
        _prepare_sys_dir(call)
        if ensure_system_database(call, args.meltano) != 0:
            message = (
                "the Meltano system database could not be migrated: run `meltano upgrade database`"
            )
            pipes.log.error(message)
            print(message, file=sys.stderr)  # noqa: T201 - the run's own log
            return CONFIGURATION_ERROR
        redactor = SecretRedactor()
        for value in call.secrets:
            redactor.register(value)
        reader = RunLogReader()
        process = subprocess.Popen(  # noqa: S603 - the project's own meltano, argv built above
            call.argv,
            env=call.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        group = _ProcessGroup(process)

        def terminate(_signum: int, _frame: FrameType | None) -> None:
            group.stop()

        signal.signal(signal.SIGTERM, terminate)
        signal.signal(signal.SIGINT, terminate)
        timer = None
        if args.timeout_seconds:
            timer = threading.Timer(args.timeout_seconds, group.on_timeout)
            timer.daemon = True
            timer.start()
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
        for line in process.stdout:
            reader.feed(line)
            sys.stderr.write(redactor.redact(line))
        status = process.wait()
        if timer is not None:
            timer.cancel()
        metadata = {**reader.summary.metadata(), "meltano_exit_status": status}
        if group.timed_out:
            pipes.log.error(
                "tenant %s: meltano run exceeded %g s and was stopped",
                args.tenant,
                args.timeout_seconds,
            )
            return TIMED_OUT
        if status != 0:
            pipes.log.error("tenant %s: meltano run ended with status %d", args.tenant, status)
            pipes.report_custom_message(metadata)
            return status
        pipes.report_asset_materialization(metadata=metadata)
        return 0


if __name__ == "__main__":
    sys.exit(main())
