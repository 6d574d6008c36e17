"""K-Connector's Dagster definitions: one asset, job and schedule per tenant; the real-time sensor.

`dagster dev -m kconnector_orchestrate.definitions` (docs/scale-out.md) loads `defs`, built from
the tenants file (`KCONNECTOR_TENANTS_FILE`, default `orchestrate/tenants.yml` under the Meltano
project, `MELTANO_PROJECT_ROOT` or the working directory). Per tenant:

- an asset `kconnector/tenant_<name>` whose materialization is one `meltano run` of the tenant,
  through Dagster Pipes (`pipes_runner`), with the run's figures as metadata;
- in the pool `quickbooks-company-<realm id>`: with the instance's pool limit at 1
  (orchestrate/dagster.yaml), at most one run writes to a company while other companies run in
  parallel; the target's own writer lease guards the company outside Dagster too;
- a retry policy with exponential backoff and jitter; after the last attempt, an alert through
  the tenant's target-quickbooks alert hook;
- a job and a schedule (the tenant's cron, UTC).

The sensor `realtime_events` turns the real-time receiver's queued events into tenant runs when
`KCONNECTOR_REALTIME_DATABASE_URL` names the receiver's database.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster import AssetExecutionContext, PipesSubprocessClient

from kconnector_orchestrate import realtime
from kconnector_orchestrate.alerting import alert_failure
from kconnector_orchestrate.meltano_command import TenantEnvironmentError, tenant_environment
from kconnector_orchestrate.tenants import Tenant, Tenants, load_tenants

if TYPE_CHECKING:
    from collections.abc import Mapping

ASSET_PREFIX = "kconnector"
DEFAULT_TENANTS_FILE = Path("orchestrate") / "tenants.yml"
RUN_TIMEOUT_TAG = "dagster/max_runtime"
PIPES_PREVIEW_WARNING = (
    r"Function `PipesMessageReader\.expected_writer_count` is currently in preview"
)


@dataclass(frozen=True)
class OrchestrateSettings:
    """How tenant runs are started; from `KCONNECTOR_*` variables (`from_environment`)."""

    project_root: Path
    tenants_file: Path
    meltano: str = "meltano"
    run_timeout_seconds: float = 3600.0
    max_retries: int = 3
    retry_delay_seconds: float = 60.0
    realtime_database_url: str | None = None
    realtime_debounce: timedelta = timedelta(seconds=30)
    realtime_max_delay: timedelta = timedelta(minutes=5)
    sensor_interval_seconds: int = 15

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> OrchestrateSettings:
        """Read the settings; unset ones keep their defaults (docs/scale-out.md, 'Settings')."""
        root = Path(environ.get("MELTANO_PROJECT_ROOT") or Path.cwd())
        tenants_file = Path(environ.get("KCONNECTOR_TENANTS_FILE") or root / DEFAULT_TENANTS_FILE)

        def number(name: str, default: float) -> float:
            raw = environ.get(name)
            if not raw:
                return default
            try:
                return float(raw)
            except ValueError:
                msg = f"{name}={raw!r} must be a number"
                raise ValueError(msg) from None

        return cls(
            project_root=root,
            tenants_file=tenants_file,
            meltano=environ.get("KCONNECTOR_MELTANO") or "meltano",
            run_timeout_seconds=number("KCONNECTOR_RUN_TIMEOUT_SECONDS", 3600.0),
            max_retries=int(number("KCONNECTOR_RUN_MAX_RETRIES", 3)),
            retry_delay_seconds=number("KCONNECTOR_RUN_RETRY_DELAY_SECONDS", 60.0),
            realtime_database_url=environ.get("KCONNECTOR_REALTIME_DATABASE_URL") or None,
            realtime_debounce=timedelta(
                seconds=number("KCONNECTOR_REALTIME_DEBOUNCE_SECONDS", 30.0)
            ),
            realtime_max_delay=timedelta(
                seconds=number("KCONNECTOR_REALTIME_MAX_DELAY_SECONDS", 300.0)
            ),
        )


QueueOpener = Callable[[], "realtime.EventQueueLike | None"]


def realtime_queue_opener(settings: OrchestrateSettings) -> QueueOpener:
    """Opens the real-time receiver's queue (`kconnector_realtime.queue.EventQueue`), if any."""
    url = settings.realtime_database_url
    if url is None:
        return lambda: None

    def open_queue() -> realtime.EventQueueLike:
        from kconnector_realtime.queue import EventQueue  # noqa: PLC0415 - the receiver is optional

        queue: realtime.EventQueueLike = EventQueue(url)
        return queue

    return open_queue


def asset_key(tenant: Tenant) -> dg.AssetKey:
    """`kconnector/tenant_<name>`."""
    return dg.AssetKey([ASSET_PREFIX, "tenant_" + tenant.name.replace("-", "_")])


def job_name(tenant: Tenant) -> str:
    """`tenant_<name>`: the job materializing the tenant's asset."""
    return "tenant_" + tenant.name.replace("-", "_")


