"""The dispatcher of `serve`: coalesced events -> one Meltano run per store at a time.

Each `tick` reaps the runs that ended (their events done, or back to the queue on failure), then
starts a run for every store whose queued events are due (`PendingStore.due`: quiet for the
debounce, or the oldest waited the max delay) and whose (store, QuickBooks company) has no run in
progress. Events that arrive during a run stay queued and make one follow-up run once it ends.

A store run is `meltano run --full-refresh --no-state-update <job>` with the tap's `start_date`
set to the oldest claimed event's time less a margin: a narrow window that leaves the scheduled
poll's state alone (the poll stays the safety net). A document the poll already delivered costs
no write: the target's ledger already has it.

Standby: most of a short run is start-up (Meltano, its catalog discovery, three Python plugins
importing), so each routed store keeps `standby_runs` runs started ahead, their taps waiting
before their first request (`kconnector_canonical.standby`). When the store's events are due and
it has no run in progress, the dispatcher claims them and releases the oldest standby with the
window's `start_date`: the run reads, maps and writes at once. A new standby then warms up; with
two, the next one has had two runs' time to warm up when the follow-up run is due. A standby
holds no claim and no writer lease (the target takes it at its first write), reads nothing
before its release, and is replaced after `standby_max_age` (settings read afresh).

A QuickBooks event (someone changed a document in QuickBooks) starts the conflict check of the
documents it names that K-Connector wrote: `reconcile` of their days, which reads QuickBooks'
copies and compares amounts and tax to the ledger's, to the cent (exit 1 when they differ). A run
of the store's job would not notice: an order unchanged in the store is skipped by the ledger's
body hash without reading QuickBooks, and the three-way merge runs only when the order changes
(docs/realtime.md, "QuickBooks events").
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from kconnector_canonical.standby import (
    READY_FILE,
    STANDBY_DIR_ENV,
    STANDBY_OWNER_ENV,
    write_release,
)
from kconnector_realtime.queue import split_store_key
from kconnector_realtime.settings import RUN_ENV, START_DATE_ENV
from target_quickbooks.store.schema import ledger

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from kconnector_realtime.queue import EventQueue, QueuedEvent
    from kconnector_realtime.receiver import Counters
    from kconnector_realtime.settings import RealtimeSettings, StoreRoute

logger = logging.getLogger("kconnector_realtime.dispatcher")

# How often done events past the retention are deleted.
_PRUNE_EVERY = timedelta(hours=1)
# reconcile's exit codes (target-quickbooks-ops): 0 all agree, 1 something differs.
_RECONCILE_DIFFERS = 1
# A cancelled standby ends by itself within a second or two once its tap reaches the wait; one
# still alive this long after (a tap stuck in its start-up) is killed.
_RETIRE_GRACE = timedelta(seconds=60)


class RunProcess(Protocol):
    """What the dispatcher needs of a started run (a `subprocess.Popen`)."""

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""

    def kill(self) -> None:
        """Stop it (past the run timeout)."""


@dataclass(frozen=True)
class RunPlan:
    """One run to start: its command line and the environment it adds."""

    run_key: str
    slot: tuple[str, str]
    argv: tuple[str, ...]
    env: Mapping[str, str]
    kind: str  # "store", "quickbooks" or "standby"
    # The tap settings a standby is released with (a store run's window).
    release: Mapping[str, str] = field(default_factory=dict)


class ProcessGroupRun:
    """A run started in a session of its own: `kill` ends meltano and its plugins together."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        """Wrap a started process (its own session leader)."""
        self.process = process

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.process.poll()

    def kill(self) -> None:
        """SIGKILL the whole group.

        A killed run is safe: the ledger and the requestid make the re-run write each document
        once.
        """
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def popen_launcher(plan: RunPlan) -> RunProcess:
    """Start `plan` as a child process in its own session (so it can be killed whole)."""
    return ProcessGroupRun(
        subprocess.Popen(  # noqa: S603 - argv built from the operator's settings
            list(plan.argv),
            env={**os.environ, **plan.env},
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    )


def window_start(events: Sequence[QueuedEvent], margin: timedelta) -> datetime:
    """The run's `start_date`: the oldest event's time (or receipt), less the margin."""
    oldest = min((e.occurred_at or e.received_at) for e in events)
    return min(oldest, *(e.received_at for e in events)) - margin


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _store_argv(route: StoreRoute, settings: RealtimeSettings) -> tuple[str, ...]:
    return (
        settings.dispatch.meltano,
        "run",
        "--full-refresh",  # read from start_date (the window), not the poll's bookmark
        "--no-state-update",  # and leave the poll's bookmark where it is
        route.job,
    )


def store_run_plan(
    route: StoreRoute, events: Sequence[QueuedEvent], run_key: str, settings: RealtimeSettings
) -> RunPlan:
    """`meltano run` of the store's job over the events' window, leaving the poll's state alone."""
    start_text = _utc_text(window_start(events, settings.dispatch.window_margin))
    return RunPlan(
        run_key=run_key,
        slot=route.run_slot,
        argv=_store_argv(route, settings),
        env={START_DATE_ENV[route.platform]: start_text, **RUN_ENV[route.platform]},
        kind="store",
        release={"start_date": start_text},
    )


