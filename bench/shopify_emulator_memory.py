"""Peak memory (RSS) of the Shopify emulator serving a large shop, before and after issue 18.

What it does (bench/RESULTS.md says how to read the figures):

1. For each size (orders per shop; the emulator seeds its three shops, US, CA and UK, or only
   those named by `--shops`), starts a fresh process that seeds the emulator, serves it on
   loopback and asks it what a tap run asks: `ordersCount` over the whole history, five pages
   of orders sorted by `UPDATED_AT` (the tap's paged query), `node(id:)` on a line item, the
   `action:destroy` events, the US shop's Shopify Payments payouts (the ledger is built from
   every order), and one bulk operation over all the US shop's orders (the tap's own bulk
   query), its JSONL downloaded.
2. Measures that process's **peak RSS** (`ru_maxrss` from `os.wait4`, the kernel's high-water
   mark over its whole life) and its RSS right after seeding (`VmRSS`), plus the seeding time
   and the time of each request.
3. "Before" runs the same process with the emulator of `--before-rev` (a git worktree of that
   commit, removed afterwards) put first on `PYTHONPATH`; "after" with this checkout's. Both in
   the same run, one after the other (never together: they would compete for the cores).

Bounded by the sizes and `--deadline` seconds per process. Loopback only. From the repository
root:

    .venv/bin/python bench/shopify_emulator_memory.py                      # make bench's size
    .venv/bin/python bench/shopify_emulator_memory.py --sizes 100000 --before-sizes --bulk-days 1
    .venv/bin/python bench/shopify_emulator_memory.py --sizes 100000 --before-sizes --shops us

`--shops us` seeds only the US shop (the other two are served empty): one 100,000-order shop,
the size issue 18's goal names. The "before" emulator always seeds three shops (it has no such
option), so give it `--before-sizes` with no size when using `--shops`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
BEFORE_REV = "2c16df9"  # the last commit before the emulator kept its orders compactly
MIB = 1024 * 1024

PAGE_QUERY = """query($q: String, $after: String) {
  orders(first: 50, after: $after, query: $q, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id name updatedAt totalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: 10) { nodes { id quantity } } }
  }
}"""
COUNT_QUERY = "query($q: String) { ordersCount(query: $q, limit: null) { count precision } }"
NODE_QUERY = "query($id: ID!) { node(id: $id) { id ... on LineItem { quantity } } }"
EVENTS_QUERY = """{ events(first: 250, query: "subject_type:ORDER AND action:destroy") {
  nodes { id } } }"""
PAYOUTS_QUERY = """{ shopifyPaymentsAccount { payouts(first: 50) { nodes { id status
  net { amount currencyCode } } } } }"""
BULK_RUN = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id } userErrors { code message } } }"""
BULK_POLL = "{ currentBulkOperation { id status url objectCount } }"


# --- the measured process ---------------------------------------------------------------------


def _vm_rss() -> int:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def child(orders: int, bulk_days: float | None, shops: list[str] | None) -> None:  # noqa: PLR0915 - one scripted visit
    """Seed, serve, ask, and print one JSON line of timings (this process's RSS is measured)."""
    import requests  # noqa: PLC0415 - the measured process imports what it measures

    from kconnector_sandbox.options import SandboxOptions  # noqa: PLC0415
    from kconnector_sandbox.runner import ServedApp  # noqa: PLC0415
    from kconnector_sandbox.shopify import build  # noqa: PLC0415
    from tap_shopify_orders.queries import bulk_orders_query  # noqa: PLC0415

    timings: dict[str, Any] = {"orders_per_shop": orders, "shops": len(shops or ()) or 3}
    started = time.perf_counter()
    options = SandboxOptions(seed=7, orders=orders, time_scale=10_000.0)
    emulator = build(options) if shops is None else build(options, shops)
    timings["seed_s"] = round(time.perf_counter() - started, 1)
    timings["rss_after_seed"] = _vm_rss()
    shop = emulator.shop("us")
    with ServedApp(emulator.app) as served:
        url = f"{served.url}/shops/{shop.profile.domain}/admin/api/2025-10/graphql.json"
        headers = {"X-Shopify-Access-Token": shop.profile.access_token}

        def ask(name: str, query: str, variables: dict[str, Any] | None = None) -> Any:  # noqa: ANN401
            begin = time.perf_counter()
            response = requests.post(
                url,
                json={"query": query, "variables": variables or {}},
                headers=headers,
                timeout=3600,
            )
            response.raise_for_status()
            body = response.json()
            if body.get("errors"):
                msg = f"{name}: {body['errors']}"
                raise RuntimeError(msg)
            timings[f"{name}_s"] = round(
                timings.get(f"{name}_s", 0) + time.perf_counter() - begin, 2
            )
            return body["data"]

        search = "updated_at:>='2020-01-01T00:00:00Z' AND test:false"
        timings["count"] = ask("count", COUNT_QUERY, {"q": search})["ordersCount"]["count"]
        after = None
        line_item = None
        for _ in range(5):
            page = ask("pages", PAGE_QUERY, {"q": search, "after": after})["orders"]
            after = page["pageInfo"]["endCursor"]
            line_item = line_item or page["nodes"][0]["lineItems"]["nodes"][0]["id"]
        ask("node", NODE_QUERY, {"id": line_item})
        ask("events", EVENTS_QUERY)
        ask("payouts", PAYOUTS_QUERY)
        begin = time.perf_counter()
        bulk_search = search
        if bulk_days is not None:
            since = shop.clock.now() - timedelta(days=bulk_days)
            bulk_search = f"updated_at:>='{since:%Y-%m-%dT%H:%M:%SZ}' AND test:false"
        run = ask("bulk_start", BULK_RUN, {"q": bulk_orders_query(bulk_search)})
        errors = run["bulkOperationRunQuery"]["userErrors"]
        if errors:
            msg = f"bulk: {errors}"
            raise RuntimeError(msg)
        while True:
            current = ask("bulk_poll", BULK_POLL)["currentBulkOperation"]
            if current["status"] == "COMPLETED":
                break
            time.sleep(0.2)
        size = 0
        with requests.get(current["url"], timeout=3600, stream=True) as download:
            for piece in download.iter_content(1 << 20):  # counted, never held: this process
                size += len(piece)  # is the one measured
        timings["bulk_s"] = round(time.perf_counter() - begin, 1)
        timings["bulk_objects"] = int(current["objectCount"])
        timings["bulk_mib"] = round(size / MIB, 1)
    print(json.dumps(timings), flush=True)


