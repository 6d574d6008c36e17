"""Real time under load: a burst of 500 new orders, then the receiver killed with SIGKILL mid-burst.

One sandbox and one `kconnector-realtime serve` process (the e2e module's `Receiver`: debounce
3 s, max delay 5 s), the Shopify webhooks registered through the subscription API:

1. 500 orders created in the Shopify emulator within 10 s coalesce into a few runs (the max delay
   starts one during the burst, the rest wait for one follow-up), and each order is in QuickBooks
   exactly once.
2. 100 more orders are created while the receiver is killed with SIGKILL during its run: the
   Shopify emulator's retries reach the restarted receiver, the dead dispatcher's claims go back
   to the queue at start, the dispatcher drains the queue, then the scheduled poll job runs; each
   order is in QuickBooks exactly once.

Cost: about 5 `meltano run`s (2-3 for the burst, the killed one, its follow-up, the poll).
No assertion depends on a date.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meltano_sandbox import SHOP, MeltanoProject, Sandbox, ensure_plugins_installed
from test_realtime_e2e import PRIMARY, WAIT_SECONDS, Receiver

from kconnector_realtime.subscriptions import ShopifySubscriptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.timeout(900)

BURST = 500
BURST_SECONDS = 10.0
KILLED_BURST = 100
MAX_BURST_RUNS = 4  # "a few": one during the burst (max delay), one follow-up, some slack


def _wait(condition: Callable[[], bool], seconds: float, receiver: Receiver) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"not reached in {seconds} s; receiver log:\n{receiver.log()}")


def _create_orders(sandbox: Sandbox, count: int, seconds: float) -> list[str]:
    """`count` new Shopify orders spread over at most `seconds`; their QuickBooks DocNumbers."""
    url = f"{sandbox.url('shopify')}/__admin/{SHOP}/orders"
    session = requests.Session()
    started = time.monotonic()

    def create(index: int) -> str:
        # Paced: order `index` is not created before its share of the window.
        delay = started + seconds * index / count * 0.8 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        response = session.post(url, json={}, timeout=30)
        response.raise_for_status()
        order: dict[str, Any] = response.json()
        return "SH-" + str(order["name"]).lstrip("#")

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(create, range(count)))
    assert time.monotonic() - started <= seconds, "the burst took longer than its window"
    return numbers


def _doc_numbers(sandbox: Sandbox) -> Counter[str]:
    return Counter(
        str(document.get("DocNumber"))
        for entity in PRIMARY
        for document in sandbox.qbo_documents(entity)
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    ensure_plugins_installed()
    served = Sandbox(orders=3)
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    work = tmp_path_factory.mktemp("realtime-burst")
    return MeltanoProject(sandbox=sandbox, work=work, private_run_dir=True)


@pytest.fixture(scope="module")
def receiver(sandbox: Sandbox, project: MeltanoProject) -> Iterator[Receiver]:
    running = Receiver(project, project.work)
    running.start()
    shopify = sandbox.emulators["shopify"].shop(SHOP).profile
    ShopifySubscriptions(
        f"{sandbox.url('shopify')}/shops/{SHOP}", shopify.access_token, requests.Session()
    ).register(f"{running.url}/webhooks/shopify")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def burst(sandbox: Sandbox, receiver: Receiver) -> tuple[list[str], int]:
    """500 orders in 10 s, delivered by webhooks alone; their numbers and the runs it took."""
    numbers = _create_orders(sandbox, BURST, BURST_SECONDS)
    time.sleep(4)  # the last deliveries arrive and settle
    _wait(receiver.idle, WAIT_SECONDS, receiver)
    return numbers, receiver.health()["counters"]["runs_started"]


def test_a_burst_of_500_orders_is_coalesced_into_a_few_runs(
    burst: tuple[list[str], int],
) -> None:
    _numbers, runs = burst
    assert 1 <= runs <= MAX_BURST_RUNS


def test_each_order_of_the_burst_is_in_quickbooks_exactly_once(
    sandbox: Sandbox, burst: tuple[list[str], int]
) -> None:
    numbers, _runs = burst
    documents = _doc_numbers(sandbox)
    assert len(set(numbers)) == BURST
    assert {number: documents[number] for number in numbers} == dict.fromkeys(numbers, 1)


def test_sigkill_mid_burst_loses_no_order(
    sandbox: Sandbox,
    project: MeltanoProject,
    receiver: Receiver,
    burst: tuple[list[str], int],
) -> None:
    runs_before = receiver.health()["counters"]["runs_started"]
    created: list[str] = []
    creator = threading.Thread(
        target=lambda: created.extend(_create_orders(sandbox, KILLED_BURST, BURST_SECONDS))
    )
    creator.start()
    # The max delay starts a run during the burst: kill the receiver while it holds its claims.
    _wait(
        lambda: receiver.health()["counters"]["runs_started"] > runs_before,
        WAIT_SECONDS,
        receiver,
    )
    assert receiver.process is not None
    receiver.process.kill()  # SIGKILL: no requeue, its run orphaned
    receiver.process.wait(timeout=10)
    creator.join(timeout=60)
    assert len(created) == KILLED_BURST

    receiver.start()  # same port and queue: the store's retries reach it
    time.sleep(4)
    _wait(receiver.idle, WAIT_SECONDS, receiver)
    poll = project.run("shopify-to-quickbooks")
    assert poll.returncode == 0, poll.stdout[-4000:] + poll.stderr[-4000:]

    documents = _doc_numbers(sandbox)
    everything = [*burst[0], *created]
    assert {number: documents[number] for number in everything} == dict.fromkeys(everything, 1)
    assert not [number for number, count in documents.items() if count > 1]
