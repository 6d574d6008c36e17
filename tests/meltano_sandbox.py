"""The end-to-end harness: the three emulators in-process and real `meltano run` subprocesses.

`meltano.yml`'s `demo` environment points every plugin at the sandbox on fixed ports; a test
overrides the URLs and databases through Meltano's environment variables (which take precedence
over `meltano.yml`), so each test gets free ports, its own Meltano system database (state) and its
own target store.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import build as build_qbo
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.shopify import build as build_shopify
from kconnector_sandbox.woocommerce import build as build_woocommerce

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".tools" / "meltano" / "bin" / "meltano"
US_REALM = "9130357600000001"
SHOP = "kconnector-us.myshopify.com"
RUN_TIMEOUT_SECONDS = 300


@dataclass
class Sandbox:
    """The three emulators, served on free loopback ports."""

    orders: int
    seed: int = 0
    time_scale: float = 60.0
    qbo_faults: str = ""
    store_faults: str = ""
    servers: dict[str, ServedApp] = field(default_factory=dict)
    emulators: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        """Build and serve the emulators."""
        from kconnector_sandbox.faults import FaultPlan  # noqa: PLC0415

        store = SandboxOptions(
            seed=self.seed,
            orders=self.orders,
            time_scale=self.time_scale,
            faults=FaultPlan.parse(self.store_faults, seed=self.seed),
        )
        qbo = SandboxOptions(
            seed=self.seed,
            orders=self.orders,
            time_scale=self.time_scale,
            faults=FaultPlan.parse(self.qbo_faults, seed=self.seed),
        )
        self.emulators = {
            "qbo": build_qbo(qbo),
            "shopify": build_shopify(store),
            "woocommerce": build_woocommerce(store),
        }
        for name, emulator in self.emulators.items():
            server = ServedApp(emulator.app)
            server.start()
            self.servers[name] = server

    def stop(self) -> None:
        """Stop the servers (and the WooCommerce webhook thread)."""
        for server in self.servers.values():
            server.stop()
        close = getattr(self.emulators.get("woocommerce"), "close", None)
        if close is not None:
            close()

    def url(self, name: str) -> str:
        """Base URL of one emulator."""
        return self.servers[name].url

    def qbo_documents(self, entity: str, realm: str = US_REALM) -> list[dict[str, Any]]:
        """Every stored document of one QuickBooks entity, as the emulator holds it."""
        response = requests.get(
            f"{self.url('qbo')}/__admin/realms/{realm}/entities/{entity}", timeout=30
        )
        response.raise_for_status()
        body = response.json()
        documents: list[dict[str, Any]] = body[entity] if isinstance(body, dict) else body
        return documents

    def qbo_requests(self) -> dict[str, Any]:
        """The QuickBooks emulator's request log summary."""
        response = requests.get(f"{self.url('qbo')}/__admin/requests", timeout=30)
        response.raise_for_status()
        summary: dict[str, Any] = response.json()
        return summary


@dataclass
class MeltanoProject:
    """This repository's Meltano project, isolated per test by environment variables."""

    sandbox: Sandbox
    work: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def target_database(self) -> Path:
        """The target's store for this test."""
        return self.work / "target.db"

    def env(self) -> dict[str, str]:
        """Process environment for `meltano` pointing the demo environment at this sandbox."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MELTANO_", "TAP_", "TARGET_", "MAP_"))
        }
        env.update(
            {
                "MELTANO_ENVIRONMENT": "demo",
                "MELTANO_DATABASE_URI": f"sqlite:///{self.work / 'meltano.db'}",
                "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "TAP_SHOPIFY_ORDERS_API_URL": f"{self.sandbox.url('shopify')}/shops/{SHOP}",
                "TAP_WOOCOMMERCE_ORDERS_URL": self.sandbox.url("woocommerce"),
                "TARGET_QUICKBOOKS_API_URL": self.sandbox.url("qbo"),
                "TARGET_QUICKBOOKS_TOKEN_URL": (
                    f"{self.sandbox.url('qbo')}/oauth2/v1/tokens/bearer"
                ),
                "TARGET_QUICKBOOKS_DATABASE_URL": f"sqlite:///{self.target_database}",
            }
        )
        env.update(self.extra_env)
        return env

    def run(
        self, job: str, *, timeout: float = RUN_TIMEOUT_SECONDS
    ) -> subprocess.CompletedProcess[str]:
        """`meltano run <job>`; output kept for assertions."""
        return subprocess.run(
            [str(MELTANO), "run", job],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def ensure_plugins_installed() -> None:
    """`meltano install` (idempotent): every plugin into its own virtualenv under .meltano/."""
    if not MELTANO.exists():
        msg = f"{MELTANO} is missing: run the tests through `make test`, which installs Meltano"
        raise RuntimeError(msg)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    env["MELTANO_CLI_DISABLE_VERSION_CHECK"] = "true"
    completed = subprocess.run(
        [str(MELTANO), "install"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0:
        msg = f"meltano install failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
        raise RuntimeError(msg)
