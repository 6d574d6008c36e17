"""No configured secret reaches anything a plugin prints, whatever fails, at DEBUG.

Each plugin runs as its own process (its real CLI, `--config` file, `LOGLEVEL=DEBUG`) against a
host failing in one way (`failing_hosts`): connection refused, DNS failure, TLS failure, no
answer, HTTP 401/403/500 echoing the request (credentials included), a malformed body, and a
config whose secret has the wrong type (the SDK's validation quotes the value). Every byte of
stdout and stderr is searched for every secret, as written, percent-encoded and inside an
HTTP Basic pair. Each run must also show that it met the failure (a request reached the host,
or the error names it), so a run that stopped earlier proves nothing and fails.

The runs start together in the background (a thread pool) when the first test asks, so the
matrix costs about the slowest run times the rounds of the pool.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import failing_hosts as hosts

if TYPE_CHECKING:
    from collections.abc import Iterator

INVALID_SECRET = "invalid-secret-type"
# Which modes each plugin runs: WooCommerce's HTTP Basic pair only travels in a header, so only
# answers that can echo it are run with it; the target's config check is the same for both.
CASES: dict[str, tuple[str, ...]] = {
    "tap-shopify-orders": (*hosts.FAILURE_MODES, INVALID_SECRET),
    "tap-woocommerce-orders/query_string": (*hosts.FAILURE_MODES, INVALID_SECRET),
    "tap-woocommerce-orders/basic": hosts.ANSWER_MODES,
    "target-quickbooks/token-endpoint": (*hosts.FAILURE_MODES, INVALID_SECRET),
    "target-quickbooks/api": hosts.FAILURE_MODES,
}
# What a run's output shows when it met the network failure it was sent to.
NETWORK_EVIDENCE = {
    "refused": r"ConnectionError|Connection refused",
    "dns": r"ConnectionError|resolve",
    "tls": r"SSLError|SSL",
    "timeout": r"ReadTimeout|Read timed out|timed out",
}
WORKERS = max(4, 2 * (os.cpu_count() or 1))


def _tag(plugin: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", plugin)


def build_run(plugin: str, mode: str, host: hosts.FailingHost, work: Path) -> hosts.PluginRun:
    """The run of `plugin` against `host` failing in `mode`."""
    url = host.url("refused" if mode == INVALID_SECRET else mode, _tag(plugin))
    if plugin == "tap-shopify-orders":
        run = hosts.shopify_run(url)
    elif plugin.startswith("tap-woocommerce-orders/"):
        run = hosts.woocommerce_run(url, auth_method=plugin.split("/", 1)[1])
    elif plugin == "target-quickbooks/token-endpoint":
        run = hosts.target_run(url, f"{url}/oauth2/v1/tokens/bearer", work)
    else:
        run = hosts.target_run(url, f"{host.url('token')}/oauth2/v1/tokens/bearer", work)
    if mode == INVALID_SECRET:
        run = with_invalid_secret(run)
    return run


def with_invalid_secret(run: hosts.PluginRun) -> hosts.PluginRun:
    """`run` with its first secret setting given as a number (a YAML id left unquoted)."""
    number = "918273645546372819"
    config = dict(run.config)
    name = next(key for key, value in config.items() if value == run.secrets[0])
    config[name] = int(number)
    return hosts.PluginRun(
        plugin=run.plugin,
        launch=run.launch,
        config=config,
        secrets=(*run.secrets[1:], number),
        stdin=run.stdin,
        env=run.env,
    )


def upstream_environment() -> dict[str, str]:
    """The upstream plugins' secrets as Meltano passes settings kept in a project's `.env`."""
    return {
        "TAP_SHOPIFY_ORDERS_ACCESS_TOKEN": hosts.SHOPIFY_TOKEN,
        "TAP_WOOCOMMERCE_ORDERS_CONSUMER_KEY": hosts.WOO_KEY,
        "TAP_WOOCOMMERCE_ORDERS_CONSUMER_SECRET": hosts.WOO_SECRET,
        "TARGET_QUICKBOOKS_CLIENT_SECRET": hosts.QBO_CLIENT_SECRET,
        "TARGET_QUICKBOOKS_REFRESH_TOKEN": hosts.QBO_REFRESH_TOKEN,
    }


@pytest.fixture(scope="module")
def host() -> Iterator[hosts.FailingHost]:
    """One loopback server for every failing answer."""
    served = hosts.FailingHost()
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest,
    host: hosts.FailingHost,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, str], Future[tuple[hosts.PluginRun, hosts.RunOutput]]]]:
    """Every selected run, started at once in the background, by (plugin, mode)."""
    selected = [
        getattr(item, "callspec", None)
        for item in request.session.items
        if item.path == Path(__file__)
    ]
    wanted = [
        (str(spec.params["plugin"]), str(spec.params["mode"]))
        for spec in selected
        if spec is not None and {"plugin", "mode"} <= set(spec.params)
    ]

    # Every folder is made here, before the threads start: pytest's temporary-folder factory is
    # not thread-safe (two threads creating a pytest-xdist worker's base folder at once fail).
    works = {case: tmp_path_factory.mktemp(f"{_tag(case[0])}-{case[1]}") for case in wanted}

    def start(plugin: str, mode: str) -> tuple[hosts.PluginRun, hosts.RunOutput]:
        work = works[plugin, mode]
        run = build_run(plugin, mode, host, work)
        return run, hosts.run_plugin(run, work)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield {case: pool.submit(start, *case) for case in wanted}


@pytest.mark.parametrize(
    ("plugin", "mode"),
    [(plugin, mode) for plugin, modes in CASES.items() for mode in modes],
)
def test_no_secret_in_anything_a_failing_plugin_prints(
    plugin: str,
    mode: str,
    host: hosts.FailingHost,
    runs: dict[tuple[str, str], Future[tuple[hosts.PluginRun, hosts.RunOutput]]],
) -> None:
    run, result = runs[plugin, mode].result()
    assert result.returncode is not None, (
        f"{plugin} still running after its timeout:\n{result.text[-3000:]}"
    )
    assert result.returncode != 0, f"{plugin} did not report the failure:\n{result.text[-3000:]}"
    if mode == INVALID_SECRET:
        assert "is not of type" in result.text, result.text[-3000:]
    elif mode in NETWORK_EVIDENCE:
        assert re.search(NETWORK_EVIDENCE[mode], result.text), result.text[-3000:]
    else:
        assert host.first_arrival(mode, _tag(plugin)) is not None, result.text[-3000:]
    assert hosts.leaked_forms(result.output, run.secrets) == []


def test_map_quickbooks_prints_none_of_the_upstream_secrets(tmp_path: Path) -> None:
    """map-quickbooks has no secret; the upstream ones in its environment stay out of its output."""
    run = hosts.mapper_run(upstream_environment())
    result = hosts.run_plugin(run, tmp_path)
    assert b'"type":"RECORD"' in result.output.replace(b" ", b""), result.text[-3000:]
    assert result.returncode != 0, "the broken last line must be reported"
    assert hosts.leaked_forms(result.output, run.secrets) == []


def test_meltano_invoke_at_debug_prints_no_secret(tmp_path: Path) -> None:
    """Meltano's own view (its debug log and the plugin's relayed output) carries no secret."""
    from meltano_sandbox import (  # noqa: PLC0415 - needs Meltano, installed by `make test`
        MELTANO,
        ROOT,
        ensure_plugins_installed,
        private_sys_dir,
    )

    ensure_plugins_installed()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MELTANO_", "TAP_", "TARGET_", "MAP_"))
    }
    env.update(
        {
            "MELTANO_ENVIRONMENT": "demo",
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
            "MELTANO_SYS_DIR_ROOT": str(private_sys_dir(tmp_path / "meltano-sys")),
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TAP_WOOCOMMERCE_ORDERS_LOGLEVEL": "DEBUG",
            "TAP_WOOCOMMERCE_ORDERS_URL": f"http://127.0.0.1:{hosts.closed_port()}",
            "TAP_WOOCOMMERCE_ORDERS_CONSUMER_KEY": hosts.WOO_KEY,
            "TAP_WOOCOMMERCE_ORDERS_CONSUMER_SECRET": hosts.WOO_SECRET,
            "TAP_WOOCOMMERCE_ORDERS_AUTH_METHOD": "query_string",
            "TAP_WOOCOMMERCE_ORDERS_ALLOW_INSECURE_HTTP": "true",
            "TAP_WOOCOMMERCE_ORDERS_MAX_RETRIES": "0",
        }
    )
    completed = subprocess.run(
        [str(MELTANO), "--log-level=debug", "invoke", "tap-woocommerce-orders"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    output = completed.stdout + completed.stderr
    text = output.decode("utf-8", "replace")
    assert completed.returncode != 0, text[-3000:]
    assert "ConnectionError" in text, text[-3000:]
    assert hosts.leaked_forms(output, (hosts.WOO_KEY, hosts.WOO_SECRET)) == []
