"""End-to-end orders per second with every limit off: the CPU cost of K-Connector's own code.

What it does (bench/RESULTS.md says how to read the figures):

1. Starts three emulators, each in its own process (multiprocessing, spawn), served by
   `kconnector_sandbox.runner.ServedApp` on 127.0.0.1, port chosen by the OS:
   - Shopify (`kconnector_sandbox.shopify`, seed 7, `--orders` per shop): every shop's leaky
     bucket holds and restores 10**9 points, so the tap's pacing never waits (Shopify's
     Standard plan is 2,000 points restoring 100/s:
     https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
   - WooCommerce (`kconnector_sandbox.woocommerce`, seed 0, `--orders`): its only limit, the
     host switch `rate_limit_per_minute`, is 0 (off) by default; it stays off.
   - QuickBooks Online (`kconnector_sandbox.qbo`): `QboLimits` of 10**9 requests and batch
     requests per minute and 10**9 concurrent requests (QuickBooks: 500, 40 and 10 per realm:
     https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles). A fresh
     US company per target run.
2. For each store (Shopify US shop, WooCommerce US store), runs the three executables a Meltano
   job runs (`tap-*-orders`, `map-quickbooks`, `target-quickbooks`) as subprocesses speaking
   Singer on stdin/stdout, first one stage at a time on the same data:
   - **tap**: reads the whole seeded store; its stdout is captured to a file;
   - **mapper**: reads the tap's file on stdin, writes the documents to a file;
   - **target**: reads the mapper's file on stdin and writes every document to QuickBooks;
   then **pipe**: the three connected by OS pipes (`tap | mapper | target`), running at once as
   under `meltano run`, into another fresh company.
3. The target's own client-side limits are opened as far as its settings allow:
   `requests_per_minute` 500 and `batch_requests_per_minute` 40 (the highest values it accepts)
   per `rate_limit_window_seconds` 0.001 (its limiter's smallest window, 1 ms: 40,000 batch
   requests a second), `max_concurrency` 10 (its maximum). Everything else is the default:
   batch endpoint, 30 operations per batch, ledger in a (temporary) SQLite file.
4. Per process: wall seconds from its start to its exit, CPU seconds (user + system) and peak
   RSS, both from `os.wait4` on that process (the kernel's own accounting of that child).
   Orders/s = orders the tap emitted / wall seconds. The bottleneck is the stage with the lowest
   orders/s. Each executable's start-up (`<executable> --about`, interpreter and imports) is
   timed once and shown apart.

Shopify is read with paged queries (`bulk_threshold_days` 18000): a bulk operation would add the
tap's fixed 5 s poll interval, which is waiting, not CPU. Bounded by `--orders` and a deadline
per stage (a run cut by it says so). Loopback only. Run from the repository root:

    .venv/bin/python bench/pipeline_throughput.py --orders 2000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import requests

from kconnector_sandbox import shopify, woocommerce
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator, QboLimits
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.shopify.cost import LeakyBucket
from kconnector_sandbox.woocommerce.api_keys import Permission

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

BIN = Path(sys.executable).parent
UNLIMITED = 10**9
SHOPIFY_SEED = 7
WOOCOMMERCE_SEED = 0
QBO_SEED = 3
STORES = ("shopify", "woocommerce")
TAPS = {"shopify": "tap-shopify-orders", "woocommerce": "tap-woocommerce-orders"}
MAPPER = "map-quickbooks"
TARGET = "target-quickbooks"
DOC_PREFIX = {"shopify": "SH-", "woocommerce": "WC-"}  # as meltano.yml's mappings
START_DATE = "2020-01-01T00:00:00Z"
HEADER = (
    "stage   process                  orders/s   wall s   cpu s  cpu ms/order  peak RSS MiB  exit"
)


# --- emulators, each in a child process ---------------------------------------------------------


def _unthrottled_shopify(orders: int) -> shopify.ShopifyEmulator:
    emulator = shopify.build(SandboxOptions(seed=SHOPIFY_SEED, orders=orders))
    for shop in emulator.shops.values():
        shop.bucket = LeakyBucket(
            maximum=UNLIMITED, restore_rate=UNLIMITED, clock=shop.clock.monotonic
        )
    return emulator


def serve(kind: str, orders: int, ready: Queue[dict[str, Any]], stop: Event) -> None:
    """Child process: serve one emulator on a free loopback port until `stop` is set."""
    if kind == "shopify":
        store = _unthrottled_shopify(orders)
        with ServedApp(store.app) as served:
            profile = store.shop("us").profile
            ready.put(
                {
                    "shop": profile.domain,
                    "access_token": profile.access_token,
                    "start_date": START_DATE,
                    "api_url": f"{served.url}/shops/{profile.domain}",
                    "bulk_threshold_days": 18000,  # paged reads: no bulk poll interval
                }
            )
            stop.wait()
    elif kind == "woocommerce":
        woo = woocommerce.build(SandboxOptions(seed=WOOCOMMERCE_SEED, orders=orders))
        key = woo.key_with(Permission.READ)
        with ServedApp(woo.app) as served:
            ready.put(
                {
                    "url": served.url,
                    "consumer_key": key.consumer_key,
                    "consumer_secret": key.consumer_secret,
                    "start_date": START_DATE,
                    "allow_insecure_http": True,  # plain HTTP on loopback only
                }
            )
            stop.wait()
    else:
        limits = QboLimits(
            requests_per_minute=UNLIMITED,
            batch_requests_per_minute=UNLIMITED,
            concurrent_requests=UNLIMITED,
        )
        emulator = QboEmulator(SandboxOptions(seed=QBO_SEED), limits=limits)
        with ServedApp(emulator.app) as served:
            ready.put(
                {
                    "url": served.url,
                    "client_id": emulator.credentials.client_id,
                    "client_secret": emulator.credentials.client_secret,
                }
            )
            stop.wait()


@dataclass
class EmulatorProcess:
    """A running emulator process and what a client needs to reach it."""

    kind: str
    info: dict[str, Any]
    process: mp.process.BaseProcess
    stop: Event

    def close(self) -> None:
        """Stop the server and its process."""
        self.stop.set()
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def new_company(qbo: EmulatorProcess) -> dict[str, str]:
    """A freshly seeded US company: realm id and its initial refresh token."""
    response = requests.post(f"{qbo.info['url']}/__admin/realms", json={"kind": "US"}, timeout=30)
    response.raise_for_status()
    body = response.json()
    return {"realm_id": str(body["realm_id"]), "refresh_token": str(body["refresh_token"])}


def target_config(qbo: EmulatorProcess, database: Path) -> dict[str, Any]:
    """target-quickbooks settings: a fresh company, client-side limits opened to the maximum."""
    url = qbo.info["url"]
    return {
        **new_company(qbo),
        "client_id": qbo.info["client_id"],
        "client_secret": qbo.info["client_secret"],
        "api_url": url,
        "token_url": f"{url}/oauth2/v1/tokens/bearer",
        "database_url": f"sqlite:///{database}",
        "requests_per_minute": 500,  # the highest the target accepts
        "batch_requests_per_minute": 40,  # idem
        "rate_limit_window_seconds": 0.001,  # per 1 ms, its limiter's smallest window
        "max_concurrency": 10,  # the highest the target accepts
        "allow_plaintext_tokens": True,  # the sandbox emulator's tokens
    }


# --- running the executables ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessRun:
    """One process of a run, as the kernel accounted it (`os.wait4`)."""

    name: str
    seconds: float
    cpu_seconds: float
    max_rss_kib: int
    exit_code: int


@dataclass(frozen=True)
class Command:
    """One executable of the workspace with its config file."""

    name: str
    config: Path

    def argv(self) -> list[str]:
        """The command line."""
        return [str(BIN / self.name), "--config", str(self.config)]


def write_config(folder: Path, name: str, config: dict[str, Any]) -> Path:
    """Write one plugin's config file; returns its path."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def run_processes(  # noqa: PLR0913 - a pipeline's ends, limits and hook, all keywords
    commands: Sequence[Command],
    *,
    stdin: Path | None,
    stdout: Path,
    logs: Path,
    deadline: float,
    on_start: Callable[[list[tuple[str, int]]], None] | None = None,
) -> tuple[list[ProcessRun], bool]:
    """Run `commands` as one pipeline (each stdout into the next stdin); wait for every one.

    Returns each process's figures and whether the deadline cut the run (every process is
    then killed). Stderr of each goes to `logs/<name>.log`. `on_start` receives the (name, pid)
    of every process once all are started.
    """
    cut = threading.Event()
    processes: list[subprocess.Popen[bytes]] = []
    with (
        stdin.open("rb") if stdin else open(os.devnull, "rb") as source,  # noqa: PTH123 - devnull
        stdout.open("wb") as sink,
    ):
        started = time.perf_counter()
        upstream: IO[bytes] | int = source.fileno()
        for index, command in enumerate(commands):
            last = index == len(commands) - 1
            with (logs / f"{command.name}.log").open("ab") as log:
                process = subprocess.Popen(  # noqa: S603 - the workspace's own executables
                    command.argv(),
                    stdin=upstream,
                    stdout=sink if last else subprocess.PIPE,
                    stderr=log,
                )
            if not isinstance(upstream, int):
                upstream.close()  # the next process holds the read end now
            if process.stdout is not None:
                upstream = process.stdout
            processes.append(process)

        def kill_all() -> None:
            cut.set()
            for process in processes:
                process.kill()

        timer = threading.Timer(deadline, kill_all)
        timer.start()
        if on_start is not None:
            on_start([(c.name, p.pid) for c, p in zip(commands, processes, strict=True)])
        runs = []
        try:
            for command, process in zip(commands, processes, strict=True):
                _, status, usage = os.wait4(process.pid, 0)
                process.returncode = os.waitstatus_to_exitcode(status)
                runs.append(
                    ProcessRun(
                        name=command.name,
                        seconds=time.perf_counter() - started,
                        cpu_seconds=usage.ru_utime + usage.ru_stime,
                        max_rss_kib=usage.ru_maxrss,  # Linux: kibibytes
                        exit_code=process.returncode,
                    )
                )
        finally:
            timer.cancel()
    return runs, cut.is_set()