# --- the parent ---------------------------------------------------------------------------------


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """A detached git worktree of `rev`, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="kc-bench-before-"))
    subprocess.run(  # noqa: S603 - fixed arguments
        ["git", "worktree", "add", "--detach", str(path), rev],  # noqa: S607 - git on PATH
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "worktree", "remove", "--force", str(path)],  # noqa: S607
            cwd=ROOT,
            check=False,
            capture_output=True,
        )


def measure(
    orders: int, code: Path, deadline: float, bulk_days: float | None, shops: list[str] | None
) -> dict[str, Any]:
    """Run the measured process against the emulator and tap of checkout `code`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(code / "sandbox"), str(code / "tap-shopify-orders"), env.get("PYTHONPATH", "")]
    )
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this script
        [sys.executable, __file__, "--child", str(orders)]
        + ([] if bulk_days is None else ["--bulk-days", str(bulk_days)])
        + ([] if shops is None else ["--shops", *shops]),
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    begin = time.monotonic()
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - begin > deadline:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            return {"orders_per_shop": orders, "cut": True, "peak": usage.ru_maxrss * 1024}
        time.sleep(0.2)
    out = process.stdout.read() if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        return {"orders_per_shop": orders, "failed": True, "peak": usage.ru_maxrss * 1024}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak"] = usage.ru_maxrss * 1024
    return result


def line(label: str, result: dict[str, Any]) -> str:
    """One row of the report."""
    orders = result["orders_per_shop"]
    peak = result["peak"] / MIB
    if result.get("cut") or result.get("failed"):
        state = "CUT by the deadline" if result.get("cut") else "FAILED"
        return f"{label:6} {orders:>7} orders/shop: {state}, peak RSS {peak:,.0f} MiB so far"
    return (
        f"{label:6} {orders:>7} orders/shop: peak RSS {peak:,.0f} MiB"
        f" ({result['rss_after_seed'] / MIB:,.0f} after seeding; "
        f"{result['peak'] / (result['shops'] * orders):,.0f} B/order over"
        f" {result['shops']} shop(s));"
        f" seeded in {result['seed_s']} s;"
        f" count {result['count_s']} s, 5 pages {result['pages_s']} s, node {result['node_s']} s,"
        f" events {result['events_s']} s, payouts {result['payouts_s']} s,"
        f" bulk {result['bulk_s']} s ({result['bulk_objects']:,} objects,"
        f" {result['bulk_mib']} MiB JSONL)"
    )


def main() -> None:
    """Parse arguments, run the sizes before and after, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000])
    parser.add_argument("--before-sizes", type=int, nargs="*", default=None)
    parser.add_argument("--before-rev", default=BEFORE_REV)
    parser.add_argument("--deadline", type=float, default=1800.0)
    parser.add_argument(
        "--bulk-days",
        type=float,
        default=None,
        help="the bulk operation reads the orders updated in these last days (default: all)",
    )
    parser.add_argument(
        "--shops",
        nargs="+",
        choices=["us", "ca", "uk"],
        default=None,
        help="seed only these shops (the others are served empty; default: all three)",
    )
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.bulk_days, args.shops)
        return
    before_sizes = args.sizes if args.before_sizes is None else args.before_sizes
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"before = {args.before_rev}, after = this checkout"
    )
    rows: list[tuple[str, dict[str, Any]]] = []
    if before_sizes:
        with worktree(args.before_rev) as before:
            for size in before_sizes:
                rows.append(("before", measure(size, before, args.deadline, args.bulk_days, None)))
                print(line(*rows[-1]), flush=True)
    for size in args.sizes:
        rows.append(("after", measure(size, ROOT, args.deadline, args.bulk_days, args.shops)))
        print(line(*rows[-1]), flush=True)
    for size in sorted({r["orders_per_shop"] for _, r in rows}):
        pair = {label: r for label, r in rows if r["orders_per_shop"] == size}
        if {"before", "after"} <= set(pair):
            ratio = pair["before"]["peak"] / max(pair["after"]["peak"], 1)
            print(f"ratio  {size:>7} orders/shop: before/after peak RSS = {ratio:.1f}x")


if __name__ == "__main__":
    main()
