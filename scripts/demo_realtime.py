"""`make demo-realtime`: an order created in each store emulator reaches QuickBooks by webhook.

1. installs the Meltano plugins (idempotent) and starts the sandbox (as `make demo` does),
2. starts the receiver through Meltano (`meltano invoke kconnector-realtime:serve`),
3. registers the stores' webhooks for it (`kconnector-realtime subscriptions register`),
4. creates one order in the Shopify emulator and one in the WooCommerce emulator, and waits for
   their documents in the QuickBooks emulator: no scheduled run, only the webhook path,
5. prints the receiver's counters, then stops everything.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import yaml

os.environ.setdefault("DEMO_ORDERS", "20")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo
from demo import (
    MELTANO,
    PORTS,
    ROOT,
    install_plugins,
    meltano_env,
    say,
    start_sandbox,
    stop_sandbox,
)

from kconnector_sandbox.shopify.webhook_subscriptions import APP_CLIENT_SECRET

RECEIVER_PORT = 8710
RECEIVER = f"http://127.0.0.1:{RECEIVER_PORT}"
SHOP = "kconnector-us.myshopify.com"
REALM = "9130357600000001"
# The sandbox's public demo values: they open nothing but the sandbox.
WOOCOMMERCE_SECRET = "kconnector-demo-webhook-secret"  # noqa: S105 - public sandbox value
VERIFIER_TOKEN = "kconnector-demo-verifier-token"  # noqa: S105 - public sandbox value
WAIT_SECONDS = 600


def _demo_config() -> dict[str, dict[str, Any]]:
    """The demo environment's plugin settings from meltano.yml (store credentials)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    demo = next(e for e in project["environments"] if e["name"] == "demo")
    plugins = demo["config"]["plugins"]
    return {p["name"]: p.get("config", {}) for kind in plugins.values() for p in kind}


def receiver_env(work: Path) -> dict[str, str]:
    """Meltano's demo environment plus the receiver's settings and the stores' credentials.

    The target's store is a fresh one under `work` (as the QuickBooks company is): `make demo`'s
    ledger and company are left alone, and the new orders are new to QuickBooks.
    """
    config = _demo_config()
    shopify, woocommerce = config["tap-shopify-orders"], config["tap-woocommerce-orders"]
    routes = (
        f'[[stores]]\nstore = "shopify:{SHOP}"\nrealm_id = "{REALM}"\n'
        f'[[stores]]\nstore = "woocommerce:127.0.0.1"\nrealm_id = "{REALM}"\n'
    )
    database = f"sqlite:///{work / 'target.db'}"
    return {
        **meltano_env(),
        "TARGET_QUICKBOOKS_DATABASE_URL": database,
        "KCONNECTOR_REALTIME_DATABASE_URL": database,
        "KCONNECTOR_REALTIME_PORT": str(RECEIVER_PORT),
        "KCONNECTOR_REALTIME_STORES": routes,
        "KCONNECTOR_REALTIME_DEBOUNCE_SECONDS": "2",
        "KCONNECTOR_REALTIME_MELTANO": str(MELTANO),
        "KCONNECTOR_REALTIME_SHOPIFY_CLIENT_SECRET": APP_CLIENT_SECRET,
        "KCONNECTOR_REALTIME_WOOCOMMERCE_SECRET": WOOCOMMERCE_SECRET,
        "KCONNECTOR_REALTIME_QUICKBOOKS_VERIFIER_TOKEN": VERIFIER_TOKEN,
        "TAP_SHOPIFY_ORDERS_ACCESS_TOKEN": str(shopify["access_token"]),
        "TAP_WOOCOMMERCE_ORDERS_CONSUMER_KEY": str(woocommerce["consumer_key"]),
        "TAP_WOOCOMMERCE_ORDERS_CONSUMER_SECRET": str(woocommerce["consumer_secret"]),
    }


