"""The receiver's sustained Shopify webhooks per second, beside a bare Starlette endpoint.

Both run the same way (one uvicorn process each, started in turn, never together) and get the
same client load: `CLIENTS` threads, each with its own keep-alive session, posting signed
orders/create deliveries with unique event ids for `SECONDS` seconds. The receiver verifies the
HMAC, dedupes and stores each delivery in SQLite before its 200 (`serve --no-dispatch`: no run
starts); the bare endpoint answers 200 to the same request. The client shares the machine's
cores with the server, so both figures are lower than a dedicated client would see; the ratio
is the point.

    .venv/bin/python bench/bench_realtime.py
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RECEIVER = ROOT / ".venv" / "bin" / "kconnector-realtime"
SECRET = "bench_realtime_shopify_secret"  # noqa: S105 - a made-up secret of this bench
SHOP = "kconnector-us.myshopify.com"
CLIENTS = 8
SECONDS = 10.0
BARE_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def ok(request):
    await request.body()
    return Response(status_code=200)

async def healthz(request):
    return Response(status_code=200)

app = Starlette(routes=[Route("/webhooks/shopify", ok, methods=["POST"]),
                        Route("/healthz", healthz)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:  # noqa: PLR2004
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    msg = f"{url} did not become healthy"
    raise RuntimeError(msg)


def _load(url: str) -> tuple[float, int]:
    """Deliveries per second answered 200 over `SECONDS`, and the non-200 answers."""
    body = json.dumps({"id": 1, "name": "#1001", "total_price": "10.00"}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    counts = [0, 0]
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client() -> None:
        session = requests.Session()
        ok = bad = 0
        while time.monotonic() < stop:
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-Event-Id": uuid.uuid4().hex,
                "X-Shopify-Webhook-Id": uuid.uuid4().hex,
                "X-Shopify-Hmac-Sha256": signature,
            }
            status = session.post(
                f"{url}/webhooks/shopify", data=body, headers=headers, timeout=30
            ).status_code
            if status == 200:  # noqa: PLR2004
                ok += 1
            else:
                bad += 1
        with lock:
            counts[0] += ok
            counts[1] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts[0] / (time.monotonic() - started), counts[1]


def _measure(argv: list[str], env: dict[str, str], port: int) -> tuple[float, int]:
    process = subprocess.Popen(  # noqa: S603 - our own commands
        argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url)
        return _load(url)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    """Measure both servers in turn and print them side by side."""
    with tempfile.TemporaryDirectory() as work:
        env = {
            **os.environ,
            "KCONNECTOR_REALTIME_DATABASE_URL": f"sqlite:///{Path(work) / 'queue.db'}",
            "KCONNECTOR_REALTIME_SHOPIFY_CLIENT_SECRET": SECRET,
            "KCONNECTOR_REALTIME_STORES": (
                f'[[stores]]\nstore = "shopify:{SHOP}"\nrealm_id = "9130357600000001"\n'
            ),
        }
        port = _free_port()
        receiver, receiver_bad = _measure(
            [str(RECEIVER), "serve", "--no-dispatch", "--port", str(port)], env, port
        )
        port = _free_port()
        bare, bare_bad = _measure([sys.executable, "-c", BARE_APP, str(port)], env, port)
    print(f"cores: {os.cpu_count()}, clients: {CLIENTS}, seconds each: {SECONDS:g}")
    print(
        f"receiver webhooks/s: {receiver:.0f} (non-200: {receiver_bad})  "
        f"bare Starlette: {bare:.0f} (non-200: {bare_bad})  ratio {receiver / bare:.2f}"
    )


if __name__ == "__main__":
    main()
