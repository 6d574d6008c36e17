"""The dispatcher of `serve`: coalesced events -> one Meltano run per store at a time.

Each `tick` reaps the runs that ended (their events done, or back to the queue on failure), then
starts a run for every store whose queued events are due (`PendingStore.due`: quiet for the
debounce, or the oldest waited the max delay) and whose (store, QuickBooks company) has no run in
progress. Events that arrive during a run stay queued and make one follow-up run once it ends.

A store run is `meltano run --full-refresh --no-state-update <job>` with the tap's `start_date`
set to the oldest claimed event's time less a margin: a narrow window that leaves the scheduled
poll's state alone (the poll stays the safety net). A document the poll already delivered costs
no write: the target's ledger already has it.

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
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from kconnector_realtime.queue import split_store_key
from kconnector_realtime.settings import START_DATE_ENV
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
    kind: str  # "store" or "quickbooks"


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


def store_run_plan(
    route: StoreRoute, events: Sequence[QueuedEvent], run_key: str, settings: RealtimeSettings
) -> RunPlan:
    """`meltano run` of the store's job over the events' window, leaving the poll's state alone."""
    start = window_start(events, settings.dispatch.window_margin).astimezone(UTC)
    start_text = start.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    argv = (
        settings.dispatch.meltano,
        "run",
        "--full-refresh",  # read from start_date (the window), not the poll's bookmark
        "--no-state-update",  # and leave the poll's bookmark where it is
        route.job,
    )
    return RunPlan(
        run_key=run_key,
        slot=route.run_slot,
        argv=argv,
        env={START_DATE_ENV[route.platform]: start_text},
        kind="store",
    )


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


@dataclass
class Dispatcher:
    """Starts and reaps runs; `tick` is called in a loop by `serve` (or by a test, by hand)."""

    queue: EventQueue
    settings: RealtimeSettings
    clock: Callable[[], datetime]
    launcher: Callable[[RunPlan], RunProcess] = popen_launcher
    counters: Counters | None = None
    running: dict[tuple[str, str], _Running] = field(default_factory=dict)
    _not_before: dict[str, datetime] = field(default_factory=dict)
    _unrouted_warned: set[str] = field(default_factory=set)
    _pruned_at: datetime | None = None

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
        for pending in self.queue.pending():
            if not pending.due(now, dispatch.debounce, dispatch.max_delay):
                continue
            if now < self._not_before.get(pending.store_key, now):
                continue
            plan = self._start(pending.store_key, now)
            if plan is not None:
                started.append(plan)
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
        try:
            process = self.launcher(plan)
        except OSError as exc:
            self.queue.finish(run_key, succeeded=False)
            self._not_before[store] = now + self.settings.dispatch.retry_after
            logger.error(  # noqa: TRY400 - the reason is the whole story; no traceback needed
                "event=run_not_started store=%s error=%s: check the meltano setting",
                store,
                type(exc).__name__,
            )
            return None
        self.running[slot] = _Running(plan, process, now)
        if self.counters is not None:
            self.counters.add("runs_started")
        logger.info(
            "event=run_started store=%s run_key=%s kind=%s events=%s argv=%s",
            store,
            run_key,
            plan.kind,
            claimed,
            " ".join(plan.argv),
        )
        return plan

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
        """Kill the runs in progress; their events go back to the queue."""
        for run in self.running.values():
            run.process.kill()
            self.queue.finish(run.plan.run_key, succeeded=False)
        self.running.clear()
