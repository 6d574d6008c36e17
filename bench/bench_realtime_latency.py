"""Latency from order creation in the Shopify emulator to its QuickBooks document (p50/p95).

The sandbox's three emulators, a `kconnector-realtime serve` with its default settings (debounce
5 s, max delay 60 s) and the Shopify webhooks registered through the subscription API; `ORDERS`
orders are created `SPACING` seconds apart, and each one's QuickBooks document is watched for
(the QuickBooks emulator's admin listing, polled every 0.25 s).

    .venv/bin/python bench/bench_realtime_latency.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

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

ORDERS = 8
SPACING = 6.0
WAIT = 300.0
PRIMARY = ("SalesReceipt", "Invoice")


def _free_port() -> int:
    import socket  # noqa: PLC0415

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


def main() -> None:
    """Create the orders, time each one to QuickBooks, print p50/p95."""
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
        receiver = subprocess.Popen(  # noqa: S603 - our own command
            [str(ROOT / ".venv" / "bin" / "kconnector-realtime"), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
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
            created: dict[str, float] = {}
            latencies: dict[str, float] = {}
            next_order = time.monotonic()
            deadline = time.monotonic() + ORDERS * SPACING + WAIT
            while len(latencies) < ORDERS and time.monotonic() < deadline:
                now = time.monotonic()
                if len(created) < ORDERS and now >= next_order:
                    order = requests.post(
                        f"{sandbox.url('shopify')}/__admin/{SHOP}/orders", json={}, timeout=30
                    ).json()
                    created["SH-" + str(order["name"]).lstrip("#")] = now
                    next_order = now + SPACING
                present = _numbers(sandbox)
                seen = time.monotonic()
                for number, at in created.items():
                    if number in present and number not in latencies:
                        latencies[number] = seen - at
                time.sleep(0.25)
        finally:
            receiver.terminate()
            receiver.wait(timeout=30)
            sandbox.stop()
    values = list(latencies.values())
    print(f"orders: {ORDERS} created {SPACING:g} s apart, delivered: {len(values)}")
    if values:
        print(
            f"latency p50: {statistics.median(values):.1f} s"
            f"  p95: {_percentile(values, 0.95):.1f} s  max: {max(values):.1f} s"
        )


if __name__ == "__main__":
    main()
