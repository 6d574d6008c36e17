"""Orders per second that tap-shopify-orders reads from the Shopify emulator, and how much of the
throttle budget it uses.

What it does (see bench/RESULTS.md for how to read the figures):

1. Starts the Shopify emulator (`kconnector_sandbox.shopify`) in a separate process
   (multiprocessing, spawn), served by `kconnector_sandbox.runner.ServedApp` on 127.0.0.1, port
   chosen by the OS, seeded (`--seed`, `--orders` per shop). Time scale 1.
2. **Throttled run**: the bucket is Shopify's Standard plan, 2,000 points restoring 100 points/s
   (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits). The bucket is refilled
   (`POST /__admin/us/throttle`), then the tap runs as its own process (the `tap-shopify-orders`
   executable, paged reads only: `bulk_threshold_days` 18000) against the US shop with stdout
   piped here; RECORD messages of stream `orders` are counted. Afterwards the emulator's own
   counters (`GET /__admin/requests`) give the points consumed (actual cost), the points made
   available (bucket at the refill plus everything restored since), the GraphQL error codes
   (THROTTLED must be 0) and the time of the tap's first and last request.
3. **Unthrottled run** (the tap's CPU cost): a fresh emulator whose buckets hold and restore
   10**9 points, so pacing never waits; orders/s and the tap process's CPU seconds
   (`resource.getrusage(RUSAGE_CHILDREN)` around the tap process) per order.

Bounded: each tap run is stopped at `--deadline` seconds (a run cut by it says so). Loopback only.

Run from the repository root:

    .venv/bin/python bench/tap_shopify_throughput.py --orders 50 --cpu-orders 300
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.shopify import build
from kconnector_sandbox.shopify.cost import LeakyBucket

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

SHOP = "us"
UNLIMITED = 1e9
TAP = Path(sys.executable).with_name("tap-shopify-orders")


# --- the emulator (child process) -------------------------------------------------------------


def serve(orders: int, seed: int, *, unthrottled: bool, ready: Queue[str], stop: Event) -> None:
    """Child process: serve a seeded emulator on a free loopback port until `stop` is set."""
    emulator = build(SandboxOptions(seed=seed, orders=orders, time_scale=1.0))
    if unthrottled:
        for shop in emulator.shops.values():
            shop.bucket = LeakyBucket(
                maximum=UNLIMITED, restore_rate=UNLIMITED, clock=shop.clock.monotonic
            )
    with ServedApp(emulator.app) as served:
        ready.put(served.url)
        stop.wait()


@dataclass
class Server:
    """The emulator process and its base URL."""

    url: str
    process: mp.process.BaseProcess
    stop: Event

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def start_server(orders: int, seed: int, *, unthrottled: bool) -> Server:
    context = mp.get_context("spawn")
    ready: Queue[str] = context.Queue()
    stop = context.Event()
    process = context.Process(
        target=serve,
        args=(orders, seed),
        kwargs={"unthrottled": unthrottled, "ready": ready, "stop": stop},
        name="bench-shopify-emulator",
    )
    process.start()
    return Server(ready.get(timeout=120), process, stop)


# --- one tap run --------------------------------------------------------------------------------


@dataclass
class TapRun:
    """What one tap process did, and what the emulator saw of it."""

    orders: int
    wall_seconds: float
    cpu_seconds: float
    cut: bool
    exit_code: int | None
    admin: dict[str, Any]
    started: float  # monotonic, when the bucket was refilled and the tap process started

    @property
    def throttle(self) -> dict[str, Any]:
        return dict(self.admin["throttle"][self.domain])

    @property
    def domain(self) -> str:
        return f"kconnector-{SHOP}.myshopify.com"

    def graphql_times(self) -> tuple[float, float]:
        times = [
            float(r["at"]) for r in self.admin["requests"] if r["path"].endswith("graphql.json")
        ]
        return min(times), max(times)


def _shop_config(base_url: str) -> dict[str, Any]:
    shops = requests.get(f"{base_url}/__admin/shops", timeout=30).json()
    shop = next(s for s in shops if s["key"] == SHOP)
    return {
        "shop": shop["domain"],
        "access_token": shop["access_token"],
        "start_date": "2020-01-01T00:00:00Z",
        "api_url": f"{base_url}/shops/{shop['domain']}",
        "bulk_threshold_days": 18000,  # paged reads only: the path that is throttled
        "lookback_window_minutes": 0,
    }


def run_tap(base_url: str, deadline: float) -> TapRun:
    """Run the tap once as its own process; count the orders it emits."""
    config = _shop_config(base_url)
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "config.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        requests.post(f"{base_url}/__admin/{SHOP}/throttle", timeout=30).raise_for_status()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 - the workspace's own tap, fixed arguments
            [str(TAP), "--config", str(config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        counted = [0]
        reader = threading.Thread(target=_count_orders, args=(process, counted), daemon=True)
        reader.start()
        cut = False
        try:
            process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            cut = True
            process.terminate()
            process.wait(timeout=30)
        wall = time.monotonic() - started
        reader.join(timeout=30)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    admin = requests.get(f"{base_url}/__admin/requests", timeout=30).json()
    return TapRun(counted[0], wall, cpu, cut, process.returncode, admin, started)


def _count_orders(process: subprocess.Popen[bytes], counted: list[int]) -> None:
    assert process.stdout is not None  # noqa: S101 - stdout is a pipe by construction
    for line in process.stdout:
        message = json.loads(line)
        if message.get("type") == "RECORD" and message.get("stream") == "orders":
            counted[0] += 1


# --- report -------------------------------------------------------------------------------------


def report_throttled(result: TapRun) -> None:
    throttle = result.throttle
    first, last = result.graphql_times()
    rate = float(throttle["restoreRate"])
    active = last - first
    consumed = float(throttle["points_consumed"])
    whole = float(throttle["points_available"])
    # While the tap was sending requests: the full bucket at its first request plus the refill.
    window = float(throttle["maximumAvailable"]) + rate * active
    errors = result.admin["graphql_errors"]
    print("throttled run (Standard plan: bucket 2000 points, restore 100 points/s, time scale 1)")
    print(
        f"  orders emitted {result.orders}; tap process {result.wall_seconds:.1f} s wall"
        f"{' (CUT by the deadline)' if result.cut else ''}, exit code {result.exit_code}; "
        f"first request {first - result.started:.1f} s after start, requests for {active:.1f} s"
    )
    print(
        f"  requests {result.admin['count']}, by HTTP status {result.admin['by_status']}, "
        f"GraphQL error codes {errors or '{}'} (THROTTLED: {errors.get('THROTTLED', 0)})"
    )
    print(
        f"  points consumed {consumed:.0f} of {whole:.0f} made available since the refill "
        f"(whole process): {consumed / whole:.1%}"
    )
    print(
        f"  points consumed {consumed:.0f} of {window:.0f} available from the first to the last "
        f"request: {consumed / window:.1%}"
    )
    print(
        f"  orders/s: {result.orders / result.wall_seconds:.2f} (whole process), "
        f"{result.orders / active:.2f} (first to last request); "
        f"{consumed / max(result.orders, 1):.0f} points per order"
    )


def report_unthrottled(result: TapRun) -> None:
    first, last = result.graphql_times()
    active = last - first
    print("unthrottled run (bucket and restore rate 10**9: the tap never waits)")
    print(
        f"  orders emitted {result.orders}; tap process {result.wall_seconds:.1f} s wall"
        f"{' (CUT by the deadline)' if result.cut else ''}, exit code {result.exit_code}; "
        f"requests {result.admin['count']} for {active:.1f} s"
    )
    print(
        f"  orders/s: {result.orders / result.wall_seconds:.1f} (whole process), "
        f"{result.orders / active:.1f} (first to last request)"
    )
    print(
        f"  tap CPU: {result.cpu_seconds:.1f} s user+system = "
        f"{1000 * result.cpu_seconds / max(result.orders, 1):.1f} ms per order "
        f"(interpreter start-up included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50, help="orders per shop, throttled run")
    parser.add_argument(
        "--cpu-orders", type=int, default=300, help="orders per shop, unthrottled run"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--deadline", type=float, default=90.0, help="seconds per tap run")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    results: dict[str, TapRun] = {}
    for name, orders, unthrottled in (
        ("throttled", args.orders, False),
        ("unthrottled", args.cpu_orders, True),
    ):
        server = start_server(orders, args.seed, unthrottled=unthrottled)
        try:
            results[name] = run_tap(server.url, args.deadline)
        finally:
            server.close()
    load_after = os.getloadavg()[0]

    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    print(
        f"machine: {cores} cores ({usable} usable), {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}; "
        f"1-min load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print(
        f"store: seed {args.seed}, {args.orders} / {args.cpu_orders} orders per shop, "
        f"shop {SHOP}, paged reads, deadline {args.deadline:.0f} s per run"
    )
    report_throttled(results["throttled"])
    report_unthrottled(results["unthrottled"])


if __name__ == "__main__":
    main()
