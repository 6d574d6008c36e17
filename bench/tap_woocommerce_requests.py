"""Requests per order and resume re-emission of tap-woocommerce-orders, before and after.

What it does (see bench/RESULTS.md, "tap-woocommerce-orders requests"):

1. "before" is the tap as of `--baseline` (a commit; default the last one before the reads were
   reworked), extracted with `git archive` into a temporary folder; "after" is the working
   tree's tap. Both run as their own processes (this interpreter, the baseline's package first
   on `sys.path`), with every stream's clock fixed at 2026-11-11T12:00:00Z: no wall clock.
2. Two seeded WooCommerce emulators (`kconnector_sandbox.woocommerce`, seed `--seed`, `--orders`
   orders spread over the 90 days before 2026-11-01), served on 127.0.0.1 in this process: one
   with refunds, the same store without any refund. The tap's settings are the defaults (trash
   read, payouts estimated, windows of 30 days, 100 orders per page) with `start_date`
   2024-01-01, almost three years before the first order, as a store configured "from the
   beginning" is.
3. Requests: a full run per (implementation, store); the emulator's request log gives every
   request by route. Requests per order = all requests / orders emitted.
4. Resume: the run's messages are cut after half the `orders` records; the last STATE before
   the cut is given to a second run; re-emitted = orders of the second run that had been
   emitted before the cut.

Run from the repository root:

    .venv/bin/python bench/tap_woocommerce_requests.py --orders 3000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.woocommerce import WooCommerceEmulator
from kconnector_sandbox.woocommerce.api_keys import Permission

ROOT = Path(__file__).resolve().parent.parent
# The tap before its reads were sorted, skipped empty windows and shared orders with payouts.
BASELINE = "2c16df9"
EDIT_CLOCK = datetime(2026, 11, 10, 12, tzinfo=UTC)
NOW = "2026-11-11T12:00:00+00:00"
START_DATE = "2024-01-01T00:00:00Z"
# Runs the tap found first on sys.path with every stream's clock at NOW; messages on stdout.
RUNNER = """
import json, sys
from datetime import datetime
from tap_woocommerce_orders.tap import TapWooCommerceOrders
config, state, now = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
tap = TapWooCommerceOrders(config=config, state=state or None)
for stream in tap.streams.values():
    if hasattr(stream, "clock"):
        stream.clock = lambda: datetime.fromisoformat(now)
tap.sync_all()
"""


@dataclass
class Run:
    """One tap run: its messages and the requests the store saw."""

    messages: list[dict[str, Any]]
    requests: Counter[str]

    def orders(self) -> list[str]:
        """Source ids of the `orders` records, in order."""
        return [
            m["record"]["source_id"]
            for m in self.messages
            if m["type"] == "RECORD" and m["stream"] == "orders"
        ]


def baseline_tree(commit: str, into: Path) -> Path:
    """The baseline's tap-woocommerce-orders folder, extracted with `git archive`."""
    archive = subprocess.run(  # noqa: S603 - git with fixed arguments
        ["git", "archive", "--format=tar", commit, "tap-woocommerce-orders"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "tap-woocommerce-orders"


def route_kind(path: str) -> str:
    """A request's kind for the tables: orders list, refunds, statuses, other."""
    if path.rstrip("/") == "/wc/v3/orders":
        return "orders"
    if path.endswith("/refunds"):
        return "refunds"
    if path.endswith("/reports/orders/totals"):
        return "statuses"
    return "other"


def run_tap(
    tap_root: Path, store: WooCommerceEmulator, config: dict[str, Any], state: dict[str, Any]
) -> Run:
    """One tap run as its own process; the store's request log before and after."""
    store.state.request_log.clear()
    env = {**os.environ, "PYTHONPATH": str(tap_root)}
    completed = subprocess.run(  # noqa: S603 - this interpreter and a fixed program
        [sys.executable, "-c", RUNNER, json.dumps(config), json.dumps(state), NOW],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    requests = Counter(route_kind(entry.path) for entry in store.state.request_log)
    return Run(messages, requests)


def resume_figures(
    tap_root: Path, store: WooCommerceEmulator, config: dict[str, Any], whole: Run
) -> tuple[int, int, int]:
    """(orders before the cut, re-emitted of those after resuming, orders of the resumed run)."""
    positions = [
        i for i, m in enumerate(whole.messages) if m["type"] == "RECORD" and m["stream"] == "orders"
    ]
    cut = positions[len(positions) // 2]
    before = whole.messages[:cut]
    states = [m["value"] for m in before if m["type"] == "STATE"]
    emitted = {
        m["record"]["source_id"]
        for m in before
        if m["type"] == "RECORD" and m["stream"] == "orders"
    }
    resumed = run_tap(tap_root, store, config, states[-1] if states else {})
    again = resumed.orders()
    return len(emitted), len(emitted & set(again)), len(again)


def measure(name: str, store: WooCommerceEmulator, url: str, trees: dict[str, Path]) -> list[str]:
    """Table rows for one store: each implementation's requests and resume figures."""
    key = store.key_with(Permission.READ)
    config = {
        "url": url,
        "consumer_key": key.consumer_key,
        "consumer_secret": key.consumer_secret,
        "start_date": START_DATE,
        "allow_insecure_http": True,
    }
    rows = []
    for label, tree in trees.items():
        started = time.perf_counter()
        whole = run_tap(tree, store, config, {})
        orders = len(set(whole.orders()))
        total = sum(whole.requests.values())
        before_cut, again, resumed = resume_figures(tree, store, config, whole)
        rows.append(
            f"| {name} | {label} | {orders} | {total} | {whole.requests['orders']} | "
            f"{whole.requests['refunds']} | {whole.requests['statuses']} | "
            f"{total / orders:.4f} | {again} of {before_cut} (resumed run: {resumed}) | "
            f"{time.perf_counter() - started:.0f} s |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    """Measure both implementations on both stores; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000, help="orders per seeded store")
    parser.add_argument("--seed", type=int, default=0, help="store seed (0: the us store)")
    parser.add_argument("--baseline", default=BASELINE, help="commit of the 'before' tap")
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"seed {args.seed}, {args.orders} orders, baseline {args.baseline}",
        flush=True,
    )
    header = [
        (
            "| store | tap | orders | requests | order lists | refunds | statuses | "
            "requests/order | re-emitted after resume | time |"
        ),
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    print("\n".join(header), flush=True)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        trees = {
            "before": baseline_tree(args.baseline, Path(scratch)),
            "after": ROOT / "tap-woocommerce-orders",
        }
        for name, refunds in (("with refunds", True), ("without refunds", False)):
            store = WooCommerceEmulator(
                SandboxOptions(seed=args.seed, orders=args.orders),
                clock=lambda: EDIT_CLOCK,
                refunds=refunds,
            )
            try:
                with ServedApp(store.app) as served:
                    rows += measure(name, store, served.url, trees)
            finally:
                store.close()
    print(f"{len(rows)} rows measured", flush=True)


if __name__ == "__main__":
    main()
