"""Three tenants through Dagster's in-process execution against the sandbox.

Two stores (the sandbox's Shopify US shop and its WooCommerce store) write to company A (the US
realm), one (the Shopify CA shop, with its Canadian tax mapping from the environment) to company
B (the CA realm). A's first job and B's start at once, A's second while the first holds A's slot,
each executed in-process by `dagster job execute` in a process of its own (Dagster reconfigures
logging per execution, so runs cannot share one process's threads), on one Dagster instance
whose pools allow one slot: Dagster's pool must keep A's two runs apart while B runs beside
them. Each run is a real `meltano run`
through Dagster Pipes.

Checked from the QuickBooks emulator's own data (every document once) and from Dagster's event
log (step start and end times, materialization metadata), never from the plugins' reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import pytest
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meltano_sandbox import MELTANO, ROOT, Sandbox, ensure_plugins_installed

from kconnector_orchestrate.definitions import job_name
from kconnector_orchestrate.tenants import parse_tenants

DAGSTER = Path(sys.executable).parent / "dagster"
ORDERS_PER_STORE = 8
COMPANY_A = "9130357600000001"
COMPANY_B = "9130357600000002"
CA_REFRESH_TOKEN = "AB11d4f5e97614669a4dc277c6bf759eeaf766e39bf6acdca526ca71205e1e1f4451"
CA_ACCESS_TOKEN = "shpat_sandbox_ca_0123456789abcdef0123456789ab"
WRITE_ENTITIES = ("SalesReceipt", "Invoice", "Payment", "RefundReceipt", "CreditMemo", "Deposit")
MARKER = re.compile(r"\[kc:(?P<external_id>\S+) v[0-9a-f]+\]")
CA_TAX_CODE_MAP = {
    "GST 5%": "GST",
    "GST 5% + PST 7%": "GST/PST BC",
    "HST 13%": "HST ON",
    "GST 5% + QST 9.975%": "GST/QST QC",
}
CA_TAX_RATE_MAP = {
    "GST 5%": "GST",
    "PST 7%": "PST (BC)",
    "HST 13%": "HST ON",
    "QST 9.975%": "QST QC",
}


@pytest.fixture(scope="module")
def sandbox():
    ensure_plugins_installed()
    served = Sandbox(orders=ORDERS_PER_STORE)
    served.start()
    yield served
    served.stop()


def _tenants_file(work: Path, woocommerce_host: str) -> Path:
    path = work / "tenants.yml"
    path.write_text(
        "version: 1\n"
        "defaults: {meltano_environment: demo}\n"
        "tenants:\n"
        "  - {name: shopify-us, store: 'shopify:kconnector-us.myshopify.com',"
        f" company: '{COMPANY_A}'}}\n"
        f"  - {{name: woocommerce-us, store: 'woocommerce:{woocommerce_host}',"
        f" company: '{COMPANY_A}'}}\n"
        "  - {name: shopify-ca, store: 'shopify:kconnector-ca.myshopify.com',"
        f" company: '{COMPANY_B}'}}\n"
    )
    return path


def _environment(sandbox: Sandbox, work: Path) -> dict[str, str]:
    """The orchestrator's environment: shared settings, and each tenant's own."""
    qbo, shopify = sandbox.url("qbo"), sandbox.url("shopify")
    return {
        "MELTANO_DATABASE_URI": f"sqlite:///{work / 'meltano.db'}",
        "MELTANO_SYS_DIR_ROOT": str(work / "meltano-sys"),
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        # Shared by every tenant: the QuickBooks endpoints, the one store, the token key.
        "KCONNECTOR_SHARED__TARGET_QUICKBOOKS_API_URL": qbo,
        "KCONNECTOR_SHARED__TARGET_QUICKBOOKS_TOKEN_URL": f"{qbo}/oauth2/v1/tokens/bearer",
        "KCONNECTOR_SHARED__TARGET_QUICKBOOKS_DATABASE_URL": f"sqlite:///{work / 'store.db'}",
        "KCONNECTOR_SHARED__TARGET_QUICKBOOKS_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "KCONNECTOR_SHARED__TARGET_QUICKBOOKS_WRITER_LEASE_WAIT_SECONDS": "0",
        # Company A's two stores.
        "KCONNECTOR_TENANT_SHOPIFY_US__TAP_SHOPIFY_ORDERS_API_URL": (
            f"{shopify}/shops/kconnector-us.myshopify.com"
        ),
        "KCONNECTOR_TENANT_WOOCOMMERCE_US__TAP_WOOCOMMERCE_ORDERS_URL": sandbox.url("woocommerce"),
        # Company B: its own store token, company token and tax mapping (rules from variables).
        "KCONNECTOR_TENANT_SHOPIFY_CA__TAP_SHOPIFY_ORDERS_API_URL": (
            f"{shopify}/shops/kconnector-ca.myshopify.com"
        ),
        "KCONNECTOR_TENANT_SHOPIFY_CA__TAP_SHOPIFY_ORDERS_ACCESS_TOKEN": CA_ACCESS_TOKEN,
        "KCONNECTOR_TENANT_SHOPIFY_CA__TARGET_QUICKBOOKS_REFRESH_TOKEN": CA_REFRESH_TOKEN,
        "KCONNECTOR_TENANT_SHOPIFY_CA__MAP_QUICKBOOKS_TAX_MODE": "tax_codes",
        "KCONNECTOR_TENANT_SHOPIFY_CA__MAP_QUICKBOOKS_TAX_CODE_MAP": json.dumps(CA_TAX_CODE_MAP),
        "KCONNECTOR_TENANT_SHOPIFY_CA__MAP_QUICKBOOKS_TAX_RATE_MAP": json.dumps(CA_TAX_RATE_MAP),
        # A plugin variable of the orchestrator itself reaches no tenant (company B would
        # otherwise write with company A's token).
        "TARGET_QUICKBOOKS_REFRESH_TOKEN": "not-for-any-tenant",
    }


def _step_window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    """When the run's step (the `meltano run`) started and ended, from Dagster's event log."""
    starts, ends = [], []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts.append(record.timestamp)
        elif event.event_type in {
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        }:
            ends.append(record.timestamp)
    assert starts, f"run {run_id} never started its step"
    assert ends, f"run {run_id} never ended its step"
    return min(starts), max(ends)


def _materialization(instance: dg.DagsterInstance, run_id: str) -> dict[str, Any]:
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            return {key: value.value for key, value in materialization.metadata.items()}
    pytest.fail(f"run {run_id} materialized nothing")
    return {}  # unreachable


def _external_ids(sandbox: Sandbox, realm: str) -> Counter[tuple[str, str]]:
    seen: Counter[tuple[str, str]] = Counter()
    for entity in WRITE_ENTITIES:
        for document in sandbox.qbo_documents(entity, realm):
            match = MARKER.search(str(document.get("PrivateNote", "")))
            assert match, f"{entity} {document.get('Id')} carries no K-Connector marker"
            seen[entity, match.group("external_id")] += 1
    return seen


def _execute(home: Path, env: dict[str, str], job: str, logs: contextlib.ExitStack) -> Any:
    """`dagster job execute` of `job` in a process of its own, its stderr in `home`/<job>.log.

    The process executes its run in-process against the one instance of `home`, whose pools
    allow one slot: exactly how a run worker runs it.
    """
    return subprocess.Popen(
        [str(DAGSTER), "job", "execute", "-m", "kconnector_orchestrate.definitions", "-j", job],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=logs.enter_context((home / f"{job}.log").open("wb")),
    )


def _wait_for_claimed_slot(home: Path, pool: str, processes: list[Any]) -> None:
    """Until a step holds `pool`'s slot (or a process has ended, which the caller reports)."""
    deadline = time.monotonic() + 600
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            storage = instance.event_log_storage
            if pool in storage.get_concurrency_keys() and (
                storage.get_concurrency_info(pool).claimed_slots
            ):
                return
            if any(process.poll() is not None for process in processes):
                return
            time.sleep(0.2)
    pytest.fail(f"no run claimed the slot of {pool} within 600 s")


