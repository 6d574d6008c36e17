"""Throughput of the QuickBooks Online emulator, beside a bare Starlette app as the baseline.

What it does (see bench/RESULTS.md for how to read the figures):

1. Starts the server under test in a separate process (multiprocessing, spawn): either the QBO
   emulator (`kconnector_sandbox.qbo.QboEmulator`) or a trivial Starlette app that answers every
   request with a small JSON document. Both are served by `kconnector_sandbox.runner.ServedApp`
   (uvicorn, one event loop) on 127.0.0.1, port chosen by the OS.
2. The emulator is built with its per-realm throttles raised out of reach (requests per minute,
   batch requests per minute and concurrent requests set to 10**9), so 429s never cap the figure;
   everything else (OAuth bearer check, validation, tax, totals, requestid idempotency, the
   request log) runs as usual. A token is obtained through the OAuth refresh grant with the demo
   credentials of the seed and the realm's initial refresh token (`GET /__admin/realms`).
3. A warm-up creates a few SalesReceipts sequentially (not timed); the reads read them.
4. A fixed, seeded workload (identical request bytes for both servers) is split over N client
   threads, each with its own keep-alive `requests.Session`, released together by a barrier.
   Per cycle of 10 requests: 4 creates of a CA SalesReceipt (2-3 lines with GST/PST tax codes,
   a percent discount on some, `requestid` on every write), 3 reads by Id, 2 queries, 1 batch
   of `--batch-items` items (creates and queries mixed).
5. Prints requests/s and documents/s (a batch counts its items; any other request counts one)
   for each server, the ratio emulator / bare framework, and the machine's core count.

Bounded: `--requests` in total per server (default 2000) and `--deadline` seconds per run; a run
cut by the deadline says so. Loopback only.

Run from the repository root:

    .venv/bin/python bench/qbo_emulator_throughput.py --threads 4 --requests 2000
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing as mp
import os
import platform
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator, QboLimits
from kconnector_sandbox.qbo.emulator import demo_credentials
from kconnector_sandbox.runner import ServedApp
from target_quickbooks import qbo_json

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

    from starlette.requests import Request

CA_REALM = "9130357600000002"
MINOR_VERSION = "75"
SEED = 7
UNLIMITED = 10**9
CYCLE = ("create", "read", "create", "query", "create", "read", "batch", "create", "read", "query")
WARMUP_RECEIPTS = 20
BATCH_QUERY_EVERY = 5  # one batch item in five is a query, the others creates
MAX_BATCH_ITEMS = (
    30  # https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
)
NAMESPACE = uuid.UUID("6f1c5a52-4b55-4f0e-9a3e-8d1f9f0b7a11")


# --- servers (run in a child process) ---------------------------------------------------------


def _hello_app() -> Starlette:
    async def hello(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"hello": "world"})

    return Starlette(routes=[Route("/{path:path}", hello, methods=["GET", "POST"])])


def _emulator_app() -> Starlette:
    limits = QboLimits(
        requests_per_minute=UNLIMITED,
        batch_requests_per_minute=UNLIMITED,
        concurrent_requests=UNLIMITED,
    )
    return QboEmulator(SandboxOptions(seed=SEED), limits=limits).app


def serve(kind: str, ready: Queue[str], stop: Event) -> None:
    """Child process: serve the app of `kind` on a free loopback port until `stop` is set."""
    app = _emulator_app() if kind == "emulator" else _hello_app()
    with ServedApp(app) as served:
        ready.put(served.url)
        stop.wait()


@dataclass
class Server:
    """A server process and its base URL."""

    kind: str
    url: str
    process: mp.process.BaseProcess
    stop: Event

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def start_server(context: mp.context.SpawnContext, kind: str) -> Server:
    ready: Queue[str] = context.Queue()
    stop = context.Event()
    process = context.Process(target=serve, args=(kind, ready, stop), name=f"bench-{kind}")
    process.start()
    return Server(kind, ready.get(timeout=60), process, stop)


# --- the workload (deterministic) -----------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One HTTP request of the workload, ready to send."""

    op: str
    method: str
    path: str  # below /v3/company/<realm>/
    params: tuple[tuple[str, str], ...]
    body: bytes | None
    content_type: str = "application/json"
    documents: int = 1


def _receipt(thread: int, index: int) -> dict[str, Any]:
    """A CA SalesReceipt: a taxed item line, a shipping line, a percent discount on some."""
    qty = 1 + (thread + index) % 4
    price = Decimal("19.99")
    lines: list[dict[str, Any]] = [
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": price * qty,
            "Description": "Widget",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "5"},
                "Qty": qty,
                "UnitPrice": price,
                "TaxCodeRef": {"value": "2"},
            },
        },
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": Decimal("10.00"),
            "Description": "Shipping",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "2"},
                "Qty": 1,
                "UnitPrice": Decimal("10.00"),
                "TaxCodeRef": {"value": "1"},
            },
        },
    ]
    if index % 3 == 0:
        lines.append(
            {
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
            }
        )
    return {
        "CustomerRef": {"value": "1"},
        "DocNumber": f"KC-{thread}-{index}",
        "TxnDate": "2026-11-20",
        "PrivateNote": f"[kc:bench:{thread}:{index}]",
        "Line": lines,
    }


