"""The Dagster side, with a stand-in `meltano` (a script printing Meltano's JSON log lines).

Real `meltano run`s are exercised by tests/test_orchestrate_e2e.py; here each tenant's run is a
few milliseconds, so pools, retries, alerts, metadata and the real-time sensor are checked fast.
"""

import json
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import dagster as dg
import pytest

from kconnector_orchestrate.definitions import (
    OrchestrateSettings,
    asset_key,
    build_definitions,
    job_name,
)
from kconnector_orchestrate.realtime import CLAIM_TAG
from kconnector_orchestrate.tenants import parse_tenants

NOW = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
TENANTS_YAML = """
version: 1
defaults: {meltano_environment: prod}
tenants:
  - {name: acme-us, store: "shopify:acme.myshopify.com", company: "111"}
  - {name: acme-shop, store: "woocommerce:shop.acme.com", company: "111"}
  - {name: beta, store: "shopify:beta.myshopify.com", company: "222"}
  - {name: old, store: "shopify:old.myshopify.com", company: "333", enabled: false}
"""
FAKE_MELTANO = """#!{python}
import json, os, sys, time
from pathlib import Path
out = Path({out!r})
if sys.argv[1:3] == ["upgrade", "database"]:  # the system database, migrated before the run
    (out / "upgrades").open("a").write("upgrade database\\n")
    sys.exit(0)
name = sys.argv[sys.argv.index("--state-id-suffix") + 1]
(out / f"{{name}}.env.json").write_text(json.dumps(dict(os.environ)))
(out / f"{{name}}.argv.json").write_text(json.dumps(sys.argv[1:]))
def line(event, producer, consumer):
    print(json.dumps({{"event": event, "producer": producer, "consumer": consumer}}), flush=True)
line("token in a line: " + os.environ.get("TAP_SHOPIFY_ORDERS_ACCESS_TOKEN", ""), True, False)
line('METRIC: {{"metric": "record_count", "value": 6, "tags": {{"stream": "orders"}}}}',
     True, False)
if os.environ.get("FAKE_MELTANO_FAIL_" + name.upper().replace("-", "_")):
    sys.exit(1)
line("event=run_summary created=5 updated=1 dead_lettered=1 conflicts=1 mapper_dead_letters=2",
     False, True)
"""


@pytest.fixture
def fake_meltano(tmp_path):
    out = tmp_path / "calls"
    out.mkdir()
    script = tmp_path / "meltano"
    script.write_text(FAKE_MELTANO.format(python=sys.executable, out=str(out)))
    script.chmod(0o755)
    return script, out


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(
        temp_dir=str(tmp_path / "dagster"),
        overrides={"concurrency": {"pools": {"default_limit": 1}}},
    ) as dagster_instance:
        yield dagster_instance


@dataclass
class FakePending:
    store_key: str
    first_received_at: datetime
    last_received_at: datetime
    events: int = 1

    def due(self, now, debounce, max_delay):
        return now - self.last_received_at >= debounce or now - self.first_received_at >= max_delay


@dataclass
class FakeQueue:
    """The shared contract's EventQueue API, in memory."""

    queued: dict[str, list[FakePending]] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)
    finished: list[tuple[str, bool]] = field(default_factory=list)

    def pending(self):
        return [p for items in self.queued.values() for p in items]

    def claim(self, store_key, run_key):
        items = self.queued.pop(store_key, [])
        if items:
            self.claims[run_key] = store_key
        return sum(p.events for p in items)

    def finish(self, run_key, *, succeeded):
        self.finished.append((run_key, succeeded))


def _setup(tmp_path, script, **overrides):
    tenants_file = tmp_path / "tenants.yml"
    tenants_file.write_text(TENANTS_YAML)
    settings = OrchestrateSettings(
        project_root=tmp_path,
        tenants_file=tenants_file,
        meltano=str(script),
        run_timeout_seconds=60,
        max_retries=overrides.pop("max_retries", 0),
        retry_delay_seconds=0.01,
        realtime_debounce=timedelta(seconds=30),
        realtime_max_delay=timedelta(minutes=5),
    )
    queue = overrides.pop("queue", None)
    tenants = parse_tenants(TENANTS_YAML)
    defs = build_definitions(tenants, settings, clock=lambda: NOW, open_queue=lambda: queue)
    return tenants, defs


def _materialization(result):
    (event,) = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    return {key: value.value for key, value in metadata.items()}


def test_each_enabled_tenant_has_an_asset_a_job_and_a_schedule_in_its_companys_pool(
    tmp_path, fake_meltano
):
    tenants, defs = _setup(tmp_path, fake_meltano[0])
    assert sorted(job.name for job in defs.jobs) == [
        "tenant_acme_shop",
        "tenant_acme_us",
        "tenant_beta",
    ]
    assert sorted(s.name for s in defs.schedules) == [
        "tenant_acme_shop_schedule",
        "tenant_acme_us_schedule",
        "tenant_beta_schedule",
    ]
    graph = defs.resolve_asset_graph()
    for tenant in tenants.enabled():
        node = graph.get(asset_key(tenant))
        assert node.pools == {f"quickbooks-company-{tenant.company}"}
        job = defs.resolve_job_def(job_name(tenant))
        assert job.tags["kconnector/quickbooks-company"] == tenant.company
        assert job.executor_def.name == "in_process"
    assert not graph.has(asset_key(tenants.by_name("old")))