def _execute_jobs(home: Path, env: dict[str, str], first: list[str], pool: str, then: str) -> None:
    """The jobs of `first` started together; `then` once a step holds `pool`'s one slot.

    `then` is a second run of the company whose slot the first holds: Dagster must keep it
    waiting. It starts after the first run's claim, never in the same instant: two claims at
    the same moment can both succeed on Dagster's SQLite storage (its claim reads the free slot
    and marks it in two statements, with no lock between them on SQLite), which a deployment on
    PostgreSQL with the run queue does not meet; the target's writer lease is the guard there
    (docs/scale-out.md).
    """
    with contextlib.ExitStack() as logs:
        processes = [_execute(home, env, job, logs) for job in first]
        _wait_for_claimed_slot(home, pool, processes)
        processes.append(_execute(home, env, then, logs))
        statuses = [process.wait(timeout=600) for process in processes]
    for status, job in zip(statuses, [*first, then], strict=True):
        log = (home / f"{job}.log").read_text(errors="replace")
        assert status == 0, f"{job} failed:\n{log[-4000:]}"


# About 90 s on a quiet 2-core machine (three `meltano run`s, two of them one after the other);
# the margin is for a machine shared with other work.
@pytest.mark.timeout(900)
def test_three_tenants_one_writer_per_company_each_document_once(sandbox, tmp_path):
    # The store as its tap names it: the host, without the port.
    woocommerce_host = urlsplit(sandbox.url("woocommerce")).hostname
    tenants_file = _tenants_file(tmp_path, woocommerce_host)
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "concurrency: {pools: {default_limit: 1}}\ntelemetry: {enabled: false}\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "DAGSTER_"))},
        **_environment(sandbox, tmp_path),
        "DAGSTER_HOME": str(home),
        "MELTANO_PROJECT_ROOT": str(ROOT),
        "KCONNECTOR_TENANTS_FILE": str(tenants_file),
        "KCONNECTOR_MELTANO": str(MELTANO),
        "KCONNECTOR_RUN_MAX_RETRIES": "0",
        "KCONNECTOR_RUN_TIMEOUT_SECONDS": "400",
    }
    # The instance's SQLite storages are created (migrated) once, before three processes open it.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs()
        instance.event_log_storage.get_concurrency_keys()
        instance.all_instigator_state()
    names = ("shopify-us", "woocommerce-us", "shopify-ca")
    tenants = parse_tenants(tenants_file.read_text())
    jobs = {job_name(tenants.by_name(name)): name for name in names}
    first_a, second_a, b = (job_name(tenants.by_name(name)) for name in names)
    # A's first run and B's start together; A's second while the first holds A's slot.
    _execute_jobs(home, env, [first_a, b], tenants.by_name("shopify-us").pool, second_a)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = {jobs[run.job_name]: run for run in instance.get_runs()}
        assert sorted(runs) == sorted(names)
        assert all(run.is_success for run in runs.values()), {n: r.status for n, r in runs.items()}
        windows = {name: _step_window(instance, run.run_id) for name, run in runs.items()}
        metadata = {name: _materialization(instance, run.run_id) for name, run in runs.items()}

    # Company A: one writer at a time.
    (a1_start, a1_end), (a2_start, a2_end) = windows["shopify-us"], windows["woocommerce-us"]
    assert a1_end <= a2_start or a2_end <= a1_start, windows
    # Company B ran beside company A (its run overlaps one of A's).
    b_start, b_end = windows["shopify-ca"]
    assert any(
        b_start < end and start < b_end
        for start, end in (windows["shopify-us"], windows["woocommerce-us"])
    ), windows

    # Every document once, in the company its tenant names.
    for realm in (COMPANY_A, COMPANY_B):
        seen = _external_ids(sandbox, realm)
        assert [key for key, count in seen.items() if count > 1] == [], realm
    in_a = {external_id for _, external_id in _external_ids(sandbox, COMPANY_A)}
    in_b = {external_id for _, external_id in _external_ids(sandbox, COMPANY_B)}
    assert any(i.startswith("shopify:kconnector-us.myshopify.com:") for i in in_a)
    assert any(i.startswith(f"woocommerce:{woocommerce_host}:") for i in in_a)
    assert any(i.startswith("shopify:kconnector-ca.myshopify.com:") for i in in_b)
    assert not any(i.startswith("shopify:kconnector-ca.myshopify.com:") for i in in_a)
    assert not any(i.startswith(("shopify:kconnector-us", "woocommerce:")) for i in in_b)

    # Each run's figures, as Dagster recorded them.
    for name, figures in metadata.items():
        assert figures["orders_read"] == ORDERS_PER_STORE, (name, figures)
        assert figures["documents_written"] > 0, (name, figures)
        assert figures["summary_seen"] is True, (name, figures)
        assert {"dead_letters", "reviews"} <= set(figures), (name, figures)
