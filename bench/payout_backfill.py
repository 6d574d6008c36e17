"""Backfill time at QuickBooks' real limits: per-order posting against payout-summary posting.

What it does (bench/RESULTS.md, "Backfill at QuickBooks' limits: per order against payout
summary", says how to read the figures):

1. Reads the seeded Shopify US shop (`kconnector_sandbox.shopify`, seed 0, `--orders` orders,
   served in this process on loopback) once with `tap-shopify-orders` into a file of canonical
   records (orders, refunds, payouts), the way a real backfill reads history: one bulk operation
   for the orders (`bulk_threshold_days` 1), then the refunds and fulfillments the bulk result
   only names, and each payout's balance transactions, all paced by Shopify's cost throttle at
   the Standard plan's rate (100 points/s, 2,000-point bucket,
   https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits), time-scaled by
   `--shopify-time-scale` S (the bucket refills S times faster, a bulk operation runs S times
   faster, the tap polls it S times more often). The tap's time is reported apart in Shopify
   minutes (wall x S / 60) beside its floor (points consumed / 100 / 60): it is paced by
   Shopify, not by QuickBooks, and runs beside the target in a real pipeline.
2. For each posting mode, runs `map-quickbooks` on that file (`posting_mode` per_order, then
   payout_summary) into a file of QuickBooks documents, counted per stream.
3. For each mode, starts the QuickBooks Online emulator in its own process with QuickBooks' real
   per-realm limits (500 requests/min, 40 batch requests/min, 30 items per batch, 10 concurrent;
   https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles), time-scaled
   by `--time-scale` X (a QuickBooks minute lasts 60/X seconds), with a fresh US company set up
   as a bookkeeper would (the "Gift Card" item), and feeds the documents file to
   `target-quickbooks` (its own window scaled the same way). The target's wall time x X / 60 is
   the backfill's time in QuickBooks minutes: what the same write would take against QuickBooks.
4. Reports per mode: orders, documents the mapper emitted, documents QuickBooks holds after the
   run, write and query requests, 429 answers, QuickBooks minutes, documents per QuickBooks
   minute, and the time a 100,000-order backfill takes at that rate (measured when `--orders` is
   100000, otherwise scaled linearly from the measured size and labelled "scaled").

Steps 1 and 2 are cached (`--cache`, one folder per seed and size: the canonical file, each
mode's documents and what their runs measured), so a rerun only writes into QuickBooks;
`--fresh` reads and maps again (do so after changing the tap, the mapper or the emulator: the
cache records the commit it was made at and the run prints it).

The machine must keep up with the scaled ceilings, otherwise the figures measure the machine:
QuickBooks' 1,200 documents per minute are 20 X documents per second of the target (about 500/s
on an idle machine with limits off, bench/target_throughput.py), and `limit-min` is the floor
the limits set for the requests the target actually sent (max(batches / 40, requests / 500)):
QBO-min well above it means the machine (or process start-up on a small run), not QuickBooks,
was the bottleneck. Likewise the tap's Shopify minutes against its points floor. Bounded by a
deadline per step; loopback only. Run from the repository root:

    .venv/bin/python bench/payout_backfill.py                    # 2,000 orders
    .venv/bin/python bench/payout_backfill.py --orders 100000 --prepare-only   # read and map
    .venv/bin/python bench/payout_backfill.py --orders 100000 --time-scale 8   # then the writes
"""

from __future__ import annotations

import argparse
import inspect
import json
import multiprocessing as mp
import os
import platform
import queue
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from kconnector_sandbox import shopify
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator
from kconnector_sandbox.qbo.seed import CompanyKind
from kconnector_sandbox.runner import ServedApp

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
SEED = 0
ORDERS = 2000
FULL_SIZE = 100_000
TIME_SCALE = 2.0
SHOPIFY_TIME_SCALE = 20.0
# Shopify's Standard plan: the emulator's bucket restores 100 points/s (x its time scale).
SHOPIFY_RESTORE_RATE = 100.0
TAP_BULK_POLL_SECONDS = 5.0  # the tap's own interval (OrdersStream.bulk_poll_seconds)
MODES = ("per_order", "payout_summary")
BATCH_LIMIT = 40  # batch requests per minute per realm
REQUEST_LIMIT = 500  # requests per minute per realm
STEP_TIMEOUT_SECONDS = 7200
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "kconnector-payout-backfill"