def _tenant_asset(
    tenant: Tenant, settings: OrchestrateSettings, open_queue: QueueOpener
) -> dg.AssetsDefinition:
    retry = dg.RetryPolicy(
        max_retries=settings.max_retries,
        delay=settings.retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )
    key = asset_key(tenant)

    def sync(
        context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient
    ) -> dg.MaterializeResult[Any]:
        claim = context.run.tags.get(realtime.CLAIM_TAG)
        command = [
            sys.executable,
            "-m",
            "kconnector_orchestrate.pipes_runner",
            "--tenants-file",
            str(settings.tenants_file),
            "--tenant",
            tenant.name,
            "--meltano",
            settings.meltano,
            "--timeout-seconds",
            f"{settings.run_timeout_seconds:g}",
        ]
        try:
            # The op context: Pipes reads `run_id` from its context, deprecated on the asset's.
            # Dagster's Pipes calls one of its own preview functions: not a choice of ours.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", PIPES_PREVIEW_WARNING, dg.PreviewWarning)
                result: dg.MaterializeResult[Any] = pipes_subprocess_client.run(
                    context=context.op_execution_context,
                    command=command,
                    cwd=str(settings.project_root),
                ).get_materialize_result()
        except Exception as exc:
            if context.retry_number >= settings.max_retries:
                if claim:
                    _finish_claim(context, open_queue, claim, succeeded=False)
                _alert(context, tenant, type(exc).__name__)
            raise
        if claim:
            _finish_claim(context, open_queue, claim, succeeded=True)
        return result

    # Dagster inspects these annotations as classes; this module's are strings (PEP 563).
    sync.__annotations__.update(
        context=AssetExecutionContext, pipes_subprocess_client=PipesSubprocessClient
    )
    asset = dg.asset(
        key=key,
        group_name="tenants",
        pool=tenant.pool,
        retry_policy=retry,
        kinds={"meltano", "quickbooks"},
        tags={"kconnector/platform": tenant.platform},
        description=f"{tenant.store_key} -> QuickBooks company {tenant.company}",
        metadata={"store": tenant.store_key, "quickbooks_company": tenant.company},
    )
    return asset(sync)


def _alert(context: dg.AssetExecutionContext, tenant: Tenant, failure: str) -> None:
    try:
        env = tenant_environment(tenant, os.environ)
    except TenantEnvironmentError as exc:
        context.log.error(str(exc))  # noqa: TRY400 - the message is the point, no traceback
        return
    sent = alert_failure(
        tenant, env, attempts=context.retry_number + 1, run_id=context.run.run_id, failure=failure
    )
    context.log.error("event=tenant_failed tenant=%s alert_sent=%s", tenant.name, sent)


def _finish_claim(
    context: dg.AssetExecutionContext, open_queue: QueueOpener, claim: str, *, succeeded: bool
) -> None:
    queue = open_queue()
    if queue is None:
        context.log.warning("realtime claim %s left open: no real-time queue configured", claim)
        return
    queue.finish(claim, succeeded=succeeded)


def _realtime_sensor(
    tenants: Tenants,
    jobs: Mapping[str, dg.UnresolvedAssetJobDefinition],
    settings: OrchestrateSettings,
    clock: Callable[[], datetime],
    open_queue: QueueOpener,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="realtime_events",
        jobs=list(jobs.values()),
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Queued store and QuickBooks webhooks -> runs of the tenants they concern.",
    )
    def realtime_events(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        queue = open_queue()
        if queue is None:
            return dg.SensorResult(skip_reason="no real-time queue configured")
        tick = realtime.evaluate(
            queue,
            tenants,
            now=clock(),
            debounce=settings.realtime_debounce,
            max_delay=settings.realtime_max_delay,
        )
        for store in tick.unknown_stores:
            context.log.warning("event=realtime_unknown_store store=%s (no tenant reads it)", store)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=request.run_key,
                    job_name=jobs[request.tenant.name].name,
                    tags=request.tags,
                )
                for request in tick.requests
            ]
        )

    return realtime_events


def build_definitions(
    tenants: Tenants,
    settings: OrchestrateSettings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    open_queue: QueueOpener | None = None,
) -> dg.Definitions:
    """Every enabled tenant's asset, job and schedule, the sensor, and the Pipes client.

    `clock` and `open_queue` (the real-time queue; from the settings by default) are injected
    so tests drive the sensor and the runs with a fixed time and a queue of their own.
    """
    opener = open_queue or realtime_queue_opener(settings)
    assets = []
    jobs: dict[str, dg.UnresolvedAssetJobDefinition] = {}
    schedules = []
    for tenant in tenants.enabled():
        assets.append(_tenant_asset(tenant, settings, opener))
        job = dg.define_asset_job(
            name=job_name(tenant),
            selection=[asset_key(tenant)],
            description=f"{tenant.store_key} -> QuickBooks company {tenant.company}",
            # Tag limits per company are the pool's alternative for run queues (docs/scale-out.md).
            tags={
                realtime.COMPANY_TAG: tenant.company,
                realtime.STORE_TAG: tenant.store_key,
                RUN_TIMEOUT_TAG: f"{settings.run_timeout_seconds + 300:g}",
            },
        )
        jobs[tenant.name] = job
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{job_name(tenant)}_schedule",
                job=job,
                cron_schedule=tenant.schedule,
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        )
    sensors = [_realtime_sensor(tenants, jobs, settings, clock, opener)] if jobs else []
    return dg.Definitions(
        assets=assets,
        jobs=list(jobs.values()),
        schedules=schedules,
        sensors=sensors,
        resources={"pipes_subprocess_client": dg.PipesSubprocessClient()},
        # One step per run, whose work is the `meltano run` subprocess: a step process of its own
        # (the multiprocess executor) would only add a Python start-up per run.
        executor=dg.in_process_executor,
    )


def load_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The definitions of the configured tenants file (see the module docstring)."""
    settings = OrchestrateSettings.from_environment(os.environ if environ is None else environ)
    return build_definitions(load_tenants(settings.tenants_file), settings)


@dg.definitions
def defs() -> dg.Definitions:
    """The code location's definitions, read when Dagster loads it (not at import)."""
    return load_definitions()
