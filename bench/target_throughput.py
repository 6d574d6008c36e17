"""Documents per minute target-quickbooks writes at QuickBooks' real limits, time-scaled.

What it does (bench/RESULTS.md says how to read the figures):

1. Starts the QuickBooks Online emulator in a separate process (multiprocessing, spawn) with
   QuickBooks' real per-realm limits (500 requests/min, 40 batch requests/min, 10 concurrent,
   30 items per batch) and `--time-scale` X: a QuickBooks minute lasts 60/X seconds. Served by
   `kconnector_sandbox.runner.ServedApp` on 127.0.0.1. A fresh US realm per run.
2. Builds `--documents` map-quickbooks SalesReceipt records (the mapper's output contract: a
   Widget line whose ItemRef is by name, so the target looks it up; the store's tax as
   TxnTaxDetail.TotalTax) and feeds them to the real `TargetQuickBooks` in this process, as
   Singer messages, exactly as a pipeline would (ledger in a temporary SQLite file).
3. Two loaders, same limiter settings (the defaults: 500 requests and 40 batches per 61 s,
   scaled, 4 concurrent): `batch` (the target's default, 30 writes per batch request) and
   `naive` (the same target with `use_batch_api=false`: one POST per document).
4. Every HTTP request the target sends is timestamped on completion (a hook on
   `requests.Session.send`). Throughput is documents per scaled minute averaged over every
   one-minute window inside the run (from the first write to the last), so neither the phase
   of the target's waves against the windows nor the run's ends bias it.
5. The ceiling with the batch endpoint, per scaled minute: min(40 x 30, (500 - reads) x 30)
   documents, where `reads` are the lookup/recovery queries the target needs per minute; a batch
   counts as one request against the 500, so the batch limit binds: 1,200 documents/min unless
   reads exceed 460/min. The naive ceiling is 500 - reads documents/min.

Bounded (`--documents`, a deadline per run) and loopback only. Run from the repository root:

    .venv/bin/python bench/target_throughput.py --time-scale 5 \
        --documents 4800 --naive-documents 1800
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import platform
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import QboEmulator
from kconnector_sandbox.runner import ServedApp
from target_quickbooks.contract import schema_of
from target_quickbooks.target import TargetQuickBooks

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

BATCH_LIMIT = 40
BATCH_ITEMS = 30
REQUEST_LIMIT = 500
WIDGET_PRICE = Decimal("19.99")
US_TAX = Decimal("0.0825")
SECONDS_PER_MINUTE = 60.0
_SAMPLES = 200


def serve(time_scale: float, ready: Queue[dict[str, Any]], stop: Event) -> None:
    """Child process: the emulator at the real limits, until `stop` is set."""
    emulator = QboEmulator(SandboxOptions(seed=11, time_scale=time_scale))
    with ServedApp(emulator.app) as served:
        ready.put(
            {
                "url": served.url,
                "client_id": emulator.credentials.client_id,
                "client_secret": emulator.credentials.client_secret,
            }
        )
        stop.wait()


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def receipt(run: str, n: int) -> dict[str, Any]:
    """One map-quickbooks SalesReceipt record."""
    qty = 1 + n % 3
    subtotal = _cents(WIDGET_PRICE * qty)
    tax = _cents(subtotal * US_TAX)
    return {
        "external_id": f"shopify:bench-{run}:{n}#sales_receipt",
        "source_id": f"shopify:bench-{run}:{n}",
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "SalesReceipt",
        "operation": "upsert",
        "body": {
            "CustomerRef": {"by": "id", "value": "1"},
            "DocNumber": f"B{run[:1].upper()}{n}",
            "TxnDate": "2026-11-01",
            "PrivateNote": f"K-Connector bench order {n}",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": str(subtotal),
                    "Description": "Widget",
                    "SalesItemLineDetail": {
                        "ItemRef": {"by": "name", "value": "Widget", "on_missing": "error"},
                        "Qty": str(qty),
                        "UnitPrice": str(WIDGET_PRICE),
                        "TaxCodeRef": {"by": "id", "value": "TAX"},
                    },
                }
            ],
            "TxnTaxDetail": {"TotalTax": str(tax)},
        },
        "expected": {"currency": "USD", "total": str(subtotal + tax), "tax": str(tax)},
        "critical_fields": ["Line", "TotalAmt", "CustomerRef"],
        "links": {},
        "mapping_version": "bench",
    }


def singer_input(run: str, documents: int) -> str:
    """SCHEMA, RECORDs and one STATE, as map-quickbooks writes them."""
    lines = [
        json.dumps(
            {
                "type": "SCHEMA",
                "stream": "sales_receipts",
                "schema": schema_of("sales_receipts"),
                "key_properties": ["external_id"],
            }
        )
    ]
    lines.extend(
        json.dumps({"type": "RECORD", "stream": "sales_receipts", "record": receipt(run, n)})
        for n in range(documents)
    )
    lines.append(json.dumps({"type": "STATE", "value": {"bench": run}}))
    return "\n".join(lines) + "\n"


@dataclass
class Timeline:
    """Completion time and kind of each request the target sent."""

    events: list[tuple[float, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, documents: int) -> None:
        with self.lock:
            self.events.append((time.monotonic(), kind, documents))


def instrument(timeline: Timeline) -> None:
    """Timestamp every request `requests` sends (the target's own session included)."""
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:  # noqa: ANN401 - requests' signature
        response = original(self, request, **kwargs)
        path = (request.path_url or "").split("?")[0]
        documents = 0
        kind = "other"
        if path.endswith("/batch") and request.body:
            body = json.loads(request.body)
            items = body.get("BatchItemRequest", [])
            documents = sum(1 for item in items if "operation" in item)
            kind = "batch"
        elif path.endswith("/query"):
            kind = "read"
        elif "/v3/company/" in path and request.method == "POST":
            kind, documents = "write", 1
        timeline.record(kind, documents)
        return response

    requests.Session.send = send  # type: ignore[method-assign]


@dataclass(frozen=True)
class RunResult:
    """One loader's figures."""

    loader: str
    documents: int
    seconds: float
    per_window: float
    reads: int
    batches: int
    single_writes: int


def mean_per_window(writes: list[tuple[float, str, int]], window: float) -> float:
    """Documents written per scaled minute: the mean over every window inside the run.

    Windows [s, s + window) start at `_SAMPLES` evenly spaced instants from the first write to
    the last write minus one window; each counts the documents whose write completed inside
    it. A client at the ceiling scores the ceiling whatever its phase against the windows.
    """
    first, last = writes[0][0], writes[-1][0]
    span = last - window - first
    if span <= 0:
        return float("nan")
    total = 0
    for step in range(_SAMPLES):
        start = first + span * step / (_SAMPLES - 1)
        total += sum(n for t, _, n in writes if start <= t < start + window)
    return total / _SAMPLES


def run_loader(  # noqa: PLR0913 - the run's knobs
    loader: str,
    server: dict[str, Any],
    *,
    documents: int,
    time_scale: float,
    timeline: Timeline,
    deadline: float,
) -> RunResult:
    """Feed `documents` records to the target; return its figures (time in real seconds)."""
    realm = requests.post(f"{server['url']}/__admin/realms", json={"kind": "US"}, timeout=10)
    realm.raise_for_status()
    with tempfile.TemporaryDirectory() as folder:
        config = {
            "realm_id": realm.json()["realm_id"],
            "client_id": server["client_id"],
            "client_secret": server["client_secret"],
            "refresh_token": realm.json()["refresh_token"],
            "api_url": server["url"],
            "token_url": f"{server['url']}/oauth2/v1/tokens/bearer",
            "database_url": f"sqlite:///{Path(folder) / 'state.db'}",
            "rate_limit_window_seconds": 61.0 / time_scale,
            "use_batch_api": loader == "batch",
            "request_timeout_seconds": 30.0,
            "allow_plaintext_tokens": True,  # the sandbox emulator's tokens
        }
        target = TargetQuickBooks(config=config)
        text = singer_input(loader, documents)
        timeline.events.clear()
        started = time.monotonic()
        worker = threading.Thread(target=target.listen, args=(io.StringIO(text),), daemon=True)
        worker.start()
        worker.join(deadline)
        if worker.is_alive():
            msg = f"{loader}: cut by the {deadline:.0f} s deadline"
            raise SystemExit(msg)
        elapsed = time.monotonic() - started
    events = sorted(timeline.events)
    writes = [e for e in events if e[1] in {"batch", "write"}]
    window = SECONDS_PER_MINUTE / time_scale
    return RunResult(
        loader=loader,
        documents=sum(e[2] for e in writes),
        seconds=elapsed,
        per_window=mean_per_window(writes, window),
        reads=sum(1 for e in events if e[1] == "read"),
        batches=sum(1 for e in events if e[1] == "batch"),
        single_writes=sum(1 for e in events if e[1] == "write"),
    )


def main() -> None:
    """Run both loaders against one emulator process and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=5.0)
    parser.add_argument("--documents", type=int, default=4800, help="batch loader documents")
    parser.add_argument("--naive-documents", type=int, default=1800)
    parser.add_argument("--deadline", type=float, default=240.0, help="seconds per run")
    args = parser.parse_args()
    context = mp.get_context("spawn")
    ready: Queue[dict[str, Any]] = context.Queue()
    stop = context.Event()
    process = context.Process(target=serve, args=(args.time_scale, ready, stop), name="qbo")
    process.start()
    timeline = Timeline()
    instrument(timeline)
    load_before = os.getloadavg()[0]
    try:
        server = ready.get(timeout=60)
        results = [
            run_loader(
                loader,
                server,
                documents=count,
                time_scale=args.time_scale,
                timeline=timeline,
                deadline=args.deadline,
            )
            for loader, count in (("batch", args.documents), ("naive", args.naive_documents))
        ]
    finally:
        stop.set()
        process.join(10)
    load_after = os.getloadavg()[0]
    window_minutes = args.time_scale  # scaled minutes per real minute
    print(
        f"time_scale {args.time_scale} (a QuickBooks minute = {60 / args.time_scale:.1f} s); "
        f"cores {os.cpu_count()}; CPython {platform.python_version()}; "
        f"load {load_before:.2f} -> {load_after:.2f}"
    )
    print(
        "loader  docs  real_s  QBO-min  batches  single  reads  reads/QBO-min  docs/QBO-min"
        "  ceiling  ratio"
    )
    for result in results:
        minutes = result.seconds * window_minutes / SECONDS_PER_MINUTE
        reads_per_minute = result.reads / minutes
        if result.loader == "batch":
            ceiling = min(BATCH_LIMIT * BATCH_ITEMS, (REQUEST_LIMIT - reads_per_minute) * 30)
        else:
            ceiling = REQUEST_LIMIT - reads_per_minute
        print(
            f"{result.loader:6} {result.documents:5} {result.seconds:7.1f} {minutes:8.2f}"
            f" {result.batches:8} {result.single_writes:7} {result.reads:6}"
            f" {reads_per_minute:14.1f} {result.per_window:13.0f} {ceiling:8.0f}"
            f" {result.per_window / ceiling:6.3f}"
        )


if __name__ == "__main__":
    main()