def start_receiver(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`meltano invoke kconnector-realtime:serve`; wait for /healthz."""
    say(f"Starting the receiver on {RECEIVER} (meltano invoke kconnector-realtime:serve).")
    log = (ROOT / ".meltano" / "realtime.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own project's meltano
        [str(MELTANO), "invoke", "kconnector-realtime:serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{RECEIVER}/healthz", timeout=2).ok:
                return process
        except requests.RequestException:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    say("The receiver did not start; see .meltano/realtime.log")
    raise SystemExit(1)


def register(env: dict[str, str], platform: str, store_url: str) -> None:
    """`meltano invoke kconnector-realtime subscriptions register ...` for one store."""
    completed = subprocess.run(  # noqa: S603 - our own project's meltano
        [
            str(MELTANO),
            "invoke",
            "kconnector-realtime",
            "subscriptions",
            "register",
            platform,
            "--store-url",
            store_url,
            "--public-url",
            f"{RECEIVER}/webhooks/{platform}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    last = (completed.stdout.strip().splitlines() or ["(no output)"])[-1]
    say(f"  {platform}: {last}")
    if completed.returncode != 0:
        say(completed.stderr[-2000:])
        raise SystemExit(1)


def documents(doc_number: str) -> list[dict[str, Any]]:
    """The QuickBooks emulator's sales documents with this DocNumber."""
    found = []
    for entity in ("SalesReceipt", "Invoice"):
        url = f"http://127.0.0.1:{PORTS['qbo']}/__admin/realms/{REALM}/entities/{entity}"
        body = requests.get(url, timeout=30).json()
        rows = body[entity] if isinstance(body, dict) else body
        found.extend(d for d in rows if d.get("DocNumber") == doc_number)
    return found


def wait_idle() -> dict[str, Any]:
    """The receiver's /healthz once no event is queued or claimed (the runs have ended)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        health: dict[str, Any] = requests.get(f"{RECEIVER}/healthz", timeout=10).json()
        queue = health["queue"]
        if (queue["queued"] == 0 and queue["claimed"] == 0) or time.monotonic() > deadline:
            return health
        time.sleep(1)


def main() -> int:
    """Run the demo; 0 when both orders reached QuickBooks."""
    install_plugins()
    work = ROOT / ".meltano" / "realtime-demo"
    shutil.rmtree(work, ignore_errors=True)  # a fresh start each time
    work.mkdir(parents=True)
    demo.STATE_DIR = work / "sandbox"  # a QuickBooks company of its own, not make demo's
    sandbox = start_sandbox()
    receiver: subprocess.Popen[bytes] | None = None
    try:
        env = receiver_env(work)
        receiver = start_receiver(env)
        say("Registering the webhooks (idempotent):")
        register(env, "shopify", f"http://127.0.0.1:{PORTS['shopify']}/shops/{SHOP}")
        register(env, "woocommerce", f"http://127.0.0.1:{PORTS['woocommerce']}")
        shopify = requests.post(
            f"http://127.0.0.1:{PORTS['shopify']}/__admin/{SHOP}/orders", json={}, timeout=30
        ).json()
        woo = requests.post(
            f"http://127.0.0.1:{PORTS['woocommerce']}/__admin/orders",
            json={"status": "processing"},
            timeout=30,
        ).json()
        wanted = {
            "Shopify " + shopify["name"]: "SH-" + shopify["name"].lstrip("#"),
            f"WooCommerce #{woo['number']}": f"WC-{woo['number']}",
        }
        started = time.monotonic()
        say(f"Created {' and '.join(wanted)}; waiting for QuickBooks (no scheduled run)...")
        pending = dict(wanted)
        while pending and time.monotonic() - started < WAIT_SECONDS:
            for label, number in list(pending.items()):
                if documents(number):
                    say(
                        f"  {label} -> QuickBooks {number} after {time.monotonic() - started:.0f} s"
                    )
                    del pending[label]
            time.sleep(1)
        health = wait_idle()
        say(f"Receiver counters: {health['counters']}")
        say(f"Queue: {health['queue']}")
        if pending:
            say(f"Not in QuickBooks yet: {', '.join(pending)}; see .meltano/realtime.log")
            return 1
        say("Both orders reached QuickBooks through the webhook path.")
        return 0
    finally:
        if receiver is not None and receiver.poll() is None:
            os.killpg(receiver.pid, signal.SIGTERM)
            receiver.wait(timeout=60)
        stop_sandbox(sandbox)


if __name__ == "__main__":
    raise SystemExit(main())