def startup_seconds(name: str) -> float:
    """Wall seconds of `<executable> --about`: interpreter start-up and imports."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - the workspace's own executable
        [str(BIN / name), "--about"], capture_output=True, timeout=120, check=True
    )
    return time.perf_counter() - started


# --- what the runs produced --------------------------------------------------------------------


NOTHING_TO_UNDO = frozenset({"void", "delete"})  # of a document never written: nothing to send


def read_records(path: Path) -> tuple[Counter[str], dict[str, str]]:
    """RECORD messages per stream in a Singer file, and each document's last operation."""
    counts: Counter[str] = Counter()
    operations: dict[str, str] = {}
    with path.open("rb") as lines:
        for line in lines:
            if b'"RECORD"' in line:
                message = json.loads(line)
                if message.get("type") == "RECORD":
                    counts[message["stream"]] += 1
                    record = message["record"]
                    if message["stream"] != "dead_letters" and "external_id" in record:
                        operations[record["external_id"]] = str(record.get("operation"))
    return counts, operations


@dataclass(frozen=True)
class Delivery:
    """Where every mapped document ended up, from the target's own store."""

    written: int  # in the ledger
    dead_letters: Counter[str]  # by error code
    nothing_to_undo: int  # a void or delete of a document never written
    unaccounted: int  # none of the above: a failure
    reference_rows: int  # ledger rows for entities created for references (items, customers)