def standby_plan(
    route: StoreRoute, folder: Path, now: datetime, settings: RealtimeSettings
) -> RunPlan:
    """The store's run started ahead: its tap waits in `folder` for the release.

    Its `start_date` (now less the margin) is a placeholder the release replaces; the owner's pid
    lets a standby end by itself when this dispatcher is gone.
    """
    return RunPlan(
        run_key=f"standby-{folder.name}",
        slot=route.run_slot,
        argv=_store_argv(route, settings),
        env={
            START_DATE_ENV[route.platform]: _utc_text(now - settings.dispatch.window_margin),
            **RUN_ENV[route.platform],
            STANDBY_DIR_ENV: str(folder),
            STANDBY_OWNER_ENV: str(os.getpid()),
        },
        kind="standby",
    )


def meltano_system_env(folder: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """A Meltano system folder of the run's own, sharing the project's installed plugins.

    Meltano writes a run's catalog to `<system folder>/run/<tap>/tap.properties.json`, one name
    for every run of a tap, so two runs of one tap at once (a standby starting beside a run, the
    scheduled poll beside a real-time run) overwrite each other's catalog and fail. Each real-time
    run gets `<folder>/meltano`, linking the installed plugins (`extractors/`, `loaders/`...) of
    the project's system folder (`MELTANO_SYS_DIR_ROOT`, else `.meltano` of the project), and
    keeps the project's system database when it is the default SQLite file there.

    Returns:
        The environment the run adds: `MELTANO_SYS_DIR_ROOT` (and `MELTANO_DATABASE_URI`).
    """
    project = Path(environ.get("MELTANO_PROJECT_ROOT") or Path.cwd())
    shared = Path(environ.get("MELTANO_SYS_DIR_ROOT") or project / ".meltano")
    own = folder / "meltano"
    own.mkdir(mode=0o700, exist_ok=True)
    if shared.is_dir():
        for entry in shared.iterdir():
            # `run/` (each run's config and catalog) and `logs/` stay the run's own.
            if entry.is_dir() and entry.name not in {"run", "logs"}:
                (own / entry.name).symlink_to(entry.resolve(), target_is_directory=True)
    env = {"MELTANO_SYS_DIR_ROOT": str(own)}
    if not environ.get("MELTANO_DATABASE_URI") and (shared / "meltano.db").is_file():
        env["MELTANO_DATABASE_URI"] = f"sqlite:///{(shared / 'meltano.db').resolve()}"
    return env


def written_days(engine: sa.engine.Engine, realm_id: str, entity_ids: Sequence[str]) -> list[str]:
    """The days (TxnDate) of the documents K-Connector wrote among `entity_ids` (sorted)."""
    if not entity_ids or not sa.inspect(engine).has_table(ledger.name):
        return []
    query = sa.select(ledger.c.snapshot, ledger.c.pushed_body).where(
        ledger.c.realm_id == realm_id, ledger.c.qbo_id.in_(sorted(set(entity_ids)))
    )
    days: set[str] = set()
    with engine.connect() as connection:
        for row in connection.execute(query):
            for body in (row.pushed_body, row.snapshot):
                if isinstance(body, dict) and isinstance(body.get("TxnDate"), str):
                    days.add(body["TxnDate"][:10])
                    break
    return sorted(days)


def conflict_check_plan(
    realm_id: str, days: Sequence[str], run_key: str, settings: RealtimeSettings
) -> RunPlan:
    """`meltano invoke target-quickbooks:ops reconcile` over the edited documents' days."""
    argv = (
        settings.dispatch.meltano,
        "invoke",
        "target-quickbooks:ops",
        "reconcile",
        "--since",
        days[0],
        "--until",
        days[-1],
        "--output-dir",
        f"output/reconciliation/realtime-{realm_id}",
    )
    return RunPlan(
        run_key=run_key,
        slot=(f"quickbooks:{realm_id}", realm_id),
        argv=argv,
        env={"TARGET_QUICKBOOKS_REALM_ID": realm_id},
        kind="quickbooks",
    )


@dataclass
class _Running:
    plan: RunPlan
    process: RunProcess
    started_at: datetime
    folder: Path | None = None  # a released standby's


@dataclass
class _Standby:
    plan: RunPlan
    process: RunProcess
    folder: Path
    started_at: datetime
    ready_at: datetime | None = None
    retired_at: datetime | None = None


@dataclass
class Dispatcher:
    """Starts and reaps runs; `tick` is called in a loop by `serve` (or by a test, by hand)."""

    queue: EventQueue
    settings: RealtimeSettings
    clock: Callable[[], datetime]
    launcher: Callable[[RunPlan], RunProcess] = popen_launcher
    counters: Counters | None = None
    # The environment the runs start from (their Meltano system folder is derived from it).
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    running: dict[tuple[str, str], _Running] = field(default_factory=dict)
    standbys: dict[tuple[str, str], list[_Standby]] = field(default_factory=dict)
    # Where the store runs' and standbys' folders go (a private temporary folder when None).
    standby_root: Path | None = None
    _not_before: dict[str, datetime] = field(default_factory=dict)
    _unrouted_warned: set[str] = field(default_factory=set)
    _pruned_at: datetime | None = None
    _retiring: list[_Standby] = field(default_factory=list)
    _standby_not_before: dict[tuple[str, str], datetime] = field(default_factory=dict)
    _standby_refused: set[tuple[str, str]] = field(default_factory=set)
    _own_root: bool = False

    def tick(self) -> list[RunPlan]:
        """One pass: reap ended runs, start the due ones. Returns the runs started."""
        self.reap()
        now = self.clock()
        dispatch = self.settings.dispatch
        if self._pruned_at is None or now - self._pruned_at >= _PRUNE_EVERY:
            self._pruned_at = now
            pruned = self.queue.prune(finished_before=now - dispatch.retention)
            if pruned:
                logger.info("event=queue_pruned events=%s", pruned)
        started: list[RunPlan] = []
        waiting: set[str] = set()
        for pending in self.queue.pending():
            waiting.add(pending.store_key)
            if not pending.due(now, dispatch.debounce, dispatch.max_delay):
                continue
            if now < self._not_before.get(pending.store_key, now):
                continue
            plan = self._start(pending.store_key, now)
            if plan is not None:
                started.append(plan)
        if dispatch.standby_runs > 0:
            self._keep_standbys(now, waiting)
        return started

    def _slot(self, store: str) -> tuple[str, str] | None:
        """The store's run slot, or None when no route covers it (warned once)."""
        platform, host = split_store_key(store)
        if platform == "quickbooks" and self.settings.quickbooks_routes(host):
            return (store, host)
        route = self.settings.route(store)
        if route is not None:
            return route.run_slot
        if store not in self._unrouted_warned:
            self._unrouted_warned.add(store)
            logger.warning(
                "event=store_not_routed store=%s: its events wait for the scheduled poll; "
                "add a route for it (or for a store writing to that company) to act on them",
                store,
            )
        return None

    def _plan(self, store: str, run_key: str, claimed: int) -> RunPlan | None:
        """The run for the claimed events (None: nothing to run, the events are done)."""
        platform, host = split_store_key(store)
        events = self.queue.claimed(run_key)
        route = self.settings.route(store)
        if route is not None:
            return store_run_plan(route, events, run_key, self.settings)
        days = written_days(self.queue.engine, host, [e.resource_id or "" for e in events])
        if platform == "quickbooks" and days:
            return conflict_check_plan(host, days, run_key, self.settings)
        # None of them is a document K-Connector wrote.
        self.queue.finish(run_key, succeeded=True)
        logger.info("event=quickbooks_events_not_ours realm=%s events=%s", host, claimed)
        return None

    def _start(self, store: str, now: datetime) -> RunPlan | None:
        slot = self._slot(store)
        if slot is None or slot in self.running:
            return None  # unrouted, or the follow-up run starts when this one ends
        run_key = f"realtime-{uuid.uuid4().hex}"
        claimed = self.queue.claim(store, run_key)
        plan = self._plan(store, run_key, claimed) if claimed else None
        if plan is None:
            return None
        released = self._release_standby(slot, plan, now) if plan.kind == "store" else None
        if released is not None:
            self.running[slot] = released
            self._started(store, plan, claimed)
            return plan
        folder = self._run_folder() if plan.kind == "store" else None
        if folder is not None:
            plan = replace(plan, env={**plan.env, **meltano_system_env(folder, self.environ)})
        try:
            process = self.launcher(plan)
        except OSError as exc:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            self.queue.finish(run_key, succeeded=False)
            self._not_before[store] = now + self.settings.dispatch.retry_after
            logger.error(  # noqa: TRY400 - the reason is the whole story; no traceback needed
                "event=run_not_started store=%s error=%s: check the meltano setting",
                store,
                type(exc).__name__,
            )
            return None
        self.running[slot] = _Running(plan, process, now, folder=folder)
        self._started(store, plan, claimed, standby="none")
        return plan

    def _started(self, store: str, plan: RunPlan, claimed: int, standby: str = "released") -> None:
        if self.counters is not None:
            self.counters.add("runs_started")
        logger.info(
            "event=run_started store=%s run_key=%s kind=%s events=%s standby=%s argv=%s",
            store,
            plan.run_key,
            plan.kind,
            claimed,
            standby,
            " ".join(plan.argv),
        )

    # --- standbys ---------------------------------------------------------------------

    def _release_standby(
        self, slot: tuple[str, str], plan: RunPlan, now: datetime
    ) -> _Running | None:
        """The slot's oldest standby, released with the run's window (None: start cold)."""
        waiting = self.standbys.get(slot, [])
        for ended in [s for s in waiting if s.process.poll() is not None]:
            waiting.remove(ended)
            self._standby_ended(slot, ended, now)
        if not waiting:
            return None
        # The first ready one (its tap waits), else the one started first.
        standby = next((s for s in waiting if (s.folder / READY_FILE).exists()), waiting[0])
        waiting.remove(standby)
        try:
            write_release(standby.folder, {"config": dict(plan.release)})
        except OSError as exc:
            logger.error(  # noqa: TRY400 - the reason is the whole story
                "event=standby_release_failed store=%s error=%s: the run starts cold",
                slot[0],
                type(exc).__name__,
            )
            self._retire(standby, now)
            return None
        ready = standby.ready_at is not None or (standby.folder / READY_FILE).exists()
        logger.info(
            "event=standby_released store=%s run_key=%s warm_seconds=%s ready=%s",
            slot[0],
            plan.run_key,
            int((now - standby.started_at).total_seconds()),
            str(ready).lower(),
        )
        return _Running(plan, standby.process, now, folder=standby.folder)

    def _keep_standbys(self, now: datetime, waiting: set[str]) -> None:
        """`standby_runs` standbys per routed store: started, watched, replaced when too old."""
        self._reap_retiring(now)
        dispatch = self.settings.dispatch
        for route in self.settings.routes:
            slot = route.run_slot
            standbys = self.standbys.setdefault(slot, [])
            for standby in list(standbys):
                if standby.process.poll() is not None:
                    standbys.remove(standby)
                    self._standby_ended(slot, standby, now)
                    continue
                if standby.ready_at is None and (standby.folder / READY_FILE).exists():
                    standby.ready_at = now
                    logger.info(
                        "event=standby_ready store=%s run_key=%s seconds=%s",
                        route.store,
                        standby.plan.run_key,
                        int((now - standby.started_at).total_seconds()),
                    )
                too_old = now - standby.started_at >= dispatch.standby_max_age
                if too_old and route.store not in waiting:  # never while its events wait
                    standbys.remove(standby)
                    self._retire(standby, now)
            while (
                len(standbys) < dispatch.standby_runs
                and slot not in self._standby_refused
                and now >= self._standby_not_before.get(slot, now)
            ):
                if not self._start_standby(route, now):
                    break

    def _start_standby(self, route: StoreRoute, now: datetime) -> bool:
        folder = self._run_folder()
        plan = standby_plan(route, folder, now, self.settings)
        plan = replace(plan, env={**plan.env, **meltano_system_env(folder, self.environ)})
        try:
            process = self.launcher(plan)
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            self._standby_not_before[route.run_slot] = now + self.settings.dispatch.retry_after
            logger.error(  # noqa: TRY400 - the reason is the whole story
                "event=standby_not_started store=%s error=%s: check the meltano setting",
                route.store,
                type(exc).__name__,
            )
            return False
        self.standbys.setdefault(route.run_slot, []).append(_Standby(plan, process, folder, now))
        if self.counters is not None:
            self.counters.add("standbys_started")
        logger.info("event=standby_started store=%s run_key=%s", route.store, plan.run_key)
        return True

    def _standby_ended(self, slot: tuple[str, str], standby: _Standby, now: datetime) -> None:
        """A standby that ended before its release: retried later, or refused for good."""
        code = standby.process.poll()
        ready = standby.ready_at is not None or (standby.folder / READY_FILE).exists()
        shutil.rmtree(standby.folder, ignore_errors=True)
        if not ready:
            # Its tap never waited: it may not know the standby (an older release) and would
            # read at once, outside the one-run-per-store rule. Cold runs only, for this store.
            self._standby_refused.add(slot)
            logger.error(
                "event=standby_refused store=%s exit=%s: the run started ahead ended before its "
                "tap waited for a release; runs of this store start cold from now on (install "
                "taps that support the standby, or check the job's configuration)",
                slot[0],
                code,
            )
            return
        self._standby_not_before[slot] = now + self.settings.dispatch.retry_after
        logger.warning(
            "event=standby_ended store=%s exit=%s: a new one starts in %s s",
            slot[0],
            code,
            int(self.settings.dispatch.retry_after.total_seconds()),
        )

    def _retire(self, standby: _Standby, now: datetime) -> None:
        """Cancel a standby (it ends reading nothing); killed if it lingers."""
        with contextlib.suppress(OSError):
            write_release(standby.folder, {"cancel": True})
        standby.retired_at = now
        self._retiring.append(standby)

    def _reap_retiring(self, now: datetime) -> None:
        for standby in list(self._retiring):
            retired_at = standby.retired_at or now
            if standby.process.poll() is None and now - retired_at <= _RETIRE_GRACE:
                continue
            if standby.process.poll() is None:
                standby.process.kill()
            self._retiring.remove(standby)
            shutil.rmtree(standby.folder, ignore_errors=True)

    def _run_folder(self) -> Path:
        if self.standby_root is None:
            self.standby_root = Path(tempfile.mkdtemp(prefix="kconnector-realtime-"))
            self._own_root = True
        folder = self.standby_root / uuid.uuid4().hex
        folder.mkdir(mode=0o700, parents=True)
        return folder

    def reap(self) -> None:
        """Finish the runs that ended (or passed the run timeout)."""
        now = self.clock()
        for slot, run in list(self.running.items()):
            code = run.process.poll()
            if code is None and now - run.started_at > self.settings.dispatch.run_timeout:
                run.process.kill()
                code = -9
            if code is None:
                continue
            del self.running[slot]
            if run.folder is not None:
                shutil.rmtree(run.folder, ignore_errors=True)
            succeeded = code == 0 or (run.plan.kind == "quickbooks" and code == _RECONCILE_DIFFERS)
            self.queue.finish(run.plan.run_key, succeeded=succeeded)
            store = slot[0]
            if not succeeded:
                self._not_before[store] = now + self.settings.dispatch.retry_after
            if run.plan.kind == "quickbooks" and code == _RECONCILE_DIFFERS:
                logger.warning(
                    "event=quickbooks_edit_differs realm=%s run_key=%s: a document K-Connector "
                    "wrote differs from the store in QuickBooks; see the reconcile report",
                    slot[1],
                    run.plan.run_key,
                )
            logger.info(
                "event=run_finished store=%s run_key=%s exit=%s outcome=%s seconds=%s",
                store,
                run.plan.run_key,
                code,
                "done" if succeeded else "requeued",
                int((now - run.started_at).total_seconds()),
            )

    def stop(self) -> None:
        """Kill the runs in progress (their events go back to the queue) and the standbys."""
        for run in self.running.values():
            run.process.kill()
            self.queue.finish(run.plan.run_key, succeeded=False)
        self.running.clear()
        # A standby holds no claim and has read nothing: killing it loses nothing.
        for standby in [*(s for slot in self.standbys.values() for s in slot), *self._retiring]:
            standby.process.kill()
            shutil.rmtree(standby.folder, ignore_errors=True)
        self.standbys.clear()
        self._retiring.clear()
        if self._own_root and self.standby_root is not None:
            shutil.rmtree(self.standby_root, ignore_errors=True)
            self.standby_root = None
            self._own_root = False
