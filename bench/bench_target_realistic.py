"""target-quickbooks on a realistic mix at QuickBooks' real limits: before and after, one run.

What it does (bench/RESULTS.md, "target-quickbooks on the realistic mix", says how to read it):

1. The mix: the Shopify emulator seeded with `--orders` orders (seed 7, US shop, every limit
   of the tap's side opened as in `pipeline_throughput.py`), read by `tap-shopify-orders` and
   mapped by `map-quickbooks` (the real executables, piped), into a file of Singer messages:
   customers (re-emitted with each order), SalesReceipts, Invoices, Payments, RefundReceipts.
   `--mix FILE` reuses a file made earlier.
2. The QuickBooks Online emulator in its own process with QuickBooks' real per-realm limits
   (500 requests/min, 40 batch requests/min, 30 items per batch, 10 concurrent), time-scaled:
   a QuickBooks minute lasts 60/`--time-scale` seconds.
3. Two engines, side by side in this process, each into a fresh company and a fresh ledger:
   **before**, the delivery engine with `delivery.BEFORE_ISSUE_18` (no batch filling across
   waves, every changed customer copy written, no SyncToken bump known after our own Payments,
   each wave's own look-ups of 30 values a query, each wave answered and recorded before the
   next is planned and before more input is read, every record of a rerun through the full
   path: `input_fast_path` off) and **after**, the engine as shipped. Each
   runs the mix as a backfill, then the same input again (an unchanged rerun).
4. Every HTTP request the target sends is timestamped (a hook on `requests.Session.send`):
   documents per QuickBooks minute are the mean over one-minute windows from the first write
   to the last (`target_throughput.mean_per_window`), as a fraction of the ceiling of 40 x 30 =
   1,200. Writes per order = write operations sent / orders; reads per order = queries and
   reads by Id / orders; CPU ms per record on the rerun = this process's CPU time (the target's
   threads; the emulator runs elsewhere) / records received.

Bounded (a deadline per run) and loopback only. Run from the repository root:

    .venv/bin/python bench/bench_target_realistic.py --orders 3000 --time-scale 5
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import multiprocessing as mp
import os
import platform
import re
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pipeline_throughput as pipeline  # bench/ is on sys.path when run as a script
import requests
import target_throughput as throughput

from target_quickbooks import delivery, target

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

CEILING = throughput.BATCH_LIMIT * throughput.BATCH_ITEMS
# What the reads of the current pass asked: "<entity> by <field>" for a query, "read <entity>".
READ_KINDS: Counter[str] = Counter()
# What the writes of the current pass were: "<entity> <operation>" (batch items and single writes).
WRITE_KINDS: Counter[str] = Counter()
_BATCH_KEYS = frozenset({"bId", "operation", "optionsData"})
_QUERY = re.compile(r"FROM (\w+)(?: WHERE (\w+))?", re.IGNORECASE)
ORDER_STREAMS = ("sales_receipts", "invoices")


def make_mix(orders: int, folder: Path) -> Path:
    """Tap and mapper, piped, over a freshly seeded Shopify emulator; returns the Singer file."""
    out = folder / "mix.singer"
    with pipeline.running_emulators(["shopify"], orders) as emulators:
        tap = pipeline.Command(
            pipeline.TAPS["shopify"],
            pipeline.write_config(folder, "tap", emulators["shopify"].info),
        )
        mapper = pipeline.Command(
            pipeline.MAPPER,
            pipeline.write_config(folder, "map", {"doc_number_prefix": "SH-"}),
        )
        _, cut = pipeline.run_processes(
            [tap, mapper], stdin=None, stdout=out, logs=folder, deadline=1800
        )
    if cut:
        msg = "the tap and mapper were cut by their deadline"
        raise SystemExit(msg)
    return out


def mix_counts(path: Path) -> tuple[int, int, int]:
    """(orders, records, floor) of a mix file.

    The floor is the writes no engine can avoid: each distinct document once (the last record
    of each external_id: an order's receipt, invoice, payments, refunds) and each customer once.
    """
    orders: set[str] = set()
    documents: set[str] = set()
    records = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            if message.get("type") != "RECORD" or message["stream"] == "dead_letters":
                continue
            records += 1
            documents.add(str(message["record"]["external_id"]))
            if message["stream"] in ORDER_STREAMS:
                orders.add(str(message["record"]["source_id"]))
    return len(orders), records, len(documents)


@dataclass(frozen=True)
class Pass:
    """One run of the target over the mix."""

    seconds: float
    cpu_seconds: float
    writes: int
    batches: int
    batch_items: int
    reads: int
    per_window: float
    read_kinds: dict[str, int]
    write_kinds: dict[str, int]


@dataclass(frozen=True)
class EngineResult:
    """A backfill and an unchanged rerun with one engine."""

    name: str
    backfill: Pass
    rerun: Pass


def _reads(events: list[tuple[float, str, int]]) -> int:
    return sum(1 for _, kind, _ in events if kind == "read")


def instrument(timeline: throughput.Timeline) -> None:
    """Timestamp every request the target sends: batches (and their items), writes, reads."""
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:  # noqa: ANN401 - requests' signature
        response = original(self, request, **kwargs)
        path = (request.path_url or "").split("?")[0]
        kind, documents = "other", 0
        if "/v3/company/" not in path:
            pass  # OAuth tokens
        elif path.endswith("/batch") and request.body:
            items = json.loads(request.body).get("BatchItemRequest", [])
            kind, documents = "batch", sum(1 for item in items if "operation" in item)
            with timeline.lock:
                for item in items:
                    if "operation" in item:
                        entity = next((k for k in item if k not in _BATCH_KEYS), "?")
                        WRITE_KINDS[f"{entity} {item['operation']}"] += 1
        elif path.endswith("/query") or request.method == "GET":
            kind = "read"  # a query or a read by Id: both metered by Intuit
            found = _QUERY.search(str(request.body or "")) if request.method == "POST" else None
            what = f"{found[1]} by {found[2]}" if found else "read " + path.split("/")[-2]
            with timeline.lock:
                READ_KINDS[what] += 1
        elif request.method == "POST":
            kind, documents = "write", 1
            operation = "update" if '"Id"' in str(request.body or "") else "create"
            if "operation=" in (request.path_url or ""):
                operation = str(request.path_url).split("operation=")[1].split("&")[0]
            with timeline.lock:
                WRITE_KINDS[f"{path.split('/')[-1]} {operation} (single)"] += 1
        timeline.record(kind, documents)
        return response

    requests.Session.send = send  # type: ignore[method-assign]


def run_pass(
    config: dict[str, Any], text: str, timeline: throughput.Timeline, window: float
) -> Pass:
    """Feed the mix to a fresh target with this config; figures of that run."""
    timeline.events.clear()
    READ_KINDS.clear()
    WRITE_KINDS.clear()
    started, cpu = time.monotonic(), time.process_time()
    worker = threading.Thread(
        target=target.TargetQuickBooks(config=config).listen,
        args=(io.StringIO(text),),
        daemon=True,
    )
    worker.start()
    worker.join(1800)
    if worker.is_alive():
        msg = "a target run was cut by its 1,800 s deadline"
        raise SystemExit(msg)
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu
    events = sorted(timeline.events)
    writes = [e for e in events if e[1] in {"batch", "write"}]
    per_window = throughput.mean_per_window(writes, window) if len(writes) > 1 else 0.0
    return Pass(
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        writes=sum(e[2] for e in writes),
        batches=sum(1 for e in events if e[1] == "batch"),
        batch_items=sum(e[2] for e in events if e[1] == "batch"),
        reads=_reads(events),
        per_window=per_window,
        read_kinds=dict(READ_KINDS.most_common()),
        write_kinds=dict(WRITE_KINDS.most_common()),
    )


def set_up_company(server: dict[str, Any]) -> tuple[str, str]:
    """A fresh US company set up as a bookkeeper would: its "Gift Card" item made.

    The mapper names gift card lines' item "Gift Card" (`on_missing: error`, docs/mapping.md):
    without it the orders that sold one are dead letters, retried on every run. Made through
    the API with the company's own token; returns (realm id, the rotated refresh token).
    """
    url = server["url"]
    realm = requests.post(f"{url}/__admin/realms", json={"kind": "US"}, timeout=30)
    realm.raise_for_status()
    realm_id = str(realm.json()["realm_id"])
    grant = requests.post(
        f"{url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": realm.json()["refresh_token"]},
        auth=(server["client_id"], server["client_secret"]),
        timeout=30,
    )
    grant.raise_for_status()
    api = f"{url}/v3/company/{realm_id}"
    headers = {
        "Authorization": f"Bearer {grant.json()['access_token']}",
        "Accept": "application/json",
    }
    found = requests.post(
        f"{api}/query",
        data="SELECT * FROM Account WHERE Name = 'Gift Card Liability'",
        headers={**headers, "Content-Type": "application/text"},
        timeout=30,
    )
    found.raise_for_status()
    (account,) = found.json()["QueryResponse"]["Account"]
    item = requests.post(
        f"{api}/item",
        json={"Name": "Gift Card", "Type": "Service", "IncomeAccountRef": {"value": account["Id"]}},
        headers=headers,
        timeout=30,
    )
    item.raise_for_status()
    return realm_id, str(grant.json()["refresh_token"])


def run_engine(
    name: str,
    server: dict[str, Any],
    text: str,
    *,
    time_scale: float,
    timeline: throughput.Timeline,
) -> EngineResult:
    """Backfill then rerun with one engine tuning, into a fresh company and ledger."""
    tuning = delivery.BEFORE_ISSUE_18 if name == "before" else delivery.DeliveryTuning()
    target.DeliveryEngine = functools.partial(delivery.DeliveryEngine, tuning=tuning)  # type: ignore[misc]
    realm_id, refresh_token = set_up_company(server)
    window = throughput.SECONDS_PER_MINUTE / time_scale
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = {
                "realm_id": realm_id,
                "client_id": server["client_id"],
                "client_secret": server["client_secret"],
                "refresh_token": refresh_token,
                "api_url": server["url"],
                "token_url": f"{server['url']}/oauth2/v1/tokens/bearer",
                "database_url": f"sqlite:///{Path(folder) / 'state.db'}",
                "rate_limit_window_seconds": 61.0 / time_scale,
                "request_timeout_seconds": 60.0,
                "allow_plaintext_tokens": True,  # the sandbox emulator's tokens
                # The rerun's fast path at the input line (`input_screen`) is issue 18's too.
                "input_fast_path": name != "before",
            }
            backfill = run_pass(config, text, timeline, window)
            rerun = run_pass(config, text, timeline, window)
    finally:
        target.DeliveryEngine = delivery.DeliveryEngine  # type: ignore[misc]
    return EngineResult(name, backfill, rerun)


def report(results: list[EngineResult], orders: int, records: int, floor: int) -> None:
    """One line per engine; the figures of each goal side by side."""
    print(
        "engine  orders  records  docs/QBO-min  of-ceiling  batches  items/batch  writes/order"
        "  reads/order  rerun-reads/order  rerun-CPU-ms/record"
    )
    for result in results:
        backfill, rerun = result.backfill, result.rerun
        fill = backfill.batch_items / backfill.batches if backfill.batches else 0.0
        print(
            f"{result.name:7} {orders:6} {records:8} {backfill.per_window:13.0f}"
            f" {backfill.per_window / CEILING:11.3f} {backfill.batches:8} {fill:12.1f}"
            f" {backfill.writes / orders:13.2f} {backfill.reads / orders:12.3f}"
            f" {rerun.reads / orders:18.4f} {1000 * rerun.cpu_seconds / records:20.3f}"
        )
    print(f"floor (each document and each customer written once): {floor / orders:.2f} per order")
    for result in results:
        kinds = ", ".join(f"{k} {v}" for k, v in result.backfill.read_kinds.items())
        print(f"{result.name} backfill reads: {kinds or 'none'}")
        kinds = ", ".join(f"{k} {v}" for k, v in result.backfill.write_kinds.items())
        print(f"{result.name} backfill writes: {kinds or 'none'}")


def main() -> None:
    """Make (or reuse) the mix, run both engines against one emulator process, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--time-scale", type=float, default=5.0)
    parser.add_argument("--mix", type=Path, help="a mix file made earlier (skips the tap)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        mix = args.mix or make_mix(args.orders, Path(folder))
        orders, records, floor = mix_counts(mix)
        text = mix.read_text(encoding="utf-8")
    context = mp.get_context("spawn")
    ready: Queue[dict[str, Any]] = context.Queue()
    stop = context.Event()
    process = context.Process(
        target=throughput.serve, args=(args.time_scale, ready, stop), name="qbo"
    )
    process.start()
    try:
        server = ready.get(timeout=120)
        timeline = throughput.Timeline()
        instrument(timeline)
        results = [
            run_engine(name, server, text, time_scale=args.time_scale, timeline=timeline)
            for name in ("before", "after")
        ]
    finally:
        stop.set()
        process.join(10)
    print(
        f"time_scale {args.time_scale} (a QuickBooks minute = {60 / args.time_scale:.1f} s); "
        f"cores {os.cpu_count()}; CPython {platform.python_version()}; "
        f"load {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    report(results, orders, records, floor)


if __name__ == "__main__":
    main()