def _json(value: Any) -> bytes:  # noqa: ANN401 - any JSON value
    # The target's encoder: amounts are written from Decimal as JSON numbers, never via float.
    return qbo_json.dumps(value).encode()


def _request_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def build_workload(
    thread: int, count: int, read_ids: list[str], batch_items: int, *, tag: str
) -> list[Call]:
    """The calls of one client thread: `count` requests following `CYCLE`."""
    calls: list[Call] = []
    for index in range(count):
        op = CYCLE[index % len(CYCLE)]
        base = (("minorversion", MINOR_VERSION),)
        if op == "create":
            rid = _request_id(tag, thread, index)
            calls.append(
                Call(
                    op,
                    "POST",
                    "salesreceipt",
                    (*base, ("requestid", rid)),
                    _json(_receipt(thread, index)),
                )
            )
        elif op == "read":
            target = read_ids[(thread * 7 + index) % len(read_ids)]
            calls.append(Call(op, "GET", f"salesreceipt/{target}", base, None))
        elif op == "query":
            # fixed statements of the benchmark itself: no outside data reaches them
            statement = (
                f"SELECT * FROM SalesReceipt WHERE DocNumber = 'KC-{thread}-{index - 3}'"  # noqa: S608
                if index % 2
                else "SELECT * FROM Item WHERE Active = true MAXRESULTS 10"
            )
            calls.append(Call(op, "POST", "query", base, statement.encode(), "application/text"))
        else:
            items: list[dict[str, Any]] = [
                {"bId": str(item), "Query": "SELECT * FROM Customer MAXRESULTS 5"}
                if item % BATCH_QUERY_EVERY == BATCH_QUERY_EVERY - 1
                else {
                    "bId": str(item),
                    "operation": "create",
                    "SalesReceipt": _receipt(thread, index * 100 + item),
                }
                for item in range(batch_items)
            ]
            rid = _request_id(tag, "batch", thread, index)
            calls.append(
                Call(
                    op,
                    "POST",
                    "batch",
                    (*base, ("requestid", rid)),
                    _json({"BatchItemRequest": items}),
                    documents=batch_items,
                )
            )
    return calls


# --- client ---------------------------------------------------------------------------------


def _session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
    session.mount("http://", adapter)
    return session