def test_a_run_reports_its_figures_as_metadata_and_masks_secrets_in_its_log(
    tmp_path, fake_meltano, instance, monkeypatch, capfd
):
    script, calls = fake_meltano
    monkeypatch.setenv(
        "KCONNECTOR_TENANT_ACME_US__TAP_SHOPIFY_ORDERS_ACCESS_TOKEN", "shpat_acme_9f8e7d"
    )
    monkeypatch.setenv(
        "KCONNECTOR_TENANT_BETA__TAP_SHOPIFY_ORDERS_ACCESS_TOKEN", "shpat_beta_1a2b3c"
    )
    monkeypatch.chdir(tmp_path)
    _, defs = _setup(tmp_path, script)
    result = defs.resolve_job_def("tenant_acme_us").execute_in_process(instance=instance)
    assert result.success
    assert _materialization(result) == {
        "orders_read": 6,
        "refunds_read": 0,
        "payouts_read": 0,
        "documents_written": 6,
        "documents_unchanged": 0,
        "dead_letters": 3,
        "reviews": 1,
        "summary_seen": True,
        "meltano_exit_status": 0,
    }
    env = json.loads((calls / "acme-us.env.json").read_text())
    assert env["TAP_SHOPIFY_ORDERS_ACCESS_TOKEN"] == "shpat_acme_9f8e7d"
    assert "shpat_beta_1a2b3c" not in json.dumps(env)
    assert env["TARGET_QUICKBOOKS_REALM_ID"] == "111"
    argv = json.loads((calls / "acme-us.argv.json").read_text())
    assert argv[argv.index("--state-id-suffix") + 1] == "acme-us"
    assert (calls / "upgrades").read_text().splitlines() == ["upgrade database"]
    captured = capfd.readouterr()
    assert "shpat_acme_9f8e7d" not in captured.out + captured.err


class _AlertReceiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _AlertReceiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_a_tenant_failing_every_attempt_alerts_through_the_targets_hook_and_returns_its_events(
    tmp_path, fake_meltano, instance, monkeypatch
):
    script, _ = fake_meltano
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AlertReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    alert_url = f"http://127.0.0.1:{server.server_port}/hooks/alert-secret-path"
    monkeypatch.setenv("KCONNECTOR_SHARED__TARGET_QUICKBOOKS_ALERT_URL", alert_url)
    monkeypatch.setenv("FAKE_MELTANO_FAIL_BETA", "1")
    monkeypatch.chdir(tmp_path)
    queue = FakeQueue()
    _, defs = _setup(tmp_path, script, max_retries=1, queue=queue)
    _AlertReceiver.received.clear()
    try:
        result = defs.resolve_job_def("tenant_beta").execute_in_process(
            instance=instance, raise_on_error=False, tags={CLAIM_TAG: "realtime:claim-1"}
        )
    finally:
        server.shutdown()
        server.server_close()
    assert not result.success
    retries = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert len(retries) == 1
    (alert,) = _AlertReceiver.received
    assert alert["plugin"] == "kconnector-orchestrate"
    assert alert["realm_id"] == "222"
    assert alert["error_code"] == "ORCH-RUN-FAILED"
    assert "tenant beta (shopify:beta.myshopify.com" in alert["message"]
    assert "2 attempt(s)" in alert["message"]
    assert "alert-secret-path" not in json.dumps(alert)
    assert queue.finished == [("realtime:claim-1", False)]


def test_the_sensor_claims_due_stores_and_requests_a_run_of_each_tenant_reading_them(
    tmp_path, fake_meltano, instance
):
    quiet = NOW - timedelta(seconds=45)
    queue = FakeQueue(
        queued={
            "shopify:acme.myshopify.com": [FakePending("shopify:acme.myshopify.com", quiet, quiet)],
            # Still receiving events: waits for the debounce.
            "shopify:beta.myshopify.com": [
                FakePending("shopify:beta.myshopify.com", NOW - timedelta(seconds=60), NOW)
            ],
            # A QuickBooks change concerns every tenant of the company.
            "quickbooks:111": [FakePending("quickbooks:111", quiet, quiet)],
            "shopify:unknown.myshopify.com": [
                FakePending("shopify:unknown.myshopify.com", quiet, quiet)
            ],
        }
    )
    _, defs = _setup(tmp_path, fake_meltano[0], queue=queue)
    sensor = defs.resolve_sensor_def("realtime_events")
    with dg.build_sensor_context(instance=instance, definitions=defs) as context:
        result = sensor(context)
    requests = sorted((r.job_name, r.run_key, r.tags[CLAIM_TAG]) for r in result.run_requests)
    stamp = "20300517T120000.000000Z"
    assert requests == [
        (
            "tenant_acme_shop",
            f"realtime:quickbooks:111:{stamp}:acme-shop",
            f"realtime:quickbooks:111:{stamp}",
        ),
        (
            "tenant_acme_us",
            f"realtime:quickbooks:111:{stamp}:acme-us",
            f"realtime:quickbooks:111:{stamp}",
        ),
        (
            "tenant_acme_us",
            f"realtime:shopify:acme.myshopify.com:{stamp}:acme-us",
            f"realtime:shopify:acme.myshopify.com:{stamp}",
        ),
    ]
    # Claimed: the due stores a tenant reads; the others stay queued.
    assert sorted(queue.claims.values()) == ["quickbooks:111", "shopify:acme.myshopify.com"]
    assert sorted(queue.queued) == ["shopify:beta.myshopify.com", "shopify:unknown.myshopify.com"]


def test_the_sensor_skips_when_no_queue_is_configured(tmp_path, fake_meltano, instance):
    _, defs = _setup(tmp_path, fake_meltano[0], queue=None)
    sensor = defs.resolve_sensor_def("realtime_events")
    with dg.build_sensor_context(instance=instance, definitions=defs) as context:
        result = sensor(context)
    assert result.skip_reason is not None
    assert "no real-time queue" in str(result.skip_reason)