# The tap as its executable runs it, with its bulk poll interval scaled like the emulator's
# clock (the interval is a class attribute, not a setting).
TAP_PROGRAM = (
    "import sys; from tap_shopify_orders.streams import OrdersStream; "
    "OrdersStream.bulk_poll_seconds = float(sys.argv.pop(1)); "
    "from tap_shopify_orders.tap import TapShopifyOrders; TapShopifyOrders.cli()"
)


def serve_quickbooks(time_scale: float, ready: Queue[dict[str, Any]], stop: Event) -> None:
    """Child process: the emulator at QuickBooks' real limits, one company set up, until `stop`."""
    emulator = QboEmulator(SandboxOptions(seed=SEED, time_scale=time_scale))
    realm_id = emulator.add_realm(CompanyKind.US)
    company = emulator.realms[realm_id]
    (account,) = [a for a in company.documents("Account") if a["Name"] == "Gift Card Liability"]
    company.create(
        "Item",
        {"Name": "Gift Card", "Type": "Service", "IncomeAccountRef": {"value": account["Id"]}},
    )
    with ServedApp(emulator.app) as served:
        ready.put(
            {
                "url": served.url,
                "realm_id": realm_id,
                "refresh_token": emulator.initial_refresh_tokens[realm_id],
                "client_id": emulator.credentials.client_id,
                "client_secret": emulator.credentials.client_secret,
            }
        )
        stop.wait()


def _run(command: str) -> tuple[int, float]:
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - the workspace's own executables
        ["/bin/bash", "-c", f"set -o pipefail; {command}"],
        timeout=STEP_TIMEOUT_SECONDS,
        check=False,
    )
    return completed.returncode, time.perf_counter() - started


