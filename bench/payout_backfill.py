"""Backfill time at QuickBooks' real limits: per-order posting against payout-summary posting.

What it does (bench/RESULTS.md, "Backfill at QuickBooks' limits: per order against payout
summary", says how to read the figures):

1. Reads the seeded Shopify US shop (`kconnector_sandbox.shopify`, seed 0, `--orders` orders,
   served in this process on loopback) once with `tap-shopify-orders` into a file of canonical
   records (orders, refunds, payouts). The tap's time is reported apart: it is paced by Shopify,
   not by QuickBooks, and runs beside the target in a real pipeline.
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

The machine must keep up with the scaled ceiling (1,200 documents per QuickBooks minute = 20 X
documents per second): X = 5 asks 100 documents/s of a target that writes about 500/s with
limits off (bench/target_throughput.py). `limit-min` is the floor the limits set for the requests
the target actually sent (max(batches / 40, requests / 500)): when QBO-min is well above it, the
machine, not QuickBooks, was the bottleneck (a loaded machine, or process start-up on a small
run). Bounded by a deadline per step; loopback only. Run from the repository root:

    .venv/bin/python bench/payout_backfill.py                       # 2,000 orders, time scale 2
    .venv/bin/python bench/payout_backfill.py --orders 100000 --time-scale 5   # the full size
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
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from kconnector_sandbox import shopify
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator
from kconnector_sandbox.qbo.seed import CompanyKind
from kconnector_sandbox.runner import ServedApp

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

BIN = Path(sys.executable).parent
SEED = 0
ORDERS = 2000
FULL_SIZE = 100_000
TIME_SCALE = 2.0
MODES = ("per_order", "payout_summary")
BATCH_LIMIT = 40  # batch requests per minute per realm
REQUEST_LIMIT = 500  # requests per minute per realm
STEP_TIMEOUT_SECONDS = 7200


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


def read_store(orders: int, work: Path) -> float:
    """The tap's read of the whole shop into `canonical.jsonl`; its wall seconds."""
    store = shopify.build(SandboxOptions(seed=SEED, orders=orders))
    shop = store.shop("us")
    with ServedApp(store.app) as served:
        config = {
            "shop": shop.profile.domain,
            "access_token": shop.profile.access_token,
            "start_date": "2020-01-01T00:00:00Z",
            # Paged queries: what is proved here is the payouts; a bulk operation (the tap's
            # default for a long backfill) adds its polling and is covered by the tap's own tests.
            "bulk_threshold_days": 18000,
            "api_url": f"{served.url}/shops/{shop.profile.domain}",
        }
        (work / "tap.json").write_text(json.dumps(config))
        rc, seconds = _run(
            f"{BIN / 'tap-shopify-orders'} --config {work / 'tap.json'}"
            f" >{work / 'canonical.jsonl'} 2>{work / 'tap.log'}"
        )
    if rc != 0:
        msg = f"tap-shopify-orders exited {rc}: see {work / 'tap.log'}"
        raise RuntimeError(msg)
    return seconds


def map_documents(mode: str, work: Path) -> Counter[str]:
    """`map-quickbooks` over the canonical file in `mode`; documents per stream."""
    (work / f"map-{mode}.json").write_text(
        json.dumps({"doc_number_prefix": "SH-", "posting_mode": mode})
    )
    rc, _ = _run(
        f"{BIN / 'map-quickbooks'} --config {work / f'map-{mode}.json'}"
        f" <{work / 'canonical.jsonl'} >{work / f'documents-{mode}.jsonl'}"
        f" 2>{work / f'map-{mode}.log'}"
    )
    if rc != 0:
        msg = f"map-quickbooks exited {rc}: see {work / f'map-{mode}.log'}"
        raise RuntimeError(msg)
    streams: Counter[str] = Counter()
    with (work / f"documents-{mode}.jsonl").open() as documents:
        for line in documents:
            message = json.loads(line)
            if message.get("type") == "RECORD":
                streams[message["stream"]] += 1
    return streams


@dataclass(frozen=True)
class Backfill:
    """One mode's write into QuickBooks."""

    mode: str
    orders: int
    emitted: int
    held: dict[str, int]
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
    mode: str, orders: int, emitted: int, work: Path, time_scale: float
) -> Backfill:
    """Feed `documents-<mode>.jsonl` to the target against a fresh time-scaled emulator."""
    context = mp.get_context("spawn")
    ready: Queue[dict[str, Any]] = context.Queue()
    stop = context.Event()
    server = context.Process(target=serve_quickbooks, args=(time_scale, ready, stop))
    server.start()
    try:
        qbo = ready.get(timeout=300)
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
            f" <{work / f'documents-{mode}.jsonl'} >{work / f'state-{mode}.jsonl'}"
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
    routes: dict[str, int] = log.get("by_route") or {}
    statuses: dict[str, int] = log.get("by_status") or {}
    return Backfill(
        mode=mode,
        orders=orders,
        emitted=emitted,
        held=held,
        writes=sum(n for route, n in routes.items() if _is_write(route)),
        batches=sum(n for route, n in routes.items() if route.endswith("/batch")),
        queries=sum(n for route, n in routes.items() if route.endswith("/query")),
        throttled=int(statuses.get("429", 0)),
        seconds=seconds,
        time_scale=time_scale,
        exit_code=rc,
    )


def _is_write(route: str) -> bool:
    return route.startswith("POST /v3/") and not route.endswith("/query")


def main() -> int:
    """Run both modes, print the table; exit 1 when a step fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--time-scale", type=float, default=TIME_SCALE)
    parser.add_argument("--work", type=Path, help="keep the run's files here (default: temporary)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="payout-backfill-") as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        tap_seconds = read_store(args.orders, work)
        runs = []
        for mode in MODES:
            streams = map_documents(mode, work)
            runs.append(
                write_documents(mode, args.orders, sum(streams.values()), work, args.time_scale)
            )
            print(f"{mode}: mapper streams {dict(sorted(streams.items()))}", flush=True)
    scaled = "" if args.orders == FULL_SIZE else " (scaled from the measured size)"
    print(
        f"time_scale {args.time_scale:g} (a QuickBooks minute = {60 / args.time_scale:.1f} s); "
        f"cores {os.cpu_count()}; {platform.python_implementation()} {platform.python_version()}; "
        f"load {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    print(f"tap read of {args.orders} orders: {tap_seconds:.0f} s (Shopify-paced, not QuickBooks)")
    print(
        "mode            orders  emitted  written  writes  batches  queries  429s  real_s  QBO-min"
        f"  limit-min  docs/QBO-min  100k-orders hours{scaled}"
    )
    for run in runs:
        rate = run.documents / run.quickbooks_minutes if run.quickbooks_minutes else 0.0
        print(
            f"{run.mode:<15} {run.orders:>6} {run.emitted:>8} {run.documents:>7} "
            f"{run.writes:>7} {run.batches:>8} {run.queries:>8} {run.throttled:>5} "
            f"{run.seconds:>7.1f} {run.quickbooks_minutes:>8.1f} {run.limit_minutes:>10.1f} "
            f"{rate:>13.0f} {run.full_size_hours():>18.1f}"
        )
        print(f"  written (ledger): {run.held}")
    failed = [run.mode for run in runs if run.exit_code != 0]
    for mode in failed:
        print(f"FAILED: target-quickbooks exited non-zero in {mode}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
