"""The chaos run: every order lands in QuickBooks exactly once despite faults and SIGKILLs.

    .venv/bin/python scripts/chaos.py [--orders N] [--seed S] [--kills K]
                                      [--qbo-faults SPEC] [--store-faults SPEC]
                                      [--time-scale X] [--edits E] [--work DIR]

What it does (all on loopback, nothing outside this machine):

1. Serves the three emulators in this process (`tests/meltano_sandbox.Sandbox`): N/2 orders in
   the Shopify US shop and N/2 in the WooCommerce store, QuickBooks at `--time-scale` (60: its
   one-minute windows last one second) with `--qbo-faults` (20 % by default: 429, 500, 502, 503,
   connection resets, timeouts after commit) and the stores with `--store-faults` (5 %). The
   QuickBooks company gets its one-time setup (the "Gift Card" item), as a bookkeeper's does.
2. Runs `meltano run shopify-to-quickbooks` then `woocommerce-to-quickbooks` as subprocesses in
   their own process group, and kills the whole group with SIGKILL K times (seeded), each time
   once QuickBooks holds a random number of new documents of that job; each kill is followed by a
   re-run (`meltano run --force`: the killed run never marked itself finished). A kill whose job
   finished before its moment is a no-op and counted as such. Each job then runs until it exits 0.
3. Between two runs of a job (after the first attempt that left documents in the target's
   ledger), edits some already-written documents as a bookkeeper would (the QuickBooks
   emulator's admin edit) and the same orders in the store (the store emulators' admin edits),
   so the next sync sees both sides changed: the note on both sides plus CustomerMemo in
   QuickBooks only (non-critical: last write wins, by the store's `updated_at` against
   QuickBooks' `LastUpdatedTime`), TxnDate in QuickBooks only (critical, one side: QuickBooks'
   value stays), a line amount in QuickBooks and a quantity in the Shopify order (critical on
   both sides: a conflict for the review queue, QuickBooks untouched).
4. Checks, from the emulators' own data and the target's store (SQLite: ledger, dead_letters,
   review_queue, audit_log): every in-scope order exactly once in QuickBooks (DocNumber
   `SH-<number>` / `WC-<number>`; and every document's `[kc:<external id>]` marker once), totals
   and tax equal to the store's to the cent, the edits handled as docs/conflicts.md says, every
   dead letter with an error class and guidance, no secret in any log or table, and no client
   protocol problem in the QuickBooks emulator's strict report (docs/sandbox-qbo.md, "Strict
   report"). Payouts: every paid payout of both stores (Shopify Payments' own, WooCommerce's
   estimate per gateway and store-local day, tests/store_payouts.py) has exactly one Deposit,
   counted by its marker in QuickBooks and by external id in the target's ledger (the same
   QuickBooks Id), with TotalAmt = the payout's net; a failed or scheduled payout has none.
   Prints the figures and exits 0 only when every check holds.

The target's retry backoff and client-side rate-limit window are divided by the time scale like
the emulator's windows (`min_backoff_seconds`, `max_backoff_seconds`, `rate_limit_window_seconds`,
set through Meltano's environment variables), so a run "minute" lasts a second on both sides.

Each run's logs, Meltano system database, target store and a private Meltano run folder are in
`--work` (a new temporary folder by default).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from kconnector_sandbox.qbo import json_codec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from meltano_sandbox import (  # noqa: E402 - the harness lives beside the end-to-end tests
    SHOP,
    US_REALM,
    MeltanoProject,
    Sandbox,
    ensure_plugins_installed,
)
from store_payouts import (  # noqa: E402 - beside the end-to-end tests too
    cents,
    shopify_payouts,
    woocommerce_payouts,
)

if TYPE_CHECKING:
    import subprocess

DEFAULT_QBO_FAULTS = "429=0.05,500=0.04,502=0.02,503=0.02,reset=0.03,timeout_after_commit=0.04"
DEFAULT_STORE_FAULTS = "429=0.02,500=0.01,502=0.005,503=0.005,reset=0.01"
PRIMARY = ("SalesReceipt", "Invoice")
DOCUMENT_ENTITIES = (*PRIMARY, "Payment", "RefundReceipt", "CreditMemo", "Customer")
MARKER = re.compile(r"\[kc:(?P<external_id>[^\]\s]+) v[0-9a-f]+\]")
CENT = Decimal("0.01")
POLL_SECONDS = 0.1
TOKEN_POLLS = 10  # read the emulator's live tokens every tenth poll (access tokens expire)
SHOWN = 10  # problems listed per failed check

CHECK_JOBS = "every job ends with exit 0"
CHECK_KILLS = "every kill landed while a job ran"
CHECK_DUPLICATES = "no duplicates"
CHECK_MISSING = "none missing"
CHECK_RECONCILED = "totals and tax equal the store's"
CHECK_CONFLICTS = "critical conflicts in the review queue"
CHECK_KEPT = "the bookkeeper's critical values kept"
CHECK_LWW = "non-critical edits merged last-write-wins"
CHECK_UNTOUCHED = "fields only the bookkeeper changed kept"
CHECK_DEAD_LETTERS = "dead letters carry an error class and guidance"
CHECK_SECRETS = "no secret in logs or tables"
CHECK_PROTOCOL = "no client protocol problem in the QuickBooks strict report"
CHECK_PAYOUTS = "exactly one Deposit per paid payout, its total the payout's net"
ADMIN_TIMEOUT = 60


@dataclass(frozen=True)
class Job:
    """One Meltano job and how its documents and orders are named."""

    name: str
    platform: str
    prefix: str


JOBS = (
    Job("shopify-to-quickbooks", "shopify", "SH-"),
    Job("woocommerce-to-quickbooks", "woocommerce", "WC-"),
)


@dataclass(frozen=True)
class ChaosConfig:
    """The run's size, faults and randomness."""

    orders: int = 10_000
    seed: int = 1
    kills: int = 5
    qbo_faults: str = DEFAULT_QBO_FAULTS
    store_faults: str = DEFAULT_STORE_FAULTS
    time_scale: float = 60.0
    edits_per_kind: int | None = None  # per platform and kind; from the size when None
    work: Path | None = None
    run_timeout: float = 1800.0
    final_attempts: int = 3

    @property
    def orders_per_store(self) -> int:
        """Orders in each store (half of the total)."""
        return max(1, self.orders // 2)

    @property
    def cases_per_kind(self) -> int:
        """Bookkeeper edits per platform and kind."""
        if self.edits_per_kind is not None:
            return self.edits_per_kind
        return max(2, self.orders_per_store // 250)


@dataclass
class StoreOrder:
    """An order as its store holds it, with what QuickBooks must end up with."""

    platform: str
    source_id: str
    number: str
    total: Decimal
    tax: Decimal
    in_scope: bool
    may_be_void: bool
    updated_at: datetime | None = None


@dataclass
class EditCase:
    """A bookkeeper edit in QuickBooks plus an edit of the same order in the store."""

    kind: str  # "note" (non-critical), "date" (critical, QuickBooks only), "line" (both sides)
    platform: str
    doc_number: str
    entity: str
    qbo_id: str
    external_id: str
    source_id: str
    bookkeeper_note: str
    bookkeeper_memo: str
    store_note: str | None
    qbo_edited_at: datetime
    store_edited_at: datetime | None
    bookkeeper_txn_date: str | None = None
    bookkeeper_total: Decimal | None = None
    bookkeeper_tax: Decimal | None = None

    @property
    def store_wins(self) -> bool:
        """Last write wins on the note: the store's edit is as late (to the second) or later."""
        if self.store_edited_at is None:
            return False
        return self.store_edited_at.replace(microsecond=0) >= self.qbo_edited_at.replace(
            microsecond=0
        )

    @property
    def critical_conflict(self) -> bool:
        """Both sides changed a critical field (the lines): the review queue's case."""
        return self.kind == "line"


@dataclass
class JobAttempt:
    """One `meltano run` of a job."""

    job: str
    attempt: int
    kill_planned: bool
    killed: bool
    returncode: int | None
    seconds: float
    log: Path


@dataclass
class ChaosResult:
    """The figures and the failed checks of one chaos run."""

    figures: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, list[str]] = field(default_factory=dict)  # check -> problems (none: held)

    def record(self, check: str, problems: list[str]) -> None:
        """The outcome of one check (adds to what an earlier call of the same check found)."""
        self.checks.setdefault(check, []).extend(problems)

    @property
    def failures(self) -> list[str]:
        """One line per failed check, with its first problems."""
        lines = []
        for check, problems in self.checks.items():
            if problems:
                shown = ", ".join(problems[:SHOWN])
                more = f" ... ({len(problems)} in all)" if len(problems) > SHOWN else ""
                lines.append(f"{check}: {shown}{more}")
        return lines

    @property
    def ok(self) -> bool:
        """Every check held."""
        return not self.failures


# ------------------------------------------------------------------ store data


def shopify_orders(sandbox: Sandbox) -> dict[str, StoreOrder]:
    """The Shopify US shop's orders by number: admin totals, tax and test flag from its state."""
    response = requests.get(
        f"{sandbox.url('shopify')}/__admin/{SHOP}/orders", timeout=ADMIN_TIMEOUT
    )
    response.raise_for_status()
    state = sandbox.emulators["shopify"].shop(SHOP)
    orders: dict[str, StoreOrder] = {}
    for summary in response.json():
        model = state.orders.get(int(summary["id"]))
        if model is None:
            continue
        number = str(summary["name"]).lstrip("#")
        total = Decimal(str(summary["total_price"]))
        # docs/mapping.md: a cancelled or deleted order with nothing paid (a zero total included)
        # is voided, so it may be absent from QuickBooks
        nothing_paid = total == 0 or summary["financial_status"] in {
            "VOIDED",
            "PENDING",
            "AUTHORIZED",
            "EXPIRED",
        }
        orders[number] = StoreOrder(
            platform="shopify",
            source_id=str(summary["id"]),
            number=number,
            total=total,
            tax=Decimal(str(model.total_tax_set.shop_money.amount)),
            in_scope=not model.test,
            may_be_void=bool(summary["cancelled"]) and nothing_paid,
            updated_at=datetime.fromisoformat(str(summary["updated_at"])),
        )
    return orders


def woocommerce_orders(sandbox: Sandbox) -> dict[str, StoreOrder]:
    """The WooCommerce store's orders by number (trash included), from its admin endpoint."""
    response = requests.get(f"{sandbox.url('woocommerce')}/__admin/orders", timeout=ADMIN_TIMEOUT)
    response.raise_for_status()
    orders: dict[str, StoreOrder] = {}
    for order in response.json():
        status = str(order["status"])
        number = str(order["number"])
        orders[number] = StoreOrder(
            platform="woocommerce",
            source_id=str(order["id"]),
            number=number,
            total=Decimal(str(order["total"])),
            tax=Decimal(str(order["total_tax"])),
            # a block-checkout draft is not an order yet (tap-woocommerce-orders README)
            in_scope=status != "checkout-draft",
            # trash is a deletion; nothing paid: never paid, or paid a zero total
            may_be_void=status in {"cancelled", "trash"}
            and (not order.get("date_paid_gmt") or Decimal(str(order["total"])) == 0),
            updated_at=datetime.fromisoformat(str(order["date_modified_gmt"])).replace(tzinfo=UTC),
        )
    return orders


def store_orders(sandbox: Sandbox, platform: str) -> dict[str, StoreOrder]:
    """One platform's orders by number."""
    return shopify_orders(sandbox) if platform == "shopify" else woocommerce_orders(sandbox)


# ------------------------------------------------------------------ QuickBooks data


def qbo_entities(sandbox: Sandbox, entity: str) -> list[dict[str, Any]]:
    """Every stored document of an entity, from the QuickBooks emulator's admin endpoint."""
    response = requests.get(
        f"{sandbox.url('qbo')}/__admin/realms/{US_REALM}/entities/{entity}", timeout=ADMIN_TIMEOUT
    )
    response.raise_for_status()
    documents: list[dict[str, Any]] = json_codec.loads(response.content)[entity]
    return documents


def primary_count(sandbox: Sandbox, prefix: str) -> int:
    """How many SalesReceipts and Invoices of a job QuickBooks holds (cheap: in-process state)."""
    company = sandbox.emulators["qbo"].realms[US_REALM]
    return sum(
        1
        for entity in PRIMARY
        for document in company.documents(entity)
        if str(document.get("DocNumber") or "").startswith(prefix)
    )


def bookkeeper_edit(
    sandbox: Sandbox, entity: str, qbo_id: str, patch: dict[str, Any]
) -> dict[str, Any]:
    """Edit a document in QuickBooks as a bookkeeper (the emulator's admin edit)."""
    response = requests.post(
        f"{sandbox.url('qbo')}/__admin/realms/{US_REALM}/edit/{entity}/{qbo_id}",
        data=json_codec.dumps(patch),
        headers={"Content-Type": "application/json"},
        timeout=ADMIN_TIMEOUT,
    )
    response.raise_for_status()
    document: dict[str, Any] = json_codec.loads(response.content)[entity]
    return document


def qbo_time(document: dict[str, Any]) -> datetime:
    """A document's `MetaData.LastUpdatedTime`."""
    return datetime.fromisoformat(str(document["MetaData"]["LastUpdatedTime"]))


# ------------------------------------------------------------------ the target's store


def target_rows(database: Path, table: str) -> list[dict[str, Any]]:
    """Every row of a table of the target's SQLite store ([] when the table does not exist)."""
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        connection.row_factory = sqlite3.Row
        exists = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if exists is None:
            return []
        return [dict(row) for row in connection.execute(f"SELECT * FROM {table}")]  # noqa: S608 - a fixed table name


def source_of(external_id: str) -> tuple[str, str]:
    """(platform, source id) of an order's external id: `<platform>:<store>:<id>#<role>`."""
    order_id = external_id.split("#", 1)[0]
    return order_id.split(":", 1)[0], order_id.rsplit(":", 1)[-1]


# ------------------------------------------------------------------ bookkeeper edits


class EditPlanner:
    """Picks already-written documents and edits them in QuickBooks and in the store."""

    def __init__(self, sandbox: Sandbox, database: Path, rng: random.Random) -> None:
        """Edit through `sandbox`'s admin endpoints; documents chosen from the ledger with `rng`."""
        self.sandbox = sandbox
        self.database = database
        self.rng = rng
        self.cases: list[EditCase] = []

    def edit(self, job: Job, per_kind: int) -> int:
        """Create up to `per_kind` cases of each kind for the job's platform; how many were made.

        Only documents the target's ledger holds are edited (a document QuickBooks committed but
        the ledger never recorded, because the run was killed in between, is adopted by its
        marker on the next run rather than merged).
        """
        ledger = {
            (str(row["entity"]), str(row["qbo_id"])): row
            for row in target_rows(self.database, "ledger")
            if row["entity"] in PRIMARY and row["realm_id"] == US_REALM
        }
        orders = store_orders(self.sandbox, job.platform)
        candidates = [
            (entity, document)
            for entity in PRIMARY
            for document in qbo_entities(self.sandbox, entity)
            if str(document.get("DocNumber") or "").startswith(job.prefix)
            and (entity, str(document["Id"])) in ledger
            and not str(document.get("PrivateNote") or "").startswith("Voided")
            and str(document["DocNumber"]).removeprefix(job.prefix) in orders
        ]
        self.rng.shuffle(candidates)
        # The scarce kind first: a line case needs an unpaid order (`_changed_quantity`), and a
        # document taken for a note or a date first is lost to it. A document that cannot take
        # one kind is offered the next.
        kinds = ("line", "note", "date") if job.platform == "shopify" else ("note", "date")
        wanted = dict.fromkeys(kinds, per_kind)
        made = 0
        for entity, document in candidates:
            open_kinds = [k for k in kinds if wanted[k] > 0]
            if not open_kinds:
                break
            order = orders[str(document["DocNumber"]).removeprefix(job.prefix)]
            external_id = str(ledger[entity, str(document["Id"])]["external_id"])
            for kind in open_kinds:
                case = self._edit_one(
                    kind=kind,
                    job=job,
                    entity=entity,
                    document=document,
                    order=order,
                    external_id=external_id,
                )
                if case is not None:
                    self.cases.append(case)
                    wanted[kind] -= 1
                    made += 1
                    break
        _say(f"{job.platform}: {made} bookkeeper edits of {len(candidates)} written documents")
        return made

    def _edit_one(  # noqa: PLR0913 - one case's context
        self,
        *,
        kind: str,
        job: Job,
        entity: str,
        document: dict[str, Any],
        order: StoreOrder,
        external_id: str,
    ) -> EditCase | None:
        number = len(self.cases) + 1
        qbo_id = str(document["Id"])
        patch: dict[str, Any] = {
            "PrivateNote": f"{document.get('PrivateNote') or ''} | bookkeeper checked {number}",
            "CustomerMemo": {"value": f"Thank you (bookkeeper {number})"},
        }
        line_patch = None
        if kind == "date":
            patch["TxnDate"] = (
                date.fromisoformat(str(document["TxnDate"])) - timedelta(days=1)
            ).isoformat()
        if kind == "line":
            line_patch = _raised_line(document)
            if line_patch is None:
                return None
            store_change = _changed_quantity(self.sandbox, order)
            if store_change is None:
                return None
            patch["Line"] = line_patch
        store_note = None if kind == "line" else f"chaos store note {number}"
        if number % 2:  # QuickBooks first: the store's edit is the later one (or a tie)
            edited = bookkeeper_edit(self.sandbox, entity, qbo_id, patch)
            store_edited_at = self._edit_store(job, order, kind, store_note)
        else:  # the store first, QuickBooks in a later second: the bookkeeper's is later
            store_edited_at = self._edit_store(job, order, kind, store_note)
            time.sleep(1.0 - time.time() % 1.0 + 0.01)  # timestamps are to the second
            edited = bookkeeper_edit(self.sandbox, entity, qbo_id, patch)
        return EditCase(
            kind=kind,
            platform=job.platform,
            doc_number=str(document["DocNumber"]),
            entity=entity,
            qbo_id=qbo_id,
            external_id=external_id,
            source_id=order.source_id,
            bookkeeper_note=f"bookkeeper checked {number}",
            bookkeeper_memo=f"Thank you (bookkeeper {number})",
            store_note=store_note,
            qbo_edited_at=qbo_time(edited),
            store_edited_at=store_edited_at,
            bookkeeper_txn_date=str(edited["TxnDate"]) if kind == "date" else None,
            bookkeeper_total=Decimal(str(edited["TotalAmt"])) if kind == "line" else None,
            bookkeeper_tax=_tax_of(edited) if kind == "line" else None,
        )

    def _edit_store(
        self, job: Job, order: StoreOrder, kind: str, note: str | None
    ) -> datetime | None:
        if kind == "line":  # the quantity was changed before the QuickBooks edit
            return None
        if job.platform == "shopify":
            url = f"{self.sandbox.url('shopify')}/__admin/{SHOP}/orders/{order.source_id}/edit"
            response = requests.post(url, json={"note": note}, timeout=ADMIN_TIMEOUT)
            response.raise_for_status()
            return datetime.fromisoformat(str(response.json()["updated_at"]))
        url = f"{self.sandbox.url('woocommerce')}/__admin/orders/{order.source_id}/modify"
        response = requests.post(url, json={"customer_note": note}, timeout=ADMIN_TIMEOUT)
        response.raise_for_status()
        modified = str(response.json()["date_modified_gmt"])
        return datetime.fromisoformat(modified).replace(tzinfo=UTC)


def _tax_of(document: dict[str, Any]) -> Decimal:
    detail = document.get("TxnTaxDetail") or {}
    return Decimal(str(detail.get("TotalTax", "0")))


def _raised_line(document: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The document's lines with the first item line's unit price one unit higher."""
    lines = [dict(line) for line in document.get("Line", [])]
    for line in lines:
        detail = line.get("SalesItemLineDetail")
        if line.get("DetailType") != "SalesItemLineDetail" or not detail:
            continue
        quantity = Decimal(str(detail.get("Qty", "1")))
        price = Decimal(str(detail.get("UnitPrice", line["Amount"]))) + 1
        line["SalesItemLineDetail"] = {**detail, "UnitPrice": price}
        line["Amount"] = (price * quantity).quantize(CENT)
        return [item for item in lines if item.get("DetailType") != "SubTotalLineDetail"]
    return None


def _changed_quantity(sandbox: Sandbox, order: StoreOrder) -> datetime | None:
    """Add one unit to the first line of an unpaid Shopify order; the edit's time, or None.

    Unpaid orders only: on a paid order the emulator books an edit's money as Shopify does, a
    new charge for units added or a refund for units removed (docs/sandbox-shopify.md), which
    adds a payment or a refund to the order instead of changing its document's lines.
    """
    state = sandbox.emulators["shopify"].shop(SHOP)
    model = state.orders[int(order.source_id)]
    if model.display_financial_status in {"PAID", "PARTIALLY_REFUNDED", "REFUNDED"}:
        return None
    url = f"{sandbox.url('shopify')}/__admin/{SHOP}/orders/{order.source_id}/edit"
    for index, line in enumerate(model.line_items):
        response = requests.post(
            url, json={"quantities": {str(index): line.quantity + 1}}, timeout=ADMIN_TIMEOUT
        )
        if response.status_code == 200:  # noqa: PLR2004 - HTTP OK
            return datetime.fromisoformat(str(response.json()["updated_at"]))
    return None


# ------------------------------------------------------------------ kills and re-runs


class JobRunner:
    """Runs the jobs, kills them at seeded moments and re-runs them until they exit 0."""

    def __init__(self, config: ChaosConfig, sandbox: Sandbox, project: MeltanoProject) -> None:
        """Run `project`'s jobs against `sandbox`; logs go under the project's work folder."""
        self.config = config
        self.sandbox = sandbox
        self.project = project
        self.attempts: list[JobAttempt] = []
        self.tokens: set[str] = set()  # every QuickBooks token seen alive, for the secrets check
        self.logs = project.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def _watch(
        self,
        process: subprocess.Popen[bytes],
        job: Job,
        kill_after: int | None,
        deadline: float,
    ) -> bool:
        """Wait for the run; SIGKILL its group at the kill moment (True) or the deadline."""
        baseline = primary_count(self.sandbox, job.prefix)
        polls = 0
        while process.poll() is None:
            progress = primary_count(self.sandbox, job.prefix) - baseline
            if kill_after is not None and progress >= kill_after:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return True
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return False
            time.sleep(POLL_SECONDS)
            polls += 1
            if polls % TOKEN_POLLS == 0:
                self.tokens |= live_tokens(self.sandbox)
        return False

    def run(self, job: Job, *, kill_after: int | None, force: bool) -> JobAttempt:
        """One `meltano run`; SIGKILL to its process group once `kill_after` new documents exist."""
        number = sum(1 for a in self.attempts if a.job == job.name) + 1
        log = self.logs / f"{job.name}-{number}.log"
        started = time.monotonic()
        with log.open("wb") as output:
            process = self.project.start(job.name, output=output, force=force)
            deadline = started + self.config.run_timeout
            try:
                killed = self._watch(process, job, kill_after, deadline)
            finally:
                if process.poll() is None:  # interrupted: leave no pipeline behind
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        attempt = JobAttempt(
            job=job.name,
            attempt=number,
            kill_planned=kill_after is not None,
            killed=killed,
            returncode=None if killed else process.returncode,
            seconds=round(time.monotonic() - started, 1),
            log=log,
        )
        self.attempts.append(attempt)
        _say(
            f"{job.name} run {number}: "
            + (
                f"killed after {kill_after} new documents"
                if killed
                else f"exit {process.returncode}"
            )
            + f" ({attempt.seconds} s)"
        )
        return attempt


def plan_kills(config: ChaosConfig, rng: random.Random) -> dict[str, int]:
    """How many of the K kills each job gets: spread evenly, the odd one to a seeded job."""
    share = dict.fromkeys((job.name for job in JOBS), config.kills // len(JOBS))
    for job in rng.sample(JOBS, config.kills % len(JOBS)):
        share[job.name] += 1
    return share


def kill_threshold(rng: random.Random, remaining: int) -> int:
    """New documents after which a run is killed: 10-60 % of what the job still has to write."""
    low = max(1, remaining // 10)
    return rng.randint(low, max(low, remaining * 6 // 10))


def run_job(  # noqa: PLR0913 - the run's parts
    *,
    job: Job,
    kills: int,
    runner: JobRunner,
    editor: EditPlanner,
    config: ChaosConfig,
    rng: random.Random,
) -> bool:
    """Kill the job `kills` times, then run it until it exits 0; edits once documents exist.

    The bookkeeper edits are made after the first attempt that left documents in the ledger; a
    job always has at least one complete run after its edits, so both sides' changes are synced.
    """
    expected = sum(1 for o in store_orders(runner.sandbox, job.platform).values() if o.in_scope)
    edited = False
    for _ in range(kills):
        remaining = expected - primary_count(runner.sandbox, job.prefix)
        runner.run(job, kill_after=kill_threshold(rng, remaining), force=True)
        edited = edited or editor.edit(job, config.cases_per_kind) > 0
    for _ in range(config.final_attempts):
        attempt = runner.run(job, kill_after=None, force=True)
        if attempt.returncode != 0:
            continue
        if edited:
            return True
        edited = editor.edit(job, config.cases_per_kind) > 0
        if not edited:
            return True
    return False


# ------------------------------------------------------------------ checks


@dataclass
class Tally:
    """What the order checks found."""

    duplicates: list[str]
    missing: list[str] = field(default_factory=list)
    unreconciled: list[str] = field(default_factory=list)
    explained: list[str] = field(default_factory=list)
    orders: dict[str, int] = field(default_factory=dict)
    voided: int = 0


@dataclass
class Checker:
    """Compares QuickBooks with the stores, the edits and the target's store; fills the result."""

    sandbox: Sandbox
    database: Path
    cases: list[EditCase]
    result: ChaosResult

    def check(self) -> None:
        """Run every check."""
        documents = {entity: qbo_entities(self.sandbox, entity) for entity in DOCUMENT_ENTITIES}
        dead_letters = [
            r for r in target_rows(self.database, "dead_letters") if not r["resolved_at"]
        ]
        reviews = target_rows(self.database, "review_queue")
        explained = {source_of(str(r["external_id"])) for r in (*dead_letters, *reviews)}
        tally = Tally(duplicates=self._duplicates_by_marker(documents))
        for job in JOBS:
            self._check_job(job, documents, explained, tally)
        figures = self.result.figures
        figures["orders per platform"] = tally.orders
        figures["documents per type"] = {e: len(d) for e, d in documents.items()}
        figures["voided documents"] = tally.voided
        figures["duplicates"] = len(tally.duplicates)
        figures["missing"] = len(tally.missing)
        figures["unreconciled"] = len(tally.unreconciled)
        figures["not written: in dead letters or review"] = tally.explained
        figures["conflicts queued"] = sum(1 for r in reviews if r["status"] == "open")
        figures["dead letters by code"] = dict(Counter(str(r["error_code"]) for r in dead_letters))
        self.result.record(CHECK_DUPLICATES, tally.duplicates)
        self.result.record(CHECK_MISSING, tally.missing)
        self.result.record(CHECK_RECONCILED, tally.unreconciled)
        self._check_cases(documents, reviews)
        self.result.record(
            CHECK_DEAD_LETTERS,
            [
                f"{r['external_id']} {r['error_code']}"
                for r in dead_letters
                if not str(r["error_class"] or "").strip() or not str(r["guidance"] or "").strip()
            ],
        )

    def _check_job(
        self,
        job: Job,
        documents: dict[str, list[dict[str, Any]]],
        explained: set[tuple[str, str]],
        tally: Tally,
    ) -> None:
        """One platform: each in-scope order once, with the store's totals."""
        cases = {case.doc_number: case for case in self.cases}
        in_scope = {n: o for n, o in store_orders(self.sandbox, job.platform).items() if o.in_scope}
        tally.orders[job.platform] = len(in_scope)
        by_number = self._by_doc_number(documents, job.prefix)
        tally.duplicates.extend(
            f"{number} x{len(docs)}" for number, docs in by_number.items() if len(docs) > 1
        )
        for number, order in in_scope.items():
            docs = by_number.get(f"{job.prefix}{number}", [])
            if not docs:
                if (order.platform, order.source_id) in explained:
                    tally.explained.append(f"{job.prefix}{number}")
                elif not order.may_be_void:
                    tally.missing.append(f"{job.prefix}{number}")
                continue
            document = docs[0]
            if str(document.get("PrivateNote") or "").startswith("Voided"):
                tally.voided += 1
                continue
            problem = self._totals_problem(document, order, cases.get(document["DocNumber"]))
            if problem:
                tally.unreconciled.append(f"{job.prefix}{number}: {problem}")

    @staticmethod
    def _by_doc_number(
        documents: dict[str, list[dict[str, Any]]], prefix: str
    ) -> dict[str, list[dict[str, Any]]]:
        """Sales documents and refunds by DocNumber (`SH-1042`, `SH-R920000000001`)."""
        by_number: dict[str, list[dict[str, Any]]] = {}
        for entity in (*PRIMARY, "RefundReceipt", "CreditMemo"):
            for document in documents[entity]:
                doc_number = str(document.get("DocNumber") or "")
                if doc_number.startswith(prefix):
                    by_number.setdefault(doc_number, []).append(document)
        return by_number

    @staticmethod
    def _duplicates_by_marker(documents: dict[str, list[dict[str, Any]]]) -> list[str]:
        """Documents of any type carrying the same `[kc:<external id>]` ownership marker."""
        owners: Counter[str] = Counter()
        for entity, docs in documents.items():
            for document in docs:
                note = str(document.get("Notes" if entity == "Customer" else "PrivateNote") or "")
                match = MARKER.search(note)
                if match:
                    owners[match.group("external_id")] += 1
        return [f"{owner} x{count}" for owner, count in owners.items() if count > 1]

    @staticmethod
    def _totals_problem(
        document: dict[str, Any], order: StoreOrder, case: EditCase | None
    ) -> str | None:
        total = Decimal(str(document.get("TotalAmt", "0")))
        tax = _tax_of(document)
        want_total, want_tax = order.total, order.tax
        if case is not None and case.bookkeeper_total is not None:
            want_total, want_tax = case.bookkeeper_total, case.bookkeeper_tax or Decimal(0)
        if total.quantize(CENT) != want_total.quantize(CENT):
            return f"TotalAmt {total} != {want_total}"
        if tax.quantize(CENT) != want_tax.quantize(CENT):
            return f"TotalTax {tax} != {want_tax}"
        return None

    def _check_cases(
        self, documents: dict[str, list[dict[str, Any]]], reviews: list[dict[str, Any]]
    ) -> None:
        """Each edit ended as docs/conflicts.md says."""
        by_id = {(e, str(d["Id"])): d for e in PRIMARY for d in documents[e]}
        queued = {str(r["external_id"]) for r in reviews if r["status"] == "open"}
        problems: dict[str, list[str]] = {
            CHECK_CONFLICTS: [],
            CHECK_LWW: [],
            CHECK_KEPT: [],
            CHECK_UNTOUCHED: [],
        }
        outcomes: Counter[str] = Counter()
        for case in self.cases:
            document = by_id.get((case.entity, case.qbo_id))
            if document is None:
                problems[CHECK_KEPT].append(f"{case.doc_number}: the edited document is gone")
                continue
            note = str(document.get("PrivateNote") or "")
            memo = str((document.get("CustomerMemo") or {}).get("value", ""))
            if case.bookkeeper_memo != memo:
                problems[CHECK_UNTOUCHED].append(
                    f"{case.doc_number}: CustomerMemo {memo!r}, the bookkeeper wrote "
                    f"{case.bookkeeper_memo!r}"
                )
            if case.critical_conflict:
                outcomes[
                    "critical conflict queued"
                    if case.external_id in queued
                    else "critical conflict not queued"
                ] += 1
                if case.external_id not in queued:
                    problems[CHECK_CONFLICTS].append(f"{case.doc_number}: not in the review queue")
                if case.bookkeeper_note not in note:
                    problems[CHECK_KEPT].append(
                        f"{case.doc_number}: the bookkeeper's version was overwritten"
                    )
                continue
            if case.kind == "date" and str(document.get("TxnDate")) != case.bookkeeper_txn_date:
                problems[CHECK_KEPT].append(
                    f"{case.doc_number}: TxnDate {document.get('TxnDate')}, the bookkeeper "
                    f"wrote {case.bookkeeper_txn_date}"
                )
            outcomes[f"last write wins: {'store' if case.store_wins else 'quickbooks'}"] += 1
            problems[CHECK_LWW].extend(_lww_problems(case, note, queued=case.external_id in queued))
        self.result.figures["edits"] = {
            "cases": dict(Counter(case.kind for case in self.cases)),
            "outcomes": dict(outcomes),
        }
        for check, found in problems.items():
            self.result.record(check, found)

    def check_secrets(self, secrets: set[str], logs: list[Path]) -> None:
        """No secret in any captured log, nor in the target's audit, dead-letter, review tables."""
        secrets = {s for s in secrets if len(s) >= 8}  # noqa: PLR2004 - ignore trivially short values
        leaks: list[str] = []
        for log in logs:
            text = log.read_text(errors="replace")
            leaks.extend(f"{log.name}" for s in secrets if s in text)
        for table in ("audit_log", "dead_letters", "review_queue"):
            for row in target_rows(self.database, table):
                text = json.dumps(row, default=str)
                leaks.extend(f"{table} row {row.get('id')}" for s in secrets if s in text)
        self.result.figures["secrets checked"] = len(secrets)
        self.result.record(CHECK_SECRETS, sorted(set(leaks)))


def _lww_problems(case: EditCase, note: str, *, queued: bool) -> list[str]:
    """A non-critical edit on both sides: the later write's note, and no review."""
    problems = [f"{case.doc_number}: a non-critical edit went to review"] if queued else []
    want, lose = (
        (case.store_note, case.bookkeeper_note)
        if case.store_wins
        else (case.bookkeeper_note, case.store_note)
    )
    if want is None or want not in note or (lose is not None and lose in note):
        winner = "store" if case.store_wins else "bookkeeper"
        problems.append(f"{case.doc_number}: PrivateNote is not the {winner}'s")
    return problems


def banner_secrets(sandbox: Sandbox) -> set[str]:
    """Client secret, refresh tokens, WooCommerce keys and Shopify tokens from the banners."""
    labels = "client secret|refresh token|consumer_secret|consumer_key|X-Shopify-Access-Token"
    pattern = re.compile(rf"(?:{labels}):\s*(\S+)")
    return {m.group(1) for line in sandbox.banners() for m in pattern.finditer(line)}


TOKEN_READ_ATTEMPTS = 20


def live_tokens(sandbox: Sandbox) -> set[str]:
    """Access and refresh tokens the QuickBooks emulator has minted and still knows.

    The emulator's server thread changes its token table while this (the harness's) thread
    reads it, so a read that meets a change is simply tried again.
    """
    for _ in range(TOKEN_READ_ATTEMPTS):
        try:
            tokens = sandbox.emulators["qbo"].tokens.export_state()
        except RuntimeError:  # "dictionary changed size during iteration"
            time.sleep(0.05)
            continue
        return {str(t) for kind in ("access", "refresh") for t in tokens.get(kind, {})}
    msg = "could not read the QuickBooks emulator's tokens: it kept changing them"
    raise RuntimeError(msg)


def injected_faults(sandbox: Sandbox) -> dict[str, dict[str, int]]:
    """Faults each emulator's injector drew, per kind."""
    injectors = {
        "quickbooks": sandbox.emulators["qbo"].injector,
        "shopify": sandbox.emulators["shopify"].faults,
        "woocommerce": sandbox.emulators["woocommerce"].faults,
    }
    return {
        name: {kind.value: count for kind, count in injector.injected.items() if count}
        for name, injector in injectors.items()
    }


# ------------------------------------------------------------------ the run


def _say(message: str) -> None:
    print(f"[chaos {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def target_env(config: ChaosConfig) -> dict[str, str]:
    """The target's timing settings divided by the time scale, like the emulator's windows.

    Meltano passes them to the target as strings, which its duration settings accept.
    """
    window = 60.0 / config.time_scale
    return {
        # The target's default window is 61 s for 60 s of QuickBooks: keep the same margin.
        "TARGET_QUICKBOOKS_RATE_LIMIT_WINDOW_SECONDS": f"{61.0 / config.time_scale:g}",
        "TARGET_QUICKBOOKS_MIN_BACKOFF_SECONDS": f"{window / 60:g}",
        "TARGET_QUICKBOOKS_MAX_BACKOFF_SECONDS": f"{window:g}",
    }


def run_chaos(config: ChaosConfig) -> ChaosResult:
    """The whole chaos run; the figures and failed checks in the result."""
    started = time.monotonic()
    rng = random.Random(config.seed)  # noqa: S311 - reproducible chaos, not cryptography
    result = ChaosResult()
    work = config.work or Path(tempfile.mkdtemp(prefix="kconnector-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    _say(
        f"{config.orders_per_store} orders per store, seed {config.seed}, "
        f"{config.kills} kills; work in {work}"
    )
    ensure_plugins_installed()
    sandbox = Sandbox(
        orders=config.orders_per_store,
        seed=0,  # the demo environment's credentials are those of seed 0
        time_scale=config.time_scale,
        qbo_faults=config.qbo_faults,
        store_faults=config.store_faults,
        fault_seed=config.seed,
    )
    sandbox.start()
    try:
        add_gift_card_item(sandbox)
        paid_at_start = paid_shopify_payouts(sandbox)
        project = MeltanoProject(
            sandbox=sandbox, work=work, extra_env=target_env(config), private_run_dir=True
        )
        runner = JobRunner(config, sandbox, project)
        editor = EditPlanner(sandbox, project.target_database, rng)
        share = plan_kills(config, rng)
        secrets = banner_secrets(sandbox)
        for job in JOBS:
            done = run_job(
                job=job,
                kills=share[job.name],
                runner=runner,
                editor=editor,
                config=config,
                rng=rng,
            )
            if not done:
                result.record(CHECK_JOBS, [f"{job.name} (see {runner.attempts[-1].log})"])
            else:
                result.record(CHECK_JOBS, [])
            secrets |= live_tokens(sandbox) | runner.tokens
        checker = Checker(sandbox, project.target_database, editor.cases, result)
        checker.check()
        checker.check_secrets(secrets, [a.log for a in runner.attempts])
        payout_problems, result.figures["payouts"] = check_payouts(
            sandbox, project.target_database, paid_at_start
        )
        result.record(CHECK_PAYOUTS, payout_problems)
        problems = sandbox.qbo_strict_report()
        result.figures["client protocol problems"] = len(problems)
        result.record(
            CHECK_PROTOCOL,
            [f"{p['kind']} {p['method']} {p['path']}: {p['detail']}" for p in problems],
        )
        figures = result.figures
        figures["kills done"] = sum(1 for a in runner.attempts if a.killed)
        figures["kills that were no-ops (job finished first)"] = sum(
            1 for a in runner.attempts if a.kill_planned and not a.killed
        )
        figures["runs"] = len(runner.attempts)
        figures["faults injected"] = injected_faults(sandbox)
        figures["qbo requests by status"] = sandbox.qbo_requests().get("by_status")
        figures["elapsed seconds"] = round(time.monotonic() - started, 1)
        result.record(
            CHECK_KILLS,
            [f"{figures['kills done']} of {config.kills} kills landed while a job ran"]
            if figures["kills done"] < config.kills
            else [],
        )
    finally:
        sandbox.stop()
    return result


def add_gift_card_item(sandbox: Sandbox) -> None:
    """The bookkeeper's one-time setup: the item for gift cards sold, on the liability account.

    docs/mapping.md, "Setup in QuickBooks": without it their orders, and the payouts clearing
    them, are set aside.
    """
    company = sandbox.emulators["qbo"].realms[US_REALM]
    (account,) = [a for a in company.documents("Account") if a["Name"] == "Gift Card Liability"]
    company.create(
        "Item",
        {"Name": "Gift Card", "Type": "Service", "IncomeAccountRef": {"value": account["Id"]}},
    )


def paid_shopify_payouts(sandbox: Sandbox) -> dict[str, Decimal]:
    """The shop's PAID payouts and their nets, as the shop lists them now."""
    return {
        key: payout.net
        for key, payout in shopify_payouts(sandbox.url("shopify"), SHOP).items()
        if payout.status == "PAID"
    }


def expected_payout_nets(
    sandbox: Sandbox, paid_at_start: dict[str, Decimal]
) -> dict[str, Decimal | None]:
    """Every store payout by canonical id: its net when paid, None when it has no Deposit.

    Shopify: the payouts the shop lists (PAID: a Deposit; FAILED, SCHEDULED: none). A payout
    already paid when the run started keeps the net it had then: Shopify never changes a paid
    payout (a later refund or edit is a balance transaction of a later payout), while the
    emulator derives its ledger from the orders as they are now, so the chaos's quantity edit
    of a paid order would rewrite an old payout's charge. WooCommerce: the estimate per
    (gateway, store-local day), from the store's orders and refunds (tests/store_payouts.py);
    every seeded day is older than the payout delay, so all are paid.
    """
    expected: dict[str, Decimal | None] = {
        key: paid_at_start.get(key, payout.net) if payout.status == "PAID" else None
        for key, payout in shopify_payouts(sandbox.url("shopify"), SHOP).items()
    }
    host = sandbox.url("woocommerce").split("://", 1)[1].rsplit(":", 1)[0]
    for (gateway, day), payout in woocommerce_payouts(sandbox.emulators["woocommerce"]).items():
        expected[f"woocommerce:{host}:{gateway}-{day.isoformat()}"] = payout.net
    return expected


def check_payouts(
    sandbox: Sandbox, database: Path, paid_at_start: dict[str, Decimal]
) -> tuple[list[str], dict[str, int]]:
    """One Deposit per paid payout, by marker in QuickBooks and by external id in the ledger.

    Returns:
        The problems, and the figures (payouts, Deposits).
    """
    by_marker: dict[str, list[dict[str, Any]]] = {}
    for deposit in qbo_entities(sandbox, "Deposit"):
        match = MARKER.search(str(deposit.get("PrivateNote") or ""))
        key = match["external_id"].split("#", 1)[0] if match else f"Deposit {deposit['Id']}"
        by_marker.setdefault(key, []).append(deposit)
    ledger: dict[str, list[str]] = {}
    for row in target_rows(database, "ledger"):
        if row["entity"] == "Deposit" and row["status"] == "active":
            ledger.setdefault(str(row["external_id"]).split("#", 1)[0], []).append(row["qbo_id"])
    expected = expected_payout_nets(sandbox, paid_at_start)
    problems = payout_deposit_problems(expected, by_marker, ledger)
    figures = {
        "paid payouts": sum(1 for net in expected.values() if net is not None),
        "payouts without a Deposit (failed, scheduled)": sum(
            1 for net in expected.values() if net is None
        ),
        "Deposits": sum(len(found) for found in by_marker.values()),
    }
    return problems, figures


def payout_deposit_problems(
    expected: dict[str, Decimal | None],
    by_marker: dict[str, list[dict[str, Any]]],
    ledger: dict[str, list[str]],
) -> list[str]:
    """Each payout against QuickBooks' Deposits (by marker) and the ledger's (by external id)."""
    problems: list[str] = []
    for key, net in sorted(expected.items()):
        booked = by_marker.get(key, [])
        recorded = ledger.get(key, [])
        wanted = 0 if net is None else 1
        if len(booked) != wanted or len(recorded) != wanted:
            problems.append(f"{key}: {len(booked)} Deposits, {len(recorded)} in the ledger")
            continue
        if booked and [str(booked[0]["Id"])] != [str(qbo_id) for qbo_id in recorded]:
            problems.append(f"{key}: the ledger names Deposit {recorded}, QuickBooks holds one")
        if booked and cents(booked[0]["TotalAmt"]) != net:
            problems.append(f"{key}: Deposit {booked[0]['TotalAmt']} != payout net {net}")
    problems.extend(
        f"{key}: a Deposit of no store payout" for key in sorted(set(by_marker) - set(expected))
    )
    return problems


def print_result(result: ChaosResult) -> None:
    """The figures, then each failed check."""
    print(json.dumps(result.figures, indent=2, default=str))
    for failure in result.failures:
        print(f"FAILED: {failure}")
    print("chaos run: " + ("OK" if result.ok else f"{len(result.failures)} check(s) failed"))


def parse_args(argv: list[str] | None) -> ChaosConfig:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--orders", type=int, default=10_000, help="orders across both stores")
    parser.add_argument("--seed", type=int, default=1, help="kills, faults and edits")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs spread over both jobs")
    parser.add_argument("--qbo-faults", default=DEFAULT_QBO_FAULTS)
    parser.add_argument("--store-faults", default=DEFAULT_STORE_FAULTS)
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--edits", type=int, default=None, help="edits per platform and kind")
    parser.add_argument("--work", type=Path, default=None, help="folder for logs and databases")
    args = parser.parse_args(argv)
    return ChaosConfig(
        orders=args.orders,
        seed=args.seed,
        kills=args.kills,
        qbo_faults=args.qbo_faults,
        store_faults=args.store_faults,
        time_scale=args.time_scale,
        edits_per_kind=args.edits,
        work=args.work,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chaos run; 0 only when every check held."""
    # SIGTERM unwinds like Ctrl-C, so a running pipeline's process group is killed on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    result = run_chaos(parse_args(argv))
    print_result(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