def _revision() -> str:
    """The commit the cached files were made at (with `+` when those packages had local edits)."""
    git = shutil.which("git") or "git"
    head = subprocess.run(  # noqa: S603 - git, fixed arguments
        [git, "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    packages = ["tap-shopify-orders", "sandbox", "transforms", "canonical"]
    dirty = subprocess.run(  # noqa: S603 - git, fixed arguments
        [git, "-C", str(ROOT), "status", "--porcelain", "--", *packages],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{head}{'+' if dirty else ''}" or "unknown"


@dataclass(frozen=True)
class TapRead:
    """The tap's read of the shop into the canonical file, as measured when it was made."""

    orders: int
    records: dict[str, int]
    seconds: float
    shopify_time_scale: float
    points_consumed: float
    requests: int
    by_status: dict[str, int]
    graphql_errors: dict[str, int]
    load: tuple[float, float]
    revision: str

    @property
    def shopify_minutes(self) -> float:
        """The read's wall time in Shopify minutes (Standard plan rates)."""
        return self.seconds * self.shopify_time_scale / 60.0

    @property
    def floor_minutes(self) -> float:
        """The fewest Shopify minutes its points take at the Standard plan's restore rate.

        The initial full bucket is ignored: a floor within 2,000 points (20 s) of the truth.
        """
        return self.points_consumed / SHOPIFY_RESTORE_RATE / 60.0


def read_store(orders: int, shopify_time_scale: float, cache: Path) -> TapRead:
    """The tap's read of the whole shop into `cache/canonical.jsonl`; what it measured."""
    load_before = os.getloadavg()[0]
    options = SandboxOptions(seed=SEED, orders=orders, time_scale=shopify_time_scale)
    # Only the shop read is seeded where the emulator allows it (the other two stay empty).
    single_shop = "shops" in inspect.signature(shopify.build).parameters
    store = shopify.build(options, ("us",)) if single_shop else shopify.build(options)
    shop = store.shop("us")
    with ServedApp(store.app) as served:
        config = {
            "shop": shop.profile.domain,
            "access_token": shop.profile.access_token,
            "start_date": "2020-01-01T00:00:00Z",
            # A backfill: everything older than a day through one bulk operation (the last day
            # through paged queries), as a real shop's history is read.
            "bulk_threshold_days": 1,
            "api_url": f"{served.url}/shops/{shop.profile.domain}",
        }
        (cache / "tap.json").write_text(json.dumps(config))
        poll = TAP_BULK_POLL_SECONDS / shopify_time_scale
        rc, seconds = _run(
            f"{shlex.quote(sys.executable)} -c {shlex.quote(TAP_PROGRAM)} {poll:g}"
            f" --config {cache / 'tap.json'}"
            f" >{cache / 'canonical.partial'} 2>{cache / 'tap.log'}"
        )
        log = requests.get(f"{served.url}/__admin/requests", timeout=60).json()
    if rc != 0:
        msg = f"tap-shopify-orders exited {rc}: see {cache / 'tap.log'}"
        raise RuntimeError(msg)
    (cache / "canonical.partial").replace(cache / "canonical.jsonl")
    usage = log["throttle"][shop.profile.domain]
    return TapRead(
        orders=orders,
        records=dict(_count_records(cache / "canonical.jsonl")),
        seconds=seconds,
        shopify_time_scale=shopify_time_scale,
        points_consumed=float(usage["points_consumed"]),
        requests=int(log["count"]),
        by_status=dict(log.get("by_status") or {}),
        graphql_errors=dict(log.get("graphql_errors") or {}),
        load=(load_before, os.getloadavg()[0]),
        revision=_revision(),
    )


def cached_read(orders: int, shopify_time_scale: float, cache: Path, *, fresh: bool) -> TapRead:
    """The tap's read from the cache, or read now and kept there."""
    meta = cache / "tap-read.json"
    if not fresh and meta.exists() and (cache / "canonical.jsonl").exists():
        saved = json.loads(meta.read_text())
        saved["load"] = tuple(saved["load"])
        return TapRead(**saved)
    for stale in cache.glob("documents-*"):
        stale.unlink()
    read = read_store(orders, shopify_time_scale, cache)
    meta.write_text(json.dumps(asdict(read)))
    return read


def _count_records(path: Path) -> Counter[str]:
    streams: Counter[str] = Counter()
    with path.open() as messages:
        for line in messages:
            message = json.loads(line)
            if message.get("type") == "RECORD":
                streams[message["stream"]] += 1
    return streams


def map_documents(mode: str, cache: Path, *, fresh: bool) -> Counter[str]:
    """`map-quickbooks` over the canonical file in `mode` (once per cache); documents per stream."""
    documents = cache / f"documents-{mode}.jsonl"
    counted = cache / f"documents-{mode}.json"
    if not fresh and documents.exists() and counted.exists():
        return Counter(json.loads(counted.read_text()))
    (cache / f"map-{mode}.json").write_text(
        json.dumps({"doc_number_prefix": "SH-", "posting_mode": mode})
    )
    rc, _ = _run(
        f"{BIN / 'map-quickbooks'} --config {cache / f'map-{mode}.json'}"
        f" <{cache / 'canonical.jsonl'} >{cache / f'documents-{mode}.partial'}"
        f" 2>{cache / f'map-{mode}.log'}"
    )
    if rc != 0:
        msg = f"map-quickbooks exited {rc}: see {cache / f'map-{mode}.log'}"
        raise RuntimeError(msg)
    (cache / f"documents-{mode}.partial").replace(documents)
    streams = _count_records(documents)
    counted.write_text(json.dumps(dict(streams)))
    return streams


@dataclass(frozen=True)
class Backfill:
    """One mode's write into QuickBooks."""

    mode: str
    orders: int
    emitted: int
    held: dict[str, int]
    dead_letters: dict[str, int]
    writes: int
    batches: int
    queries: int
    throttled: int
    seconds: float
    time_scale: float
    exit_code: int

    @property
    def quickbooks_minutes(self) -> float:
        """The run's wall time in QuickBooks minutes."""
        return self.seconds * self.time_scale / 60.0

    @property
    def documents(self) -> int:
        """Documents the target wrote and its ledger holds active (customers included)."""
        return sum(self.held.values())

    @property
    def limit_minutes(self) -> float:
        """The fewest QuickBooks minutes these requests can take under the per-realm limits.

        40 batch requests and 500 requests (a batch counting once) per minute: what the run
        would take if the client never lost a moment between two windows.
        """
        requests_sent = self.writes + self.queries
        return max(self.batches / BATCH_LIMIT, requests_sent / REQUEST_LIMIT)

    def full_size_hours(self) -> float:
        """Hours a 100,000-order backfill takes at this run's documents per order and rate."""
        return self.quickbooks_minutes * FULL_SIZE / self.orders / 60.0


def write_documents(
    mode: str, orders: int, emitted: int, paths: tuple[Path, Path], time_scale: float
) -> Backfill:
    """Feed `documents-<mode>.jsonl` (in the cache) to the target against a fresh emulator.

    `paths` is (the cache holding the documents, the run's own folder).
    """
    cache, work = paths
    context = mp.get_context("spawn")
    ready: Queue[dict[str, Any]] = context.Queue()
    stop = context.Event()
    server = context.Process(target=serve_quickbooks, args=(time_scale, ready, stop))
    server.start()
    try:
        qbo = _when_ready(ready, server)
        config = {
            "realm_id": qbo["realm_id"],
            "client_id": qbo["client_id"],
            "client_secret": qbo["client_secret"],
            "refresh_token": qbo["refresh_token"],
            "api_url": qbo["url"],
            "token_url": f"{qbo['url']}/oauth2/v1/tokens/bearer",
            "database_url": f"sqlite:///{work / f'target-{mode}.db'}",
            "rate_limit_window_seconds": 61.0 / time_scale,
            "min_backoff_seconds": 1.0 / time_scale,
            "max_backoff_seconds": 60.0 / time_scale,
            "allow_plaintext_tokens": True,  # the emulator's tokens, on loopback
        }
        (work / f"target-{mode}.json").write_text(json.dumps(config))
        rc, seconds = _run(
            f"{BIN / 'target-quickbooks'} --config {work / f'target-{mode}.json'}"
            f" <{cache / f'documents-{mode}.jsonl'} >{work / f'state-{mode}.jsonl'}"
            f" 2>{work / f'target-{mode}.log'}"
        )
        log = requests.get(f"{qbo['url']}/__admin/requests", timeout=60).json()
    finally:
        stop.set()
        server.join(timeout=60)
    with sqlite3.connect(work / f"target-{mode}.db") as db:
        held = dict(
            db.execute(
                "SELECT entity, COUNT(*) FROM ledger WHERE status = 'active' GROUP BY entity"
            ).fetchall()
        )
        # What the run could not deliver, by code: "written" below "emitted" is explained here.
        dead_letters = dict(
            db.execute(
                "SELECT stream || ' ' || error_code, COUNT(*) FROM dead_letters"
                " WHERE resolved_at IS NULL GROUP BY stream, error_code"
            ).fetchall()
        )
    routes: dict[str, int] = log.get("by_route") or {}
    statuses: dict[str, int] = log.get("by_status") or {}
    return Backfill(
        mode=mode,
        orders=orders,
        emitted=emitted,
        held=held,
        dead_letters=dead_letters,
        writes=sum(n for route, n in routes.items() if _is_write(route)),
        batches=sum(n for route, n in routes.items() if route.endswith("/batch")),
        queries=sum(n for route, n in routes.items() if route.endswith("/query")),
        throttled=int(statuses.get("429", 0)),
        seconds=seconds,
        time_scale=time_scale,
        exit_code=rc,
    )


def _when_ready(ready: Queue[dict[str, Any]], server: BaseProcess) -> dict[str, Any]:
    """The emulator's address once it serves; fails at once if its process died."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            return ready.get(timeout=1)
        except queue.Empty:
            if not server.is_alive():
                msg = f"the QuickBooks emulator's process exited {server.exitcode}"
                raise RuntimeError(msg) from None
    msg = "the QuickBooks emulator did not start within 300 s"
    raise RuntimeError(msg)


def _is_write(route: str) -> bool:
    return route.startswith("POST /v3/") and not route.endswith("/query")


def print_tap(read: TapRead, *, cached: bool) -> None:
    """The tap's line: wall and Shopify time against the points floor."""
    source = f"cached, read at {read.revision}" if cached else f"read now at {read.revision}"
    print(
        f"tap read of {read.orders} orders ({source}; load {read.load[0]:.2f} ->"
        f" {read.load[1]:.2f}): records {dict(sorted(read.records.items()))}"
    )
    print(
        f"  {read.seconds:.0f} s wall at Shopify time scale {read.shopify_time_scale:g}"
        f" = {read.shopify_minutes:.1f} Shopify minutes at the Standard plan"
        f" (floor {read.floor_minutes:.1f}: {read.points_consumed:.0f} points at"
        f" {SHOPIFY_RESTORE_RATE:g}/s); {read.requests} requests {read.by_status},"
        f" GraphQL errors {read.graphql_errors}"
    )


HEADER = (
    "mode            orders  emitted  written  writes  batches  queries  429s  real_s  QBO-min"
    "  limit-min  docs/QBO-min  100k-orders hours"
)


def print_run(run: Backfill) -> None:
    """One mode's row (printed as soon as the mode is done, so a cut run keeps its figures)."""
    rate = run.documents / run.quickbooks_minutes if run.quickbooks_minutes else 0.0
    print(
        f"{run.mode:<15} {run.orders:>6} {run.emitted:>8} {run.documents:>7} "
        f"{run.writes:>7} {run.batches:>8} {run.queries:>8} {run.throttled:>5} "
        f"{run.seconds:>7.1f} {run.quickbooks_minutes:>8.1f} {run.limit_minutes:>10.1f} "
        f"{rate:>13.0f} {run.full_size_hours():>18.1f}"
    )
    print(f"  written (ledger): {run.held}", flush=True)
    print(f"  dead letters (open): {run.dead_letters or 'none'}", flush=True)


def main() -> int:
    """Run both modes, print the table; exit 1 when a step fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--time-scale", type=float, default=TIME_SCALE)
    parser.add_argument("--shopify-time-scale", type=float, default=SHOPIFY_TIME_SCALE)
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="cached reads and mappings live here"
    )
    parser.add_argument("--fresh", action="store_true", help="read and map again")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument(
        "--prepare-only", action="store_true", help="read and map into the cache, write nothing"
    )
    parser.add_argument("--work", type=Path, help="keep the run's files here (default: temporary)")
    args = parser.parse_args()
    cache = args.cache / f"seed{SEED}-orders{args.orders}"
    cache.mkdir(parents=True, exist_ok=True)
    cached = not args.fresh and (cache / "tap-read.json").exists()
    read = cached_read(args.orders, args.shopify_time_scale, cache, fresh=args.fresh)
    print_tap(read, cached=cached)
    streams = {mode: map_documents(mode, cache, fresh=args.fresh) for mode in args.modes}
    for mode in args.modes:
        print(f"{mode}: mapper streams {dict(sorted(streams[mode].items()))}", flush=True)
    if args.prepare_only:
        return 0
    scaled = "" if args.orders == FULL_SIZE else " (scaled from the measured size)"
    load_before = os.getloadavg()[0]
    print(
        f"time_scale {args.time_scale:g} (a QuickBooks minute = {60 / args.time_scale:.1f} s); "
        f"cores {os.cpu_count()}; {platform.python_implementation()} {platform.python_version()}; "
        f"load {load_before:.2f} before the writes"
    )
    print(HEADER + scaled, flush=True)
    with tempfile.TemporaryDirectory(prefix="payout-backfill-") as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        runs = []
        for mode in args.modes:
            emitted = sum(streams[mode].values())
            runs.append(write_documents(mode, args.orders, emitted, (cache, work), args.time_scale))
            print_run(runs[-1])
    print(f"load {os.getloadavg()[0]:.2f} after the writes")
    failed = [run.mode for run in runs if run.exit_code != 0]
    for mode in failed:
        print(f"FAILED: target-quickbooks exited non-zero in {mode}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
