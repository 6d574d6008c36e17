"""Every way a host can fail, on loopback, and each K-Connector plugin run against it at DEBUG.

`FailingHost` is one threaded HTTP server whose behaviour is chosen by the first path segment of
the request, so one server serves every failure mode at once: a plugin is pointed at
`host.url(mode)` as its base URL.

- `http-401`, `http-403`, `http-500`: that status, with the whole request (line, headers, body,
  also percent-decoded) echoed in a JSON body, as a proxy or a verbose server would do;
- `malformed`: 200 `application/json` with a truncated JSON body (also echoing the request);
- `timeout`: reads the request and never answers;
- `drip`: a 200 whose body arrives one byte every `DRIP_INTERVAL_SECONDS`, forever;
- `token`: an OAuth token endpoint that grants `ACCESS_TOKEN` / `ROTATED_REFRESH_TOKEN`.

Modes that need no server: `refused` (a closed loopback port), `dns` (a `.invalid` host,
RFC 6761 section 6.4: never resolves) and `tls` (an https:// URL to this plain-HTTP server).

`PluginRun` describes one plugin run (command, config, stdin); `run_plugin` runs it as a
subprocess at DEBUG (`LOGLEVEL`, read by singer-sdk's `_plugin_log_level`) and returns every byte
it printed. `secret_forms` lists every form a configured secret can travel in (as written,
percent-encoded, inside an HTTP Basic header), for grepping that output.

Speed: the settings that exist are used (WooCommerce `timeout`/`max_retries`, the target's
`request_timeout_seconds`/`max_attempts`/backoff). What is a constant in the plugin (the Shopify
tap's request timeout, tries and backoff; the target's token endpoint timeout) is lowered by the
run's `prelude`, executed in the plugin's process before its CLI starts.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

ROOT = Path(__file__).resolve().parent.parent
TARGET_INPUT = (
    ROOT / "target-quickbooks" / "tests" / "scenarios" / "orders_customers_and_failures.singer"
)
MAPPER_INPUT = ROOT / "transforms" / "tests" / "data" / "pipeline.singer"

NETWORK_MODES = ("refused", "dns", "tls", "timeout")
ANSWER_MODES = ("http-401", "http-403", "http-500", "malformed")
FAILURE_MODES = NETWORK_MODES + ANSWER_MODES
DRIP_INTERVAL_SECONDS = 0.3
# Seconds a plugin is given for one request in these runs (its read timeout and deadline).
SHORT_TIMEOUT_SECONDS = 2

# Secrets shaped like the real ones (long enough to be masked as literals too), with characters
# that change under percent-encoding, so both the raw and the encoded forms are looked for.
SHOPIFY_TOKEN = "shpat_" + "a1b2c3d4" * 4 + "+/="
WOO_KEY = "ck_" + "4f5e6d7c" * 5
WOO_SECRET = "cs_" + "9a8b7c6d" * 4 + "+/=&"
QBO_CLIENT_ID = "ABqbo" + "Client7" * 6
QBO_CLIENT_SECRET = "qboSecret+" + "z9y8x7w6" * 4
QBO_REFRESH_TOKEN = "AB11" + "refreshTok3n" * 4 + "/="
# What the emulated token endpoint grants: secrets the target holds once it has them.
ACCESS_TOKEN = "eyJhbGciOiJkaXIi" + "accessTok3n" * 5
ROTATED_REFRESH_TOKEN = "AB11" + "rotatedRefr3sh" * 4


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's
        """Quiet: the test's own output is not under test."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        mode = self.path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
        self.server.arrivals.append((self.path, time.monotonic()))
        request = f"{self.requestline}\n{self.headers}\n{body.decode('utf-8', 'replace')}"
        echo = {"message": request, "decoded": unquote_plus(request)}
        if mode == "token":
            self._send(200, json.dumps(_grant()).encode())
        elif mode.startswith("http-"):
            status = int(mode.removeprefix("http-"))
            fault = {"Fault": {"Error": [{"code": str(status), "Detail": request}]}}
            self._send(status, json.dumps({**echo, **fault, "errors": request}).encode())
        elif mode == "malformed":
            self._send(200, b'{"data": {"orders": [' + json.dumps(echo).encode())
        elif mode == "timeout":
            self.server.stopping.wait()
        elif mode == "drip":
            self._drip()
        else:
            self._send(404, b"{}")

    def _send(self, status: int, content: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(10**9))
        self.end_headers()
        self.wfile.flush()
        try:
            while not self.server.stopping.wait(DRIP_INTERVAL_SECONDS):
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:  # the plugin hung up: what the test wants
            return


