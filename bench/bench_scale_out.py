"""Scale-out, time-scaled: documents per QuickBooks minute as companies are added.

What it does (bench/RESULTS.md, "Scale-out", says how to read the figures):

1. Starts the QuickBooks Online emulator in its own process with QuickBooks' real per-realm
   limits (500 requests/min, 40 batch requests/min, 30 items per batch, 10 concurrent), time
   scaled: a QuickBooks minute lasts 60/`--time-scale` seconds.
2. For each scenario of `--companies` (default 1 and 5) it creates that many realms and
   `--tenants-per-company` tenants per realm (20 tenants over 5 companies by default), each
   tenant a store of `--documents` map-quickbooks SalesReceipts.
3. Runs them as docs/scale-out.md deploys them: one writer per company (the Dagster pool: a
   company's tenants run one after another), companies in parallel (one process each). Each
   tenant run is the real `TargetQuickBooks` fed the mapper's Singer messages, with its default
   limiter (500 requests, 40 batches per 61 s, scaled).
4. Every request is timestamped on completion with its company and status. Per company: the
   mean documents per QuickBooks minute over sliding windows (as bench/target_throughput.py) and
   the most documents written in any one window (which QuickBooks caps at 40 x 30 = 1,200);
   in total: the same over all companies' writes; the 429 answers the emulator sent.

Bounded (`--deadline` per scenario) and loopback only. Run from the repository root:

    .venv/bin/python bench/bench_scale_out.py --time-scale 6 --companies 1 5 \
        --tenants-per-company 4 --documents 300
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from target_throughput import (  # the emulator process and the mapper's records
    BATCH_ITEMS,
    SECONDS_PER_MINUTE,
    mean_per_window,
    serve,
    singer_input,
)

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

BATCH_LIMIT = 40
CEILING = BATCH_LIMIT * BATCH_ITEMS  # documents per company per QuickBooks minute
Event = tuple[float, str, int, int]  # completion time, kind, documents, HTTP status


def _instrument(events: list[Event], lock: threading.Lock) -> None:
    """Timestamp every request of this process (the target's own session included)."""
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:  # noqa: ANN401 - requests' signature
        response = original(self, request, **kwargs)
        path = (request.path_url or "").split("?")[0]
        kind, documents = "other", 0
        if path.endswith("/batch") and request.body:
            import json  # noqa: PLC0415

            items = json.loads(request.body).get("BatchItemRequest", [])
            kind, documents = "batch", sum(1 for item in items if "operation" in item)
        elif path.endswith("/query"):
            kind = "read"
        elif "/v3/company/" in path and request.method == "POST":
            kind, documents = "write", 1
        with lock:
            events.append((time.monotonic(), kind, documents, response.status_code))
        return response

    requests.Session.send = send  # type: ignore[method-assign]


def company_worker(  # noqa: PLR0913, PLR0917 - one company's knobs, passed by multiprocessing
    server: dict[str, Any],
    realm: dict[str, str],
    tenants: list[str],
    documents: int,
    time_scale: float,
    out: Queue[tuple[str, list[Event], float]],
) -> None:
    """Child process: the company's tenants one after another (one writer), as the pool does."""
    from target_quickbooks.target import TargetQuickBooks  # noqa: PLC0415 - in the child

    events: list[Event] = []
    _instrument(events, threading.Lock())
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        for tenant in tenants:
            config = {
                "realm_id": realm["realm_id"],
                "client_id": server["client_id"],
                "client_secret": server["client_secret"],
                "refresh_token": realm["refresh_token"],
                "api_url": server["url"],
                "token_url": f"{server['url']}/oauth2/v1/tokens/bearer",
                # One store for the company's tenants, as the shared store keeps it.
                "database_url": f"sqlite:///{Path(folder) / 'store.db'}",
                "rate_limit_window_seconds": 61.0 / time_scale,
                "request_timeout_seconds": 30.0,
                "allow_plaintext_tokens": True,  # the sandbox emulator's tokens
            }
            target = TargetQuickBooks(config=config)
            # The company's next tenant finds the rotated refresh token in the shared store.
            with contextlib.redirect_stdout(io.StringIO()):  # its STATE lines
                target.listen(io.StringIO(singer_input(tenant, documents)))
    out.put((realm["realm_id"], events, time.monotonic() - started))


@dataclass(frozen=True)
class CompanyResult:
    """One company's figures in a scenario."""

    realm_id: str
    documents: int
    per_minute: float
    busiest_minute: int
    throttled: int


def busiest_window(writes: list[Event], window: float) -> int:
    """The most documents whose write completed within any one window (sliding, exact)."""
    times = [(t, n) for t, _, n, _ in writes]
    best, total, left = 0, 0, 0
    for right in range(len(times)):
        total += times[right][1]
        while times[right][0] - times[left][0] >= window:
            total -= times[left][1]
            left += 1
        best = max(best, total)
    return best


def scenario(  # noqa: PLR0913 - the scenario's knobs
    server: dict[str, Any],
    *,
    companies: int,
    tenants_per_company: int,
    documents: int,
    time_scale: float,
    deadline: float,
) -> tuple[list[CompanyResult], float, int, float]:
    """Run one scenario; per company figures, total per minute, total documents, seconds."""
    context = mp.get_context("spawn")
    out: Queue[tuple[str, list[Event], float]] = context.Queue()
    processes = []
    for c in range(companies):
        created = requests.post(f"{server['url']}/__admin/realms", json={"kind": "US"}, timeout=10)
        created.raise_for_status()
        realm = {k: str(v) for k, v in created.json().items() if k in {"realm_id", "refresh_token"}}
        tenants = [f"c{companies}-{c}-t{t}" for t in range(tenants_per_company)]
        process = context.Process(
            target=company_worker, args=(server, realm, tenants, documents, time_scale, out)
        )
        processes.append(process)
    started = time.monotonic()
    for process in processes:
        process.start()
    results = [out.get(timeout=deadline) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    elapsed = time.monotonic() - started
    window = SECONDS_PER_MINUTE / time_scale
    figures: list[CompanyResult] = []
    all_writes: list[Event] = []
    for realm_id, events, _ in results:
        writes = sorted(e for e in events if e[1] in {"batch", "write"} and e[3] < 300)  # noqa: PLR2004
        all_writes.extend(writes)
        figures.append(
            CompanyResult(
                realm_id=realm_id,
                documents=sum(e[2] for e in writes),
                per_minute=mean_per_window([(t, k, n) for t, k, n, _ in writes], window),
                busiest_minute=busiest_window(writes, window),
                throttled=sum(1 for e in events if e[3] == 429),  # noqa: PLR2004
            )
        )
    all_writes.sort()
    total = mean_per_window([(t, k, n) for t, k, n, _ in all_writes], window)
    return figures, total, sum(f.documents for f in figures), elapsed


def main() -> None:
    """Run the scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-scale", type=float, default=6.0)
    parser.add_argument("--companies", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--tenants-per-company", type=int, default=4)
    parser.add_argument("--documents", type=int, default=300, help="per tenant")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds per scenario")
    args = parser.parse_args()
    context = mp.get_context("spawn")
    ready: Queue[dict[str, Any]] = context.Queue()
    stop = context.Event()
    emulator = context.Process(target=serve, args=(args.time_scale, ready, stop))
    emulator.start()
    try:
        server = ready.get(timeout=120)
        minute = SECONDS_PER_MINUTE / args.time_scale
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores; time scale {args.time_scale:g}"
            f" (a QuickBooks minute = {minute:.1f} s); ceiling {CEILING} documents per company "
            "per QuickBooks minute"
        )
        baseline = None
        for companies in args.companies:
            figures, total, documents, elapsed = scenario(
                server,
                companies=companies,
                tenants_per_company=args.tenants_per_company,
                documents=args.documents,
                time_scale=args.time_scale,
                deadline=args.deadline,
            )
            tenants = companies * args.tenants_per_company
            baseline = baseline or total
            print(
                f"companies {companies}, tenants {tenants}: {documents} documents in "
                f"{elapsed:.1f} s; total {total:.0f} documents per QuickBooks minute "
                f"(x{total / baseline:.2f})"
            )
            for figure in figures:
                verdict = "ok" if figure.busiest_minute <= CEILING else "OVER THE LIMIT"
                print(
                    f"  company {figure.realm_id}: {figure.documents} documents, "
                    f"{figure.per_minute:.0f}/min mean, busiest minute {figure.busiest_minute} "
                    f"({verdict}), 429s {figure.throttled}"
                )
            throttled = sum(f.throttled for f in figures)
            over = sum(1 for f in figures if f.busiest_minute > CEILING)
            print(f"  429 answers: {throttled}; companies over the limit: {over}")
    finally:
        stop.set()
        emulator.join(timeout=30)


if __name__ == "__main__":
    main()
