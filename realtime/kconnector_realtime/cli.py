"""`kconnector-realtime`: `serve` (receiver and dispatcher) and `subscriptions`.

Every setting is an option with a `KCONNECTOR_REALTIME_*` environment variable, so the Meltano
utility plugin `kconnector-realtime` passes its settings through; secrets are only ever read from
the environment (never a file, never a command-line argument in a process list).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import timedelta
from pathlib import Path

import click
import uvicorn

from kconnector_canonical.redaction import install_log_redaction
from kconnector_realtime.dispatcher import Dispatcher
from kconnector_realtime.queue import EventQueue, utc_now
from kconnector_realtime.receiver import Counters, Receiver
from kconnector_realtime.settings import (
    DEFAULT_MAX_BODY_BYTES,
    DispatchSettings,
    RealtimeSettings,
    Secrets,
    SettingsError,
    load_routes,
    secrets_list,
)
from kconnector_realtime.subscriptions import subscriptions

ENV_PREFIX = "KCONNECTOR_REALTIME"
logger = logging.getLogger("kconnector_realtime")


def _database_url() -> str | None:
    return os.environ.get(f"{ENV_PREFIX}_DATABASE_URL") or os.environ.get(
        "TARGET_QUICKBOOKS_DATABASE_URL"
    )


def configure_logging() -> None:
    """One `key=value` line per event on stderr, secrets masked."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )


def read_settings(  # noqa: PLR0913 - one keyword per setting
    *,
    database_url: str | None,
    stores_file: Path | None,
    debounce: float,
    max_delay: float,
    window_margin_minutes: int,
    meltano: str,
    max_body_bytes: int,
    standby_runs: int = 2,
) -> RealtimeSettings:
    """The settings of `serve`, secrets from the environment.

    Raises:
        click.UsageError: a setting that cannot work, with its fix.
    """
    if not database_url:
        msg = (
            f"database_url: set {ENV_PREFIX}_DATABASE_URL (or TARGET_QUICKBOOKS_DATABASE_URL) "
            "to the target's store, the same URL target-quickbooks uses"
        )
        raise click.UsageError(msg)
    if debounce < 0 or max_delay < debounce:
        msg = "max_delay_seconds must be at least debounce_seconds, both positive"
        raise click.UsageError(msg)
    if standby_runs < 0:
        msg = "standby_runs: 0 (every run starts cold) or more (runs started ahead per store)"
        raise click.UsageError(msg)
    try:
        routes = load_routes(stores_file, os.environ)
    except (SettingsError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc
    secrets = Secrets(
        shopify=secrets_list(os.environ.get(f"{ENV_PREFIX}_SHOPIFY_CLIENT_SECRET")),
        woocommerce=secrets_list(os.environ.get(f"{ENV_PREFIX}_WOOCOMMERCE_SECRET")),
        quickbooks=secrets_list(os.environ.get(f"{ENV_PREFIX}_QUICKBOOKS_VERIFIER_TOKEN")),
    )
    return RealtimeSettings(
        database_url=database_url,
        routes=routes,
        secrets=secrets,
        dispatch=DispatchSettings(
            debounce=timedelta(seconds=debounce),
            max_delay=timedelta(seconds=max_delay),
            window_margin=timedelta(minutes=window_margin_minutes),
            meltano=meltano,
            standby_runs=standby_runs,
        ),
        max_body_bytes=max_body_bytes,
    )


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


class DispatchLoop:
    """The dispatcher's ticks on a thread beside the ASGI server."""

    def __init__(self, dispatcher: Dispatcher, interval_seconds: float) -> None:
        """Tick `dispatcher` every `interval_seconds`."""
        self.dispatcher = dispatcher
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="realtime-dispatch", daemon=True)

    def start(self) -> None:
        """Start ticking."""
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.dispatcher.tick()
            except Exception:
                # A database hiccup must not end real-time sync: log, and tick again.
                logger.exception("event=dispatch_tick_failed")

    def stop(self) -> None:
        """Stop ticking; runs in progress are stopped and their events requeued."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.dispatcher.stop()


@click.group()
def main() -> None:
    """K-Connector's real-time receiver and its webhook subscriptions."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar=f"{ENV_PREFIX}_HOST")
