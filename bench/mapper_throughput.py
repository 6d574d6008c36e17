"""Records per second through the mapper alone (`map_quickbooks.mapping.map_record`).

What it does (bench/RESULTS.md says how to read the figures):

1. Produces canonical records from the seeded stores: the Shopify emulator's US and CA shops and
   the WooCommerce emulator's US store, each served on 127.0.0.1 in this process, read by the
   real tap executables (`tap-shopify-orders`, `tap-woocommerce-orders`) as subprocesses. This
   part is not timed.
2. Maps every `orders` and `refunds` record with `map_record(record, stream, settings)`, the
   pure function the Singer mapper calls (no I/O, no Singer messages), `--rounds` times over
   the whole set, with the settings each store needs (US: defaults; CA: `tax_codes`).
3. Reports records/s and documents/s (output records that are QuickBooks documents or
   customers; dead letters are counted apart), single-threaded, and the ratio of documents per
   minute to QuickBooks' ceiling of 1,200 documents per minute per company (40 batch requests of
   30 operations: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles).

Bounded by `--orders` per store and `--rounds`. Loopback only. Run from the repository root:

    .venv/bin/python bench/mapper_throughput.py --orders 150 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kconnector_sandbox import shopify, woocommerce
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.woocommerce.api_keys import Permission
from map_quickbooks.mapping import map_record
from map_quickbooks.rules import Settings

BIN = Path(sys.executable).parent
QBO_CEILING_PER_MINUTE = 40 * 30
CA_TAX_CODES = {
    "GST 5%": "GST",
    "GST 5% + PST 7%": "GST/PST BC",
    "HST 13%": "HST ON",
    "GST 5% + QST 9.975%": "GST/QST QC",
}
Workload = list[tuple[str, dict[str, Any], Settings]]


def _tap_records(tap: str, config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(config, file)
    try:
        completed = subprocess.run(  # noqa: S603 - our own executable and config file
            [str(BIN / tap), "--config", file.name],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    finally:
        Path(file.name).unlink()
    records = []
    for line in completed.stdout.splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD" and message["stream"] in {"orders", "refunds"}:
            records.append((message["stream"], message["record"]))
    return records


def canonical_workload(orders: int) -> Workload:
    """(stream, record, settings) from the seeded stores, as the taps emit them."""
    us = Settings.from_config({})
    ca = Settings.from_config({"tax_mode": "tax_codes", "tax_code_map": CA_TAX_CODES})
    workload: Workload = []
    options = SandboxOptions(seed=7, orders=orders)
    store = shopify.build(options)
    with ServedApp(store.app) as served:
        for shop_key, settings in (("us", us), ("ca", ca)):
            shop = store.shop(shop_key).profile
            config: dict[str, Any] = {
                "shop": shop.domain,
                "access_token": shop.access_token,
                "start_date": "2020-01-01T00:00:00Z",
                "api_url": f"{served.url}/shops/{shop.domain}",
            }
            for stream, record in _tap_records("tap-shopify-orders", config):
                workload.append((stream, record, settings))
    woo = woocommerce.build(SandboxOptions(seed=0, orders=orders))
    with ServedApp(woo.app) as served:
        api_key = woo.key_with(Permission.READ)
        woo_config: dict[str, Any] = {
            "url": served.url,
            "consumer_key": api_key.consumer_key,
            "consumer_secret": api_key.consumer_secret,
            "start_date": "2020-01-01T00:00:00Z",
            "allow_insecure_http": True,
        }
        for stream, record in _tap_records("tap-woocommerce-orders", woo_config):
            workload.append((stream, record, us))
    return workload


def map_all(workload: Workload) -> tuple[float, int, int]:
    """Seconds, documents and dead letters for one pass over the workload."""
    documents = dead_letters = 0
    started = time.perf_counter()
    for stream, record, settings in workload:
        for output in map_record(record, stream, settings):  # type: ignore[arg-type]
            if output.stream == "dead_letters":
                dead_letters += 1
            else:
                documents += 1
    return time.perf_counter() - started, documents, dead_letters


def main() -> None:
    """Build the workload, map it `--rounds` times, print the median figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=150, help="orders per seeded store")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workload = canonical_workload(args.orders)
    map_all(workload[:50])  # warm-up (imports, caches), not timed
    load_before = os.getloadavg()[0]
    runs = [map_all(workload) for _ in range(args.rounds)]
    load_after = os.getloadavg()[0]
    seconds = statistics.median(run[0] for run in runs)
    _, documents, dead_letters = runs[0]
    records_per_second = len(workload) / seconds
    documents_per_second = documents / seconds
    ratio = documents_per_second * 60 / QBO_CEILING_PER_MINUTE
    print(
        f"records {len(workload)} (orders and refunds of 3 stores x {args.orders} orders), "
        f"documents {documents}, dead letters {dead_letters}, rounds {args.rounds}\n"
        f"median pass {seconds:.3f} s (range {min(r[0] for r in runs):.3f}-"
        f"{max(r[0] for r in runs):.3f})\n"
        f"records/s {records_per_second:,.0f}; documents/s {documents_per_second:,.0f}; "
        f"documents/min {documents_per_second * 60:,.0f} = {ratio:,.0f} x the QuickBooks "
        f"ceiling of {QBO_CEILING_PER_MINUTE:,}/min\n"
        f"single thread; cores {os.cpu_count()}; CPython {platform.python_version()}; "
        f"load {load_before:.2f} -> {load_after:.2f}"
    )


if __name__ == "__main__":
    main()
