"""The end-to-end harness: the three emulators in-process and real `meltano run` subprocesses.

`meltano.yml`'s `demo` environment points every plugin at the sandbox on fixed ports; a test
overrides the URLs and databases through Meltano's environment variables (which take precedence
over `meltano.yml`), so each test gets free ports, its own Meltano system database (state) and its
own target store.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests
from cryptography.fernet import Fernet

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.qbo import build as build_qbo
from kconnector_sandbox.qbo.admin_client import strict_report
from kconnector_sandbox.runner import ServedApp
from kconnector_sandbox.shopify import build as build_shopify
from kconnector_sandbox.woocommerce import build as build_woocommerce

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".tools" / "meltano" / "bin" / "meltano"
# The folders meltano.yml's plugins install in editable mode (their `pip_url`s).
PLUGIN_PACKAGE_FOLDERS = (
    "canonical",
    "tap-shopify-orders",
    "tap-woocommerce-orders",
    "transforms",
    "target-quickbooks",
    "realtime",
)
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
    fault_seed: int | None = None  # seed of the fault sequences; the data seed when None
    servers: dict[str, ServedApp] = field(default_factory=dict)
    emulators: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        """Build and serve the emulators."""
        from kconnector_sandbox.faults import FaultPlan  # noqa: PLC0415

        fault_seed = self.seed if self.fault_seed is None else self.fault_seed
        store = SandboxOptions(
            seed=self.seed,
            orders=self.orders,
            time_scale=self.time_scale,
            faults=FaultPlan.parse(self.store_faults, seed=fault_seed),
        )
        qbo = SandboxOptions(
            seed=self.seed,
            orders=self.orders,
            time_scale=self.time_scale,
            faults=FaultPlan.parse(self.qbo_faults, seed=fault_seed),
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

    def banners(self) -> list[str]:
        """Each emulator's banner (URLs and demo credentials), as the sandbox CLI prints it."""
        lines: list[str] = []
        for name, emulator in self.emulators.items():
            lines.extend(emulator.banner(self.url(name)))
        return lines

    def qbo_documents(self, entity: str, realm: str = US_REALM) -> list[dict[str, Any]]:
        """Every stored document of one QuickBooks entity, as the emulator holds it."""
        response = requests.get(
            f"{self.url('qbo')}/__admin/realms/{realm}/entities/{entity}", timeout=30
        )
        response.raise_for_status()
        body = response.json()
        documents: list[dict[str, Any]] = body[entity] if isinstance(body, dict) else body
        return documents

    def qbo_strict_report(self) -> list[dict[str, Any]]:
        """The client protocol problems the QuickBooks emulator recorded (empty: none)."""
        return strict_report(self.url("qbo"))

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
    # Meltano writes each run's plugin config and catalog under `.meltano/run/<plugin>/` with
    # fixed names, so two runs of this project at once (another test on another pytest-xdist
    # worker, a demo) can delete each other's files. True (the default): this project's runs get a
    # `.meltano` of their own under `work`, with the installed plugins linked in.
    private_run_dir: bool = True
    # The target refuses to keep OAuth tokens in clear (TQB-TOKEN-KEY): each project encrypts
    # them with a key of its own, made for the test.
    token_encryption_key: str = field(default_factory=lambda: Fernet.generate_key().decode())

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
                "TARGET_QUICKBOOKS_TOKEN_ENCRYPTION_KEY": self.token_encryption_key,
            }
        )
        if self.private_run_dir:
            env["MELTANO_SYS_DIR_ROOT"] = str(private_sys_dir(self.work / "meltano-sys"))
        env.update(self.extra_env)
        return env

    def command(self, job: str, *, force: bool = False) -> list[str]:
        """`meltano run [--force] <job>`: `--force` runs although a killed run of it looks alive."""
        return [str(MELTANO), "run", *(["--force"] if force else []), job]

    def start(self, job: str, *, output: IO[bytes], force: bool = False) -> subprocess.Popen[bytes]:
        """Start `meltano run <job>` in a process group of its own (so it can be killed whole)."""
        return subprocess.Popen(
            self.command(job, force=force),
            cwd=ROOT,
            env=self.env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

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


def private_sys_dir(path: Path) -> Path:
    """A Meltano system folder whose installed plugins are this project's (linked, not copied)."""
    path.mkdir(parents=True, exist_ok=True)
    installed = ROOT / ".meltano"
    for plugin_type in ("extractors", "mappers", "loaders", "utilities"):
        link = path / plugin_type
        if (installed / plugin_type).is_dir() and not link.exists():
            link.symlink_to(installed / plugin_type, target_is_directory=True)
    return path


def _install_inputs() -> str:
    """A digest of what `meltano install` builds the plugin venvs from.

    The plugins' pip_urls (meltano.yml), their packages' requirements (each pyproject.toml) and
    Meltano's own version (its lock). The packages are editable installs: their code is read
    from the repository, so a code change needs no install.
    """
    digest = hashlib.sha256()
    for path in (
        ROOT / "meltano.yml",
        ROOT / "tools" / "meltano" / "uv.lock",
        *(ROOT / folder / "pyproject.toml" for folder in PLUGIN_PACKAGE_FOLDERS),
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _installed_venvs() -> list[str]:
    """The plugin interpreters `meltano install` made (one venv per plugin under .meltano/)."""
    return sorted(str(path) for path in (ROOT / ".meltano").glob("*/*/venv/bin/python"))


def _still_installed(stamp: Path, inputs: str) -> bool:
    """Whether the last install was made from `inputs` and its plugin venvs are all there."""
    try:
        done = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    venvs = done.get("venvs") if isinstance(done, dict) else None
    return (
        done.get("inputs") == inputs
        and isinstance(venvs, list)
        and bool(venvs)
        and all(Path(venv).exists() for venv in venvs)
    )


def ensure_plugins_installed() -> None:
    """`meltano install` (idempotent): every plugin into its own virtualenv under .meltano/.

    An idempotent `meltano install` still reinstalls each plugin (20 s, 14 s of CPU), and each
    end-to-end module asks for it: it runs only when what the venvs are built from changed since
    the last install (`_install_inputs`) or a plugin venv is gone. Delete
    `.meltano/install.complete` to force one.
    """
    if not MELTANO.exists():
        msg = f"{MELTANO} is missing: run the tests through `make test`, which installs Meltano"
        raise RuntimeError(msg)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    env["MELTANO_CLI_DISABLE_VERSION_CHECK"] = "true"
    # pytest-xdist workers share the repository's .meltano/: one installs at a time, the others
    # then find every plugin installed.
    lock_path = ROOT / ".meltano" / "install.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # `meltano install` keeps a plugin whose pip_url is unchanged, even when the editable
    # package's own dependencies changed since: a new requirement would be missing from its
    # venv. The plugins' pyproject files are fingerprinted; a change reinstalls them cleanly.
    fingerprint = hashlib.sha256(
        b"".join(
            (ROOT / folder / "pyproject.toml").read_bytes() for folder in PLUGIN_PACKAGE_FOLDERS
        )
    ).hexdigest()
    stamp = ROOT / ".meltano" / "install.fingerprint"
    complete = ROOT / ".meltano" / "install.complete"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        inputs = _install_inputs()
        if _still_installed(complete, inputs):
            return
        current = stamp.read_text(encoding="utf-8") if stamp.exists() else ""
        clean = ["--clean"] if current != fingerprint else []
        completed = subprocess.run(
            [str(MELTANO), "install", *clean],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if completed.returncode == 0:
            stamp.write_text(fingerprint, encoding="utf-8")
            record = {"inputs": inputs, "venvs": _installed_venvs()}
            complete.write_text(json.dumps(record), encoding="utf-8")
    if completed.returncode != 0:
        msg = f"meltano install failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
        raise RuntimeError(msg)