@click.option("--port", default=8710, show_default=True, envvar=f"{ENV_PREFIX}_PORT", type=int)
@click.option(
    "--stores-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar=f"{ENV_PREFIX}_STORES_FILE",
    help="TOML routes: store -> job, realm_id (else KCONNECTOR_REALTIME_STORES).",
)
@click.option(
    "--debounce-seconds",
    default=1.0,
    show_default=True,
    envvar=f"{ENV_PREFIX}_DEBOUNCE_SECONDS",
    help="A store's run starts once its events are quiet this long...",
)
@click.option(
    "--max-delay-seconds",
    default=60.0,
    show_default=True,
    envvar=f"{ENV_PREFIX}_MAX_DELAY_SECONDS",
    help="...or once its oldest event waited this long.",
)
@click.option(
    "--window-margin-minutes",
    default=10,
    show_default=True,
    envvar=f"{ENV_PREFIX}_WINDOW_MARGIN_MINUTES",
    help="The run reads from the oldest event less this margin.",
)
@click.option(
    "--meltano",
    default="meltano",
    show_default=True,
    envvar=f"{ENV_PREFIX}_MELTANO",
    help="The meltano executable that runs the jobs.",
)
@click.option(
    "--max-body-bytes",
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    envvar=f"{ENV_PREFIX}_MAX_BODY_BYTES",
    type=int,
)
@click.option("--tick-seconds", default=0.5, show_default=True, envvar=f"{ENV_PREFIX}_TICK_SECONDS")
@click.option(
    "--standby-runs",
    default=2,
    show_default=True,
    envvar=f"{ENV_PREFIX}_STANDBY_RUNS",
    type=int,
    help="Runs of each store's job started ahead, waiting for its events (0: start cold).",
)
@click.option(
    "--dispatch/--no-dispatch",
    default=True,
    show_default=True,
    envvar=f"{ENV_PREFIX}_DISPATCH",
    help="Run the stores' jobs here; --no-dispatch when Dagster's sensor reads the queue.",
)
def serve(  # noqa: PLR0913, PLR0917 - click passes one argument per option
    host: str,
    port: int,
    stores_file: Path | None,
    debounce_seconds: float,
    max_delay_seconds: float,
    window_margin_minutes: int,
    meltano: str,
    max_body_bytes: int,
    tick_seconds: float,
    *,
    standby_runs: int,
    dispatch: bool,
) -> None:
    """Receive webhooks and run each store's job for its events."""
    configure_logging()
    settings = read_settings(
        database_url=_database_url(),
        stores_file=stores_file,
        debounce=debounce_seconds,
        max_delay=max_delay_seconds,
        window_margin_minutes=window_margin_minutes,
        meltano=meltano,
        max_body_bytes=max_body_bytes,
        standby_runs=standby_runs,
    )
    install_log_redaction([*settings.secrets.values(), settings.database_url])
    run_server(settings, host=host, port=port, tick_seconds=tick_seconds, dispatch=dispatch)


def run_server(
    settings: RealtimeSettings, *, host: str, port: int, tick_seconds: float, dispatch: bool = True
) -> None:
    """Open the queue, requeue a dead dispatcher's claims, serve until stopped."""
    queue = EventQueue(settings.database_url)
    counters = Counters()
    # Every claim left in the queue at start is a dead dispatcher's (killed with SIGKILL
    # mid-run): back to the queue now, not after the run timeout, or its events would wait
    # 30 minutes. A run it started may still be running, orphaned: the follow-up run is safe,
    # the target's writer lease serialises them per company and the ledger writes each
    # document once.
    requeued = queue.requeue_claimed(claimed_before=utc_now()) if dispatch else 0
    dispatcher = Dispatcher(queue, settings, clock=utc_now, counters=counters)
    loop = DispatchLoop(dispatcher, tick_seconds)
    logger.info(
        "event=serve_started host=%s port=%s dispatch=%s stores=%s requeued=%s secrets=%r",
        host,
        port,
        dispatch,
        len(settings.routes),
        requeued,
        settings.secrets,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            Receiver(settings, queue, counters).app(),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again: these
    # handlers turn it into SystemExit, so the runs in progress are stopped and requeued below.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_on_signal)
    if dispatch:
        loop.start()
    try:
        server.run()
    finally:
        loop.stop()
        queue.close()
        logger.info("event=serve_stopped")


main.add_command(subscriptions)