def obtain_token(base_url: str) -> str:
    """OAuth refresh grant with the seed's demo credentials and the realm's refresh token."""
    realms = requests.get(f"{base_url}/__admin/realms", timeout=10).json()["realms"]
    refresh_token = next(r["refresh_token"] for r in realms if r["realm_id"] == CA_REALM)
    credentials = demo_credentials(SEED)
    basic = base64.b64encode(
        f"{credentials.client_id}:{credentials.client_secret}".encode()
    ).decode()
    response = requests.post(
        f"{base_url}/oauth2/v1/tokens/bearer",
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def warm_up(base_url: str, headers: dict[str, str], *, emulator: bool) -> list[str]:
    """Create a few receipts sequentially (not timed); returns their Ids."""
    ids: list[str] = []
    with _session() as session:
        for index in range(WARMUP_RECEIPTS):
            response = session.post(
                f"{base_url}/v3/company/{CA_REALM}/salesreceipt",
                params={"minorversion": MINOR_VERSION},
                data=_json(_receipt(999, index)),
                headers={**headers, "Content-Type": "application/json"},
                timeout=30,
            )
            response.raise_for_status()
            if emulator:
                ids.append(str(response.json()["SalesReceipt"]["Id"]))
    return ids


@dataclass
class ThreadResult:
    """What one client thread did."""

    requests: int = 0
    documents: int = 0
    failures: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """Where the client threads send their calls."""

    base_url: str
    headers: dict[str, str]
    check_faults: bool  # the baseline answers no QuickBooks faults


def drive(
    target: Target,
    calls: list[Call],
    start: threading.Barrier,
    deadline: float,
    result: ThreadResult,
) -> None:
    """Send `calls` in order on one keep-alive session; stop early at `deadline`."""
    prefix = f"{target.base_url}/v3/company/{CA_REALM}/"
    headers = target.headers
    with _session() as session:
        start.wait()
        for call in calls:
            if time.monotonic() > deadline:
                return
            began = time.perf_counter()
            response = session.request(
                call.method,
                prefix + call.path,
                params=call.params,
                data=call.body,
                headers={**headers, "Content-Type": call.content_type}
                if call.body is not None
                else headers,
                timeout=30,
            )
            content = response.content
            result.latencies.append(time.perf_counter() - began)
            result.requests += 1
            result.documents += call.documents
            if response.status_code != HTTPStatus.OK or (
                target.check_faults and b'"Fault"' in content
            ):
                result.failures += 1


@dataclass(frozen=True)
class RunResult:
    """One server's figures."""

    kind: str
    requests: int
    documents: int
    failures: int
    seconds: float
    p50_ms: float
    p95_ms: float
    cut_by_deadline: bool

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds


def run(
    context: mp.context.SpawnContext,
    kind: str,
    args: argparse.Namespace,
    read_ids: list[str] | None,
) -> tuple[RunResult, list[str]]:
    """Start one server, warm it up, drive the workload, stop it."""
    server = start_server(context, kind)
    try:
        emulator = kind == "emulator"
        headers = {"Accept": "application/json"}
        if emulator:
            headers["Authorization"] = f"Bearer {obtain_token(server.url)}"
        else:
            headers["Authorization"] = "Bearer not-checked-by-the-baseline"
        ids = warm_up(server.url, headers, emulator=emulator)
        targets = ids or read_ids or ["1"]
        per_thread = [args.requests // args.threads] * args.threads
        for extra in range(args.requests % args.threads):
            per_thread[extra] += 1
        workloads = [
            build_workload(t, n, targets, args.batch_items, tag=f"run{args.seed_tag}")
            for t, n in enumerate(per_thread)
        ]
        results = [ThreadResult() for _ in workloads]
        barrier = threading.Barrier(args.threads + 1)
        deadline = time.monotonic() + args.deadline
        threads = [
            threading.Thread(
                target=drive,
                args=(Target(server.url, headers, emulator), calls, barrier, deadline, result),
            )
            for calls, result in zip(workloads, results, strict=True)
        ]
        for thread in threads:
            thread.start()
        barrier.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
    finally:
        server.close()
    latencies = sorted(x for r in results for x in r.latencies)
    total = sum(r.requests for r in results)
    return (
        RunResult(
            kind=kind,
            requests=total,
            documents=sum(r.documents for r in results),
            failures=sum(r.failures for r in results),
            seconds=seconds,
            p50_ms=statistics.median(latencies) * 1000 if latencies else 0.0,
            p95_ms=latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else 0.0,
            cut_by_deadline=total < args.requests,
        ),
        ids,
    )


def _row(result: RunResult, label: str) -> str:
    note = "  (cut by deadline)" if result.cut_by_deadline else ""
    return (
        f"{label:<12} {result.requests:>8} {result.documents:>6} {result.failures:>5} "
        f"{result.seconds:>8.2f} {result.requests_per_second:>8.0f} "
        f"{result.documents_per_second:>8.0f} {result.p50_ms:>7.2f} {result.p95_ms:>7.2f}{note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per server run (default 2000)"
    )
    parser.add_argument("--batch-items", type=int, default=10, help="items per batch (max 30)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of (emulator, baseline), order alternating; medians reported (default 3)",
    )
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds per run at most")
    parser.add_argument("--seed-tag", default="1", help="varies the requestids between runs")
    args = parser.parse_args()
    if not 1 <= args.batch_items <= MAX_BATCH_ITEMS:
        parser.error("--batch-items must be 1..30 (QuickBooks' batch limit)")

    context = mp.get_context("spawn")
    load_before = os.getloadavg()[0]
    runs: dict[str, list[RunResult]] = {"emulator": [], "baseline": []}
    ids: list[str] = []
    for round_number in range(args.rounds):
        # Alternate the order so that a change in the machine's load hits both servers alike.
        order = ("emulator", "baseline") if round_number % 2 == 0 else ("baseline", "emulator")
        if not ids:
            order = ("emulator", "baseline")
        for kind in order:
            result, created = run(context, kind, args, ids or None)
            ids = ids or created
            runs[kind].append(result)
    load_after = os.getloadavg()[0]

    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    print(
        f"machine: {cores} cores ({usable} usable), {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}; "
        f"1-min load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print(
        f"workload: {args.requests} requests per server run, {args.threads} client threads "
        f"(keep-alive), cycle {'/'.join(CYCLE)}, batch of {args.batch_items} items, "
        f"{args.rounds} rounds"
    )
    print(
        f"{'run':<12} {'requests':>8} {'docs':>6} {'fail':>5} {'seconds':>8} "
        f"{'req/s':>8} {'docs/s':>8} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for kind, results in runs.items():
        for number, result in enumerate(results, start=1):
            print(_row(result, f"{kind} #{number}"))
    medians = {
        kind: (
            statistics.median(r.requests_per_second for r in results),
            statistics.median(r.documents_per_second for r in results),
        )
        for kind, results in runs.items()
    }
    for kind, (rps, dps) in medians.items():
        print(f"median {kind:<9} {rps:>8.0f} requests/s {dps:>8.0f} documents/s")
    ratios = sorted(
        e.requests_per_second / b.requests_per_second
        for e, b in zip(runs["emulator"], runs["baseline"], strict=True)
    )
    print(
        f"ratio emulator / bare framework (requests/s): median of rounds "
        f"{statistics.median(ratios):.2f} (range {ratios[0]:.2f}-{ratios[-1]:.2f})"
    )


if __name__ == "__main__":
    main()
