"""A host that drips its answer forever cannot hold a plugin: every answer has a total deadline.

A read timeout bounds each wait for bytes, so a host sending one byte every 0.3 s would never
trip it; `kconnector_canonical.http_session.GuardedSession` stops each answer at a total
deadline. Each plugin (both taps, the target's API client and its token endpoint) runs as its
own process against such a host with a 2 s timeout and no retry: it must give up within the
deadline plus a margin for a loaded machine, counted from the moment its request reached the
host, and say why.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import failing_hosts as hosts

if TYPE_CHECKING:
    from collections.abc import Iterator

DEADLINE_SECONDS = hosts.SHORT_TIMEOUT_SECONDS
# Process exit after the error (traceback, logging, closing the store) on a busy 2-core machine.
MARGIN_SECONDS = 3.0
# Without a deadline the plugin never ends: the run is stopped here, and the test fails.
RUN_LIMIT_SECONDS = 40.0
PLUGINS = (
    "tap-shopify-orders",
    "tap-woocommerce-orders",
    "target-quickbooks/api",
    "target-quickbooks/token-endpoint",
)
# What each plugin's output says about the cut-off answer.
EXPLANATION = {
    "tap-shopify-orders": f"did not finish its answer within {DEADLINE_SECONDS} s",
    "tap-woocommerce-orders": f"did not finish its answer within {DEADLINE_SECONDS} s",
    "target-quickbooks/api": f"did not finish its answer within {DEADLINE_SECONDS} s",
    "target-quickbooks/token-endpoint": f"did not finish its answer within {DEADLINE_SECONDS} s",
}


def drip_run(plugin: str, host: hosts.FailingHost, work: Path) -> hosts.PluginRun:
    """`plugin` reading from the dripping host, one try, the short timeout."""
    drip = host.url("drip", plugin.replace("/", "-"))
    if plugin == "tap-shopify-orders":
        return hosts.shopify_run(drip, tries=1)
    if plugin == "tap-woocommerce-orders":
        return hosts.woocommerce_run(drip, auth_method="basic", max_retries=0)
    token = f"{host.url('token')}/oauth2/v1/tokens/bearer"
    if plugin == "target-quickbooks/api":
        return hosts.target_run(drip, token, work, max_attempts=1)
    return hosts.target_run(drip, f"{drip}/oauth2/v1/tokens/bearer", work, max_attempts=1)


@pytest.fixture(scope="module")
def host() -> Iterator[hosts.FailingHost]:
    """The loopback server (its `drip` answers one byte every 0.3 s, forever)."""
    served = hosts.FailingHost()
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def outcomes(
    host: hosts.FailingHost, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, hosts.RunOutput]:
    """Every plugin's run against the dripping host, run side by side."""

    # The folders are made before the threads start: pytest's temporary-folder factory is not
    # thread-safe (two threads creating a pytest-xdist worker's base folder at once fail).
    works = {plugin: tmp_path_factory.mktemp(plugin.replace("/", "-")) for plugin in PLUGINS}

    def run(plugin: str) -> hosts.RunOutput:
        work = works[plugin]
        return hosts.run_plugin(drip_run(plugin, host, work), work, timeout=RUN_LIMIT_SECONDS)

    with ThreadPoolExecutor(max_workers=len(PLUGINS)) as pool:
        return dict(zip(PLUGINS, pool.map(run, PLUGINS), strict=True))


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_dripping_answer_is_given_up_at_the_deadline_with_a_clear_error(
    plugin: str, host: hosts.FailingHost, outcomes: dict[str, hosts.RunOutput]
) -> None:
    result = outcomes[plugin]
    assert result.returncode is not None, f"{plugin} still waiting after {RUN_LIMIT_SECONDS} s"
    asked = host.first_arrival("drip", plugin.replace("/", "-"))
    assert asked is not None, result.text[-3000:]
    assert result.ended_at - asked <= DEADLINE_SECONDS + MARGIN_SECONDS, result.text[-3000:]
    assert result.returncode != 0
    assert EXPLANATION[plugin] in result.text, result.text[-3000:]
