"""Latency from order creation in the Shopify emulator to its QuickBooks document (p50/p95).

The sandbox's three emulators, a `kconnector-realtime serve` with its default settings (debounce
1 s, max delay 60 s, two runs per store started ahead) and the Shopify webhooks registered
through the subscription API; `--orders` orders are created at the gaps of `GAPS` in turn (some
closer than a run, so they arrive while one is in progress), and each one's QuickBooks document
is watched for (the QuickBooks emulator's admin listing, polled every 0.1 s). Extra arguments
after `--` go to `serve` (e.g. `-- --standby-runs 0 --debounce-seconds 5`: the old defaults).

Also from the receiver's log: the webhook (creation -> stored), each run's time from its start
(or release) to its end, and each standby's start-up (started -> its tap waiting).

    .venv/bin/python bench/bench_realtime_latency.py [--orders 20] [-- serve options...]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from meltano_sandbox import (  # noqa: E402
    MELTANO,
    SHOP,
    US_REALM,
    MeltanoProject,
    Sandbox,
    ensure_plugins_installed,
)

from kconnector_realtime.subscriptions import ShopifySubscriptions  # noqa: E402
from kconnector_sandbox.shopify.webhook_subscriptions import APP_CLIENT_SECRET  # noqa: E402

# Seconds between two orders, in turn: 1.5 s lands during the previous order's run.
GAPS = (1.5, 3.0, 7.0, 12.0)
WAIT = 300.0
PRIMARY = ("SalesReceipt", "Invoice")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _numbers(sandbox: Sandbox) -> set[str]:
    return {
        str(document.get("DocNumber"))
        for entity in PRIMARY
        for document in sandbox.qbo_documents(entity)
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _aware(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _queue_times(database: Path) -> dict[str, tuple[float, float | None]]:
    """Each order's (stored, last claimed) wall times, from its orders/create event."""
    engine = sa.create_engine(f"sqlite:///{database}")
    query = sa.text(
        "SELECT resource_id, received_at, claimed_at FROM realtime_events "
        "WHERE topic = 'orders/create'"
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    engine.dispose()
    parse = datetime.fromisoformat
    return {
        str(row.resource_id): (
            _aware(parse(str(row.received_at))),
            _aware(parse(str(row.claimed_at))) if row.claimed_at else None,
        )
        for row in rows
    }


def _seconds(line: str) -> float:
    """The `seconds=` figure of a dispatcher log line."""
    return float(line.split("seconds=", 1)[1].split(maxsplit=1)[0])


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    return (
        f"{name}: p50 {statistics.median(values):.1f} s  p95 {_percentile(values, 0.95):.1f} s"
        f"  max {max(values):.1f} s"
    )


def main() -> None:  # noqa: PLR0915 - one measured scenario, read top to bottom
    """Create the orders, time each one to QuickBooks, print p50/p95 and the breakdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--keep-log", type=Path, help="copy the receiver's log there")
    parser.add_argument("serve_options", nargs="*")
    options = parser.parse_args()
    ensure_plugins_installed()
    sandbox = Sandbox(orders=3)
    sandbox.start()
    with tempfile.TemporaryDirectory() as work:
        project = MeltanoProject(sandbox=sandbox, work=Path(work), private_run_dir=True)
        port = _free_port()
        env = {
            **project.env(),
            "KCONNECTOR_REALTIME_DATABASE_URL": f"sqlite:///{project.target_database}",
            "KCONNECTOR_REALTIME_STORES": (
                f'[[stores]]\nstore = "shopify:{SHOP}"\nrealm_id = "{US_REALM}"\n'
            ),
            "KCONNECTOR_REALTIME_SHOPIFY_CLIENT_SECRET": APP_CLIENT_SECRET,
            "KCONNECTOR_REALTIME_MELTANO": str(MELTANO),
        }
        subprocess.run(  # noqa: S603 - our own command
            [str(MELTANO), "state", "list"], cwd=ROOT, env=env, capture_output=True, check=True
        )
        log_path = Path(work) / "receiver.log"
        with log_path.open("wb") as log:
            receiver = subprocess.Popen(  # noqa: S603 - our own command
                [
                    str(ROOT / ".venv" / "bin" / "kconnector-realtime"),
                    "serve",
                    "--port",
                    str(port),
                    *options.serve_options,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        created: dict[str, tuple[str, float]] = {}  # number -> (order id, wall time)
        latencies: dict[str, float] = {}
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"{url}/healthz", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
            profile = sandbox.emulators["shopify"].shop(SHOP).profile
            ShopifySubscriptions(
                f"{sandbox.url('shopify')}/shops/{SHOP}", profile.access_token, requests.Session()
            ).register(f"{url}/webhooks/shopify")
            # The receiver's own start-up (its first runs started ahead) is not an order's
            # latency: the first order comes once the receiver has run a minute, as in service.
            time.sleep(60)
            gaps = itertools.cycle(GAPS)
            next_order = time.time()
            deadline = time.monotonic() + options.orders * max(GAPS) + WAIT
            while len(latencies) < options.orders and time.monotonic() < deadline:
                now = time.time()
                if len(created) < options.orders and now >= next_order:
                    order = requests.post(
                        f"{sandbox.url('shopify')}/__admin/{SHOP}/orders", json={}, timeout=30
                    ).json()
                    number = "SH-" + str(order["name"]).lstrip("#")
                    created[number] = (str(order["id"]), now)
                    next_order = now + next(gaps)
                present = _numbers(sandbox)
                seen = time.time()
                for number, (_id, at) in created.items():
                    if number in present and number not in latencies:
                        latencies[number] = seen - at
                time.sleep(0.1)
            load = os.getloadavg()
        finally:
            receiver.terminate()
            receiver.wait(timeout=60)
            sandbox.stop()
        queued = _queue_times(project.target_database)
        text = log_path.read_text(errors="replace")
        if options.keep_log:
            options.keep_log.write_text(text)
    webhook = [queued[order_id][0] - at for order_id, at in created.values() if order_id in queued]
    dispatcher = [line for line in text.splitlines() if "kconnector_realtime.dispatcher" in line]
    runs = [_seconds(line) for line in dispatcher if "event=run_finished" in line]
    warm_ups = [_seconds(line) for line in dispatcher if "event=standby_ready" in line]
    values = list(latencies.values())
    print(f"serve options: {' '.join(options.serve_options) or '(defaults)'}")
    print(f"orders: {options.orders} created at gaps {GAPS} s, delivered: {len(values)}")
    print(_summary("latency", values))
    print(_summary("webhook (created -> stored)", webhook))
    print(_summary("run (started or released -> process ended)", runs))
    print(_summary("standby start-up (started -> tap waiting)", warm_ups))
    released = sum("event=standby_released" in line for line in dispatcher)
    started = sum("event=run_started" in line for line in dispatcher)
    print(f"runs: {started}, of which standbys released: {released}")
    averages = " ".join(f"{value:.2f}" for value in load)
    print(f"load average at the end: {averages} ({os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()