def delivered(database: Path, operations: dict[str, str]) -> Delivery:
    """Account for every mapped document in the target's ledger and dead letters."""
    with sqlite3.connect(database) as connection:
        ledger = {row[0] for row in connection.execute("SELECT external_id FROM ledger")}
        dead = dict(connection.execute("SELECT external_id, error_code FROM dead_letters"))
    written = unaccounted = undo = 0
    codes: Counter[str] = Counter()
    for external_id, operation in operations.items():
        if external_id in ledger:
            written += 1
        elif external_id in dead:
            codes[dead[external_id]] += 1
        elif operation in NOTHING_TO_UNDO:
            undo += 1
        else:
            unaccounted += 1
    return Delivery(written, codes, undo, unaccounted, len(ledger - operations.keys()))


@dataclass
class StoreResult:
    """Every stage of one store."""

    store: str
    orders: int = 0
    refunds: int = 0
    documents: int = 0
    mapped_dead_letters: int = 0
    stages: dict[str, list[ProcessRun]] = field(default_factory=dict)
    cut: list[str] = field(default_factory=list)
    checks: dict[str, Delivery] = field(default_factory=dict)  # by run
    emulator_cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # run -> kind -> s


def process_cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds a running process has used so far (`/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_store(
    store: str,
    emulators: dict[str, EmulatorProcess],
    work: Path,
    deadline: float,
) -> StoreResult:
    """Tap, mapper, target one at a time on the same data, then the three piped."""
    result = StoreResult(store)
    tap_info, qbo = emulators[store].info, emulators["qbo"]
    servers = {kind: emulators[kind].process.pid for kind in (store, "qbo")}
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tap = Command(TAPS[store], write_config(work, "tap", tap_info))
    mapper = Command(MAPPER, write_config(work, "map", {"doc_number_prefix": DOC_PREFIX[store]}))
    tap_out, map_out = work / "tap.singer", work / "map.singer"

    def staged(name: str, commands: Sequence[Command], stdin: Path | None, out: Path) -> None:
        before = {kind: process_cpu_seconds(pid) for kind, pid in servers.items()}
        runs, cut = run_processes(commands, stdin=stdin, stdout=out, logs=logs, deadline=deadline)
        result.stages[name] = runs
        result.emulator_cpu[name] = {
            kind: process_cpu_seconds(pid) - before[kind] for kind, pid in servers.items()
        }
        if cut:
            result.cut.append(name)

    staged("tap", [tap], None, tap_out)
    records, _ = read_records(tap_out)
    result.orders, result.refunds = records["orders"], records["refunds"]
    staged("mapper", [mapper], tap_out, map_out)
    documents, operations = read_records(map_out)
    result.mapped_dead_letters = documents.pop("dead_letters", 0)
    result.documents = len(operations)
    for name, commands, stdin in (
        ("target", [], map_out),
        ("pipe", [tap, mapper], None),
    ):
        database = work / f"{name}.db"
        target = Command(TARGET, write_config(work, f"target-{name}", target_config(qbo, database)))
        staged(name, [*commands, target], stdin, work / f"{name}.state")
        result.checks[name] = delivered(database, operations)
    return result


# --- report ------------------------------------------------------------------------------------


def machine_line(load_before: float, load_after: float) -> str:
    """Cores, interpreter, load average before and after."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return (
        f"machine: {cores} cores ({usable} usable), {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}; "
        f"1-min load average {load_before:.2f} before, {load_after:.2f} after"
    )


def report(result: StoreResult) -> str:
    """The store's table and its bottleneck."""
    orders = max(result.orders, 1)
    lines = [
        (
            f"{result.store}: {result.orders} orders, {result.refunds} refunds read; "
            f"{result.documents} distinct documents and {result.mapped_dead_letters} dead "
            "letters mapped"
        ),
        HEADER,
    ]
    lines.extend(
        f"{stage:7} {run.name:23} {result.orders / run.seconds:9.1f} {run.seconds:8.2f}"
        f" {run.cpu_seconds:7.2f} {1000 * run.cpu_seconds / orders:13.2f}"
        f" {run.max_rss_kib / 1024:13.1f} {run.exit_code:5}"
        for stage, runs in result.stages.items()
        for run in runs
    )
    for name, cpu in result.emulator_cpu.items():
        lines.append(
            f"{name} run: emulator CPU "
            + ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in cpu.items())
        )
    for name, check in result.checks.items():
        lines.append(
            f"{name} run: {check.written} documents written, {check.nothing_to_undo} voids of "
            f"documents never written (nothing to send), dead letters "
            f"{dict(check.dead_letters) or 0}, unaccounted {check.unaccounted}"
            f"{'' if check.unaccounted == 0 else ' (FAILURE)'}; {check.reference_rows} entities "
            "created for references (customers, items, payment methods)"
        )
    alone = {stage: result.stages[stage][0] for stage in ("tap", "mapper", "target")}
    slowest = max(alone, key=lambda stage: alone[stage].seconds)
    costliest = max(alone, key=lambda stage: alone[stage].cpu_seconds)
    pipe = result.stages["pipe"][-1].seconds
    lines.append(
        f"bottleneck: {slowest} by wall time ({result.orders / alone[slowest].seconds:.1f} "
        f"orders/s alone), {costliest} by CPU ({1000 * alone[costliest].cpu_seconds / orders:.2f}"
        f" ms per order); whole pipe {result.orders / pipe:.1f} orders/s ({pipe:.1f} s)"
    )
    tap_wall, server_cpu = alone["tap"].seconds, result.emulator_cpu["tap"][result.store]
    if server_cpu > alone["tap"].cpu_seconds:
        lines.append(
            f"the tap waits on the {result.store} emulator: {server_cpu:.1f} s of emulator CPU "
            f"against {alone['tap'].cpu_seconds:.1f} s of tap CPU in its {tap_wall:.1f} s"
        )
    if result.cut:
        lines.append(f"CUT by the deadline: {', '.join(result.cut)}")
    if any(run.exit_code for runs in result.stages.values() for run in runs):
        lines.append("FAILED: a process exited non-zero (see its log)")
    return "\n".join(lines)


def _begin(kind: str, orders: int) -> tuple[Queue[dict[str, Any]], mp.process.BaseProcess, Event]:
    context = mp.get_context("spawn")
    ready: Queue[dict[str, Any]] = context.Queue()
    stop = context.Event()
    process = context.Process(
        target=serve, args=(kind, orders, ready, stop), name=f"bench-{kind}", daemon=True
    )
    process.start()
    return ready, process, stop


@contextmanager
def running_emulators(kinds: Sequence[str], orders: int) -> Iterator[dict[str, EmulatorProcess]]:
    """Start the emulators (in parallel: seeding a store takes a while); stop them on exit."""
    emulators: dict[str, EmulatorProcess] = {}
    pending = {kind: _begin(kind, orders) for kind in kinds}
    try:
        for kind, (ready, process, stop) in pending.items():
            emulators[kind] = EmulatorProcess(kind, {}, process, stop)
            emulators[kind].info = ready.get(timeout=900)
        yield emulators
    finally:
        for kind, (_, process, stop) in pending.items():
            emulators.get(kind, EmulatorProcess(kind, {}, process, stop)).close()


def main() -> None:
    """Start the emulators, bench each store, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders per seeded store")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds per stage run")
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the files, logs and ledgers in this folder"
    )
    args = parser.parse_args()

    startups = {name: startup_seconds(name) for name in (*TAPS.values(), MAPPER, TARGET)}
    load_before = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="kc-bench-") as scratch:
        folder = args.keep or Path(scratch)
        with running_emulators([*args.stores, "qbo"], args.orders) as emulators:
            for store in args.stores:
                work = folder / store
                results.append(bench_store(store, emulators, work, args.deadline))
    load_after = os.getloadavg()[0]

    print(machine_line(load_before, load_after))
    print(
        f"stores: Shopify seed {SHOPIFY_SEED} shop us, WooCommerce seed {WOOCOMMERCE_SEED} store "
        f"us, {args.orders} orders each; limits off (see the module docstring)"
    )
    print(
        "start-up (`--about`, wall s): "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in startups.items())
    )
    for result in results:
        print()
        print(report(result))


if __name__ == "__main__":
    main()
