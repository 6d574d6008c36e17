"""End to end, real time: store webhooks alone bring orders to QuickBooks (no scheduled run).

The webhooks are registered as an operator does (`subscriptions`: Shopify's GraphQL
webhookSubscriptionCreate, WooCommerce's POST /wc/v3/webhooks and its ping); the emulators deliver
them signed to a real `kconnector-realtime serve` process, which stores them and runs the store's
job (`meltano run`, narrow window) per store. One round, built once for
the module: an order created, edited and refunded in Shopify, an order created in WooCommerce, a
forged delivery and one delivery sent 5 times. Each `meltano run` costs tens of seconds on a busy
machine, so the round is made of as few runs as the behaviour allows: the Shopify events coalesce
into one run (the debounce), WooCommerce's run goes beside it, the forged delivery runs nothing,
and the repeated delivery's later copies start no further run. No assertion depends on a date.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meltano_sandbox import (
    MELTANO,
    ROOT,
    SHOP,
    US_REALM,
    MeltanoProject,
    Sandbox,
    ensure_plugins_installed,
)

from kconnector_realtime.subscriptions import ShopifySubscriptions, WooCommerceSubscriptions
from kconnector_sandbox.shopify.webhook_subscriptions import APP_CLIENT_SECRET

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# The module's round is built once by the first test's setup: plugin install, a Meltano system
# database, then real `meltano run`s, which take minutes together on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)

RECEIVER = ROOT / ".venv" / "bin" / "kconnector-realtime"
SHOPIFY_SECRET = APP_CLIENT_SECRET  # the sandbox app's: signs API-created subscriptions
WOO_SECRET = "wc_e2e_realtime_webhook_secret"
VERIFIER = "intuit_e2e_realtime_verifier_token"
WAIT_SECONDS = 240  # a `meltano run` alone takes a minute on a loaded 2-core machine
DEBOUNCE_SECONDS = 3
PRIMARY = ("SalesReceipt", "Invoice")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Receiver:
    """A `kconnector-realtime serve` child process and its log."""

    def __init__(self, project: MeltanoProject, work: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = work / "receiver.log"
        routes = (
            f'[[stores]]\nstore = "shopify:{SHOP}"\nrealm_id = "{US_REALM}"\n'
            f'[[stores]]\nstore = "woocommerce:127.0.0.1"\nrealm_id = "{US_REALM}"\n'
        )
        self.env = {
            **project.env(),
            "KCONNECTOR_REALTIME_DATABASE_URL": f"sqlite:///{project.target_database}",
            "KCONNECTOR_REALTIME_STORES": routes,
            "KCONNECTOR_REALTIME_SHOPIFY_CLIENT_SECRET": SHOPIFY_SECRET,
            "KCONNECTOR_REALTIME_WOOCOMMERCE_SECRET": WOO_SECRET,
            "KCONNECTOR_REALTIME_QUICKBOOKS_VERIFIER_TOKEN": VERIFIER,
            "KCONNECTOR_REALTIME_MELTANO": str(MELTANO),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The test's Meltano system database is new: create it once here, or the two stores'
        # first runs (in parallel) would race to create its tables. A deployed project has it,
        # and so does a restarted receiver's (a `meltano` command costs seconds of CPU).
        database = Path(self.env["MELTANO_DATABASE_URI"].removeprefix("sqlite:///"))
        if not database.exists():
            subprocess.run(
                [str(MELTANO), "state", "list"],
                cwd=ROOT,
                env=self.env,
                capture_output=True,
                timeout=300,
                check=True,
            )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(RECEIVER),
                    "serve",
                    "--port",
                    str(self.port),
                    "--debounce-seconds",
                    str(DEBOUNCE_SECONDS),
                    "--max-delay-seconds",
                    "5",
                    "--tick-seconds",
                    "0.2",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(self._healthy, 30, self)

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def health(self) -> dict[str, Any]:
        response = requests.get(f"{self.url}/healthz", timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def idle(self) -> bool:
        queue = self.health()["queue"]
        return queue["queued"] == 0 and queue["claimed"] == 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _wait(condition: Callable[[], bool], seconds: float, receiver: Receiver) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"not reached in {seconds} s; receiver log:\n{receiver.log()}")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    ensure_plugins_installed()
    served = Sandbox(orders=3)
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def receiver(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    work = tmp_path_factory.mktemp("realtime")
    project = MeltanoProject(sandbox=sandbox, work=work, private_run_dir=True)
    running = Receiver(project, work)
    running.start()
    # Registered as an operator does (`kconnector-realtime subscriptions register`): Shopify's
    # GraphQL webhookSubscriptionCreate, WooCommerce's POST /wc/v3/webhooks (with its ping).
    shopify = sandbox.emulators["shopify"].shop(SHOP).profile
    ShopifySubscriptions(
        f"{sandbox.url('shopify')}/shops/{SHOP}", shopify.access_token, requests.Session()
    ).register(f"{running.url}/webhooks/shopify")
    key = sandbox.emulators["woocommerce"].demo_key
    WooCommerceSubscriptions(
        sandbox.url("woocommerce"), key.consumer_key, key.consumer_secret, requests.Session()
    ).register(f"{running.url}/webhooks/woocommerce", WOO_SECRET)
    yield running
    running.stop()


def _entity_documents(sandbox: Sandbox, doc_number: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (entity, document)
        for entity in PRIMARY
        for document in sandbox.qbo_documents(entity)
        if document.get("DocNumber") == doc_number
    ]


def _documents(sandbox: Sandbox, doc_number: str) -> list[dict[str, Any]]:
    return [document for _entity, document in _entity_documents(sandbox, doc_number)]


def _refunds(sandbox: Sandbox) -> set[str]:
    return {d["Id"] for d in sandbox.qbo_documents("RefundReceipt")}


def _shopify_delivery(receiver: Receiver, body: bytes, event_id: str, secret: str) -> int:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": f"replayed-{event_id}",
        "X-Shopify-Hmac-Sha256": _sign(body, secret),
    }
    return requests.post(
        f"{receiver.url}/webhooks/shopify", data=body, headers=headers, timeout=10
    ).status_code


@dataclass
class Round:
    """What one round of store changes produced."""

    shopify_number: str
    woocommerce_number: str
    refunds_before: set[str]
    forged_status: int
    replay_statuses: list[int] = field(default_factory=list)
    runs_after_round: int = 0
    runs_after_replays: int = 0
    health: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def round_(sandbox: Sandbox, receiver: Receiver) -> Round:
    shopify = f"{sandbox.url('shopify')}/__admin/{SHOP}/orders"
    existing = requests.get(shopify, timeout=30).json()
    replay = json.dumps({"id": existing[0]["id"]}).encode()
    forged = _shopify_delivery(receiver, b'{"id": 1}', "forged-1", "not-the-app-secret")
    refunds_before = _refunds(sandbox)

    # All inside one debounce: one Shopify run, one WooCommerce run.
    order = requests.post(shopify, json={}, timeout=30).json()
    requests.post(
        f"{shopify}/{order['id']}/edit", json={"note": "Ring twice"}, timeout=30
    ).raise_for_status()
    requests.post(
        f"{shopify}/{order['id']}/refund", json={"lines": [[0, 1]]}, timeout=30
    ).raise_for_status()
    woo = requests.post(
        f"{sandbox.url('woocommerce')}/__admin/orders", json={"status": "processing"}, timeout=30
    ).json()
    replays = [_shopify_delivery(receiver, replay, "replayed-event", SHOPIFY_SECRET)]
    result = Round(
        shopify_number="SH-" + order["name"].lstrip("#"),
        woocommerce_number="WC-" + str(woo["number"]),
        refunds_before=refunds_before,
        forged_status=forged,
    )
    time.sleep(DEBOUNCE_SECONDS)  # the deliveries arrive and settle
    _wait(receiver.idle, WAIT_SECONDS, receiver)
    result.runs_after_round = receiver.health()["counters"]["runs_started"]

    # The same delivery 4 more times, after its run: stored once, so no further run.
    replays += [
        _shopify_delivery(receiver, replay, "replayed-event", SHOPIFY_SECRET) for _ in "abcd"
    ]
    time.sleep(DEBOUNCE_SECONDS + 1)
    _wait(receiver.idle, WAIT_SECONDS, receiver)
    result.replay_statuses = replays
    result.health = receiver.health()
    result.runs_after_replays = result.health["counters"]["runs_started"]
    return result


def test_a_shopify_order_created_edited_and_refunded_reaches_quickbooks_by_webhooks(
    sandbox: Sandbox, round_: Round
) -> None:
    (document,) = _documents(sandbox, round_.shopify_number)
    assert "Ring twice" in (document.get("PrivateNote") or "")
    assert len(_refunds(sandbox) - round_.refunds_before) == 1


def test_a_woocommerce_order_reaches_quickbooks_by_webhooks(
    sandbox: Sandbox, round_: Round
) -> None:
    assert len(_documents(sandbox, round_.woocommerce_number)) == 1


def test_each_store_ran_once_for_its_coalesced_events(round_: Round) -> None:
    # Shopify: create, edit, refund (3 topics + orders/updated) and a replayed delivery -> 1 run;
    # WooCommerce: 1 run.
    assert round_.runs_after_round == 2


def test_a_forged_signature_gets_401_and_nothing_runs(round_: Round) -> None:
    assert round_.forged_status == 401
    assert round_.health["counters"]["rejected"] == 1
    assert round_.runs_after_round == 2  # the forged delivery added no run


def test_the_same_delivery_sent_five_times_leads_to_one_run(round_: Round) -> None:
    assert round_.replay_statuses == [200] * 5
    assert round_.runs_after_replays == round_.runs_after_round
    assert round_.health["queue"]["duplicate"] >= 4


@pytest.fixture(scope="module")
def quickbooks_edit(sandbox: Sandbox, receiver: Receiver, round_: Round) -> str:
    """A bookkeeper raises a price in QuickBooks on a document K-Connector wrote; the log after."""
    qbo = sandbox.url("qbo")
    requests.post(
        f"{qbo}/__admin/webhooks",
        json={"url": f"{receiver.url}/webhooks/quickbooks", "verifier_token": VERIFIER},
        timeout=30,
    ).raise_for_status()
    (entity, document), *_ = _entity_documents(sandbox, round_.shopify_number)
    lines = [
        dict(line) for line in document["Line"] if line.get("DetailType") != "SubTotalLineDetail"
    ]
    sales = next(line for line in lines if line.get("DetailType") == "SalesItemLineDetail")
    detail = dict(sales["SalesItemLineDetail"])
    detail["UnitPrice"] = float(Decimal(str(detail["UnitPrice"])) + 1)
    sales["SalesItemLineDetail"] = detail
    sales["Amount"] = float(Decimal(str(detail["UnitPrice"])) * Decimal(str(detail["Qty"])))
    runs_before = receiver.health()["counters"]["runs_started"]
    requests.post(
        f"{qbo}/__admin/realms/{US_REALM}/edit/{entity}/{document['Id']}",
        json={"Line": lines},
        timeout=30,
    ).raise_for_status()
    _wait(
        lambda: receiver.health()["counters"]["runs_started"] > runs_before, WAIT_SECONDS, receiver
    )
    time.sleep(DEBOUNCE_SECONDS)
    _wait(receiver.idle, WAIT_SECONDS, receiver)
    return receiver.log_path.read_text(errors="replace")


def test_a_bookkeepers_edit_in_quickbooks_runs_the_conflict_check_promptly(
    quickbooks_edit: str,
) -> None:
    # QuickBooks' CloudEvent -> the receiver -> reconcile of that day, which finds the edit.
    assert "kind=quickbooks" in quickbooks_edit
    assert "event=quickbooks_edit_differs" in quickbooks_edit