def _grant() -> dict[str, Any]:
    return {
        "token_type": "bearer",
        "access_token": ACCESS_TOKEN,
        "refresh_token": ROTATED_REFRESH_TOKEN,
        "expires_in": 3600,
        "x_refresh_token_expires_in": 8726400,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stopping = threading.Event()
        self.arrivals: list[tuple[str, float]] = []  # (request path, time.monotonic())


class FailingHost:
    """The loopback server of every HTTP-level failure mode (see the module docstring)."""

    def __init__(self) -> None:
        """Bind a free loopback port (served from `start`)."""
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.port = int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Release stalled and dripping answers, then stop serving."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self, mode: str, tag: str = "") -> str:
        """The base URL that fails in `mode`; `tag` names the run in the request paths."""
        suffix = f"/{tag}" if tag else ""
        if mode == "refused":
            return f"http://127.0.0.1:{closed_port()}{suffix}"
        if mode == "dns":
            return f"https://kconnector-test.invalid{suffix}"
        if mode == "tls":
            return f"https://127.0.0.1:{self.port}/tls{suffix}"
        return f"http://127.0.0.1:{self.port}/{mode}{suffix}"

    def first_arrival(self, mode: str, tag: str = "") -> float | None:
        """When (time.monotonic) the first request below `url(mode, tag)` arrived, if one did."""
        prefix = f"/{mode}/{tag}" if tag else f"/{mode}"
        arrivals = list(self._server.arrivals)
        return next((at for path, at in arrivals if path.startswith(prefix)), None)


@dataclass(frozen=True)
class PluginRun:
    """One plugin process: what to run, its config, its stdin and the secrets it holds."""

    plugin: str
    launch: str  # Python code ending in the plugin's CLI
    config: dict[str, Any]
    secrets: tuple[str, ...]
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunOutput:
    """What a finished (or stopped) plugin process printed, and how it ended."""

    returncode: int | None
    output: bytes
    ended_at: float

    @property
    def text(self) -> str:
        """The output as text (undecodable bytes replaced)."""
        return self.output.decode("utf-8", "replace")


def secret_forms(secrets: tuple[str, ...]) -> dict[str, str]:
    """Every form in which `secrets` can appear in output, each named for the failure message."""
    forms: dict[str, str] = {}
    for index, secret in enumerate(secrets):
        forms[f"secret {index} as written"] = secret
        forms[f"secret {index} percent-encoded"] = quote(secret, safe="")
        forms[f"secret {index} form-encoded"] = quote_plus(secret)
    # An HTTP Basic header holds a pair base64-encoded (WooCommerce keys, Intuit app credentials).
    for user in secrets:
        for password in secrets:
            if user != password:
                pair = base64.b64encode(f"{user}:{password}".encode()).decode()
                forms[f"basic pair {user[:4]}…:{password[:4]}…"] = pair
    return forms


def leaked_forms(output: bytes, secrets: tuple[str, ...]) -> list[str]:
    """The names of the secret forms found in `output` (empty: none leaked)."""
    return [name for name, form in secret_forms(secrets).items() if form.encode() in output]


def run_plugin(run: PluginRun, work: Path, *, timeout: float = 90) -> RunOutput:
    """Run `run` as a subprocess at DEBUG with its config file; every byte it printed."""
    work.mkdir(parents=True, exist_ok=True)
    config_path = work / f"{run.plugin}.config.json"
    config_path.write_text(json.dumps(run.config))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MELTANO_", "TAP_", "TARGET_", "MAP_"))
    }
    env.update({"LOGLEVEL": "DEBUG", "PYTHONUNBUFFERED": "1", **run.env})
    with subprocess.Popen(
        [sys.executable, "-c", run.launch, "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=work,
        env=env,
    ) as process:
        try:
            output, _ = process.communicate(run.stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            return RunOutput(None, output, time.monotonic())
        return RunOutput(process.returncode, output, time.monotonic())


# The plugins --------------------------------------------------------------------------------

_SHOPIFY_LAUNCH = """
import functools
import tap_shopify_orders.client as client
client.ShopifyStream.timeout = {timeout}
client.MAX_TRIES = {tries}
client.retry_waits = functools.partial(client.retry_waits, base=0.05, cap=0.1)
from tap_shopify_orders.tap import TapShopifyOrders
TapShopifyOrders.cli()
"""
_WOOCOMMERCE_LAUNCH = """
from tap_woocommerce_orders.tap import TapWooCommerceOrders
TapWooCommerceOrders.cli()
"""
_TARGET_LAUNCH = """
import target_quickbooks.auth as auth
auth._TOKEN_TIMEOUT_SECONDS = {timeout}
from target_quickbooks.target import TargetQuickBooks
TargetQuickBooks.cli()
"""
_MAPPER_LAUNCH = """
from map_quickbooks.mapper import MapQuickBooks
MapQuickBooks.cli()
"""
# A start date far before any clock and a bulk threshold larger than the history: the tap pages.
_START = "2024-01-01T00:00:00Z"


def shopify_run(base_url: str, *, tries: int = 2) -> PluginRun:
    """tap-shopify-orders reading from `base_url`."""
    return PluginRun(
        plugin="tap-shopify-orders",
        launch=_SHOPIFY_LAUNCH.format(timeout=SHORT_TIMEOUT_SECONDS, tries=tries),
        config={
            "shop": "kconnector-test.myshopify.com",
            "access_token": SHOPIFY_TOKEN,
            "start_date": _START,
            "api_url": base_url,
            "bulk_threshold_days": 18_250,
        },
        secrets=(SHOPIFY_TOKEN,),
    )


def woocommerce_run(base_url: str, *, auth_method: str, max_retries: int = 1) -> PluginRun:
    """tap-woocommerce-orders reading from `base_url` with `auth_method`."""
    return PluginRun(
        plugin="tap-woocommerce-orders",
        launch=_WOOCOMMERCE_LAUNCH,
        config={
            "url": base_url,
            "consumer_key": WOO_KEY,
            "consumer_secret": WOO_SECRET,
            "auth_method": auth_method,
            "allow_insecure_http": True,
            "start_date": _START,
            "timeout": SHORT_TIMEOUT_SECONDS,
            "max_retries": max_retries,
        },
        secrets=(WOO_KEY, WOO_SECRET),
    )


def target_run(api_url: str, token_url: str, work: Path, *, max_attempts: int = 2) -> PluginRun:
    """target-quickbooks writing the scenario's first customer to `api_url`."""
    from cryptography.fernet import Fernet  # noqa: PLC0415 - the target's own dependency

    key = Fernet.generate_key().decode()
    lines = TARGET_INPUT.read_bytes().splitlines(keepends=True)
    first_record = next(i for i, line in enumerate(lines) if b'"type": "RECORD"' in line)
    return PluginRun(
        plugin="target-quickbooks",
        launch=_TARGET_LAUNCH.format(timeout=float(SHORT_TIMEOUT_SECONDS)),
        config={
            "realm_id": "9130357600000001",
            "client_id": QBO_CLIENT_ID,
            "client_secret": QBO_CLIENT_SECRET,
            "refresh_token": QBO_REFRESH_TOKEN,
            "api_url": api_url,
            "token_url": token_url,
            "database_url": f"sqlite:///{work / 'target.db'}",
            "token_encryption_key": key,
            "request_timeout_seconds": SHORT_TIMEOUT_SECONDS,
            "max_attempts": max_attempts,
            "min_backoff_seconds": 0.05,
            "max_backoff_seconds": 0.1,
            "writer_lease_wait_seconds": 0,
        },
        secrets=(
            QBO_CLIENT_ID,
            QBO_CLIENT_SECRET,
            QBO_REFRESH_TOKEN,
            key,
            ACCESS_TOKEN,
            ROTATED_REFRESH_TOKEN,
        ),
        stdin=b"".join(lines[: first_record + 1]),
    )


def mapper_run(upstream: dict[str, str]) -> PluginRun:
    """map-quickbooks mapping canonical records, then meeting a broken line, at DEBUG.

    map-quickbooks declares no secret: what could leak through it is the upstream plugins'
    configuration, which reaches every plugin's environment when an operator keeps it in the
    project's `.env` (Meltano loads that file for every plugin). `upstream` is that environment.
    """
    records = MAPPER_INPUT.read_bytes().rstrip(b"\n") + b"\n"
    return PluginRun(
        plugin="map-quickbooks",
        launch=_MAPPER_LAUNCH,
        config={},
        secrets=tuple(upstream.values()),
        stdin=records + b'{"type": "RECORD", "stream": "orders", "record": {"id": \n',
        env=upstream,
    )
