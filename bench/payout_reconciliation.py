"""Every Shopify Payments payout reconciles to the cent, three ways, after a full pipeline run.

The proof of docs/payouts.md at full size (`make bench` runs it; tests/test_payout_reconciliation.py
runs a smaller store through the same code in CI):

1. Serves two emulators on loopback: QuickBooks Online (`kconnector_sandbox.qbo`, a "minute" of
   its limits lasting one second) and the Shopify US shop (`kconnector_sandbox.shopify`, seed 0,
   `--orders` orders). Its Shopify Payments ledger is derived from the orders: a charge per card
   payment with the plan's fee, refunds, an ADJUSTMENT, a reserve and its release, a chargeback
   with its fee, daily payouts, one of them FAILED (its money paid again by a later payout), and
   orders presented in CAD and EUR settled in the USD payouts (multi-currency).
2. Creates a fresh US company and, as a bookkeeper does once (docs/mapping.md, "Setup in
   QuickBooks"), the "Gift Card" item on the gift card liability account; then runs
   `tap-shopify-orders | map-quickbooks | target-quickbooks` (the executables a Meltano job runs)
   with `posting_mode` per_order, or payout_summary (`--posting-mode`).
3. Runs `target-quickbooks-ops --json reconcile` and checks, for every payout the store lists:
   - a PAID payout has exactly one QuickBooks Deposit (by the `<payout id>#deposit` marker), a
     FAILED or SCHEDULED one none;
   - store payout net = Σ net of its balance transactions (TRANSFER row left out), computed here
     from the store's own list = the Deposit's TotalAmt read from QuickBooks = reconcile's
     processor, Deposit and books figures (orders - refunds - fees +- adjustments), residual 0;
   - reconcile lists every paid payout, none with a residual, and no record is a dead letter.

Run from the repository root:

    .venv/bin/python bench/payout_reconciliation.py                     # 1,000 orders, per order
    .venv/bin/python bench/payout_reconciliation.py --posting-mode payout_summary
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from kconnector_sandbox import qbo, shopify
from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.runner import ServedApp

BIN = Path(sys.executable).parent
SEED = 0
ORDERS = 1000
TIME_SCALE = 60.0  # one QuickBooks "minute" of limits per second
PIPE_TIMEOUT_SECONDS = 1800
MARKER = re.compile(r"\[kc:(?P<external_id>\S+) v[0-9a-f]+\]")
CENT = Decimal("0.01")
GIFT_CARD_LIABILITY_ACCOUNT = "Gift Card Liability"

CHECK_RUN = "the pipeline and reconcile ran"
CHECK_COVERAGE = "the store has refunds, fees, an adjustment, a failed and a multi-currency payout"
CHECK_ONE_DEPOSIT = "exactly one Deposit per paid payout, none for a failed or scheduled one"
CHECK_NET = "store payout net = Σ its balance transactions = the Deposit's TotalAmt"
CHECK_RECONCILE = "reconcile: every paid payout listed, three figures equal, zero residual"
CHECK_DEAD_LETTERS = "no record set aside"
CHECKS = (
    CHECK_RUN,
    CHECK_COVERAGE,
    CHECK_ONE_DEPOSIT,
    CHECK_NET,
    CHECK_RECONCILE,
    CHECK_DEAD_LETTERS,
)


@dataclass
class ProofResult:
    """Each check's problems (empty: it holds) and the figures behind them."""

    checks: dict[str, list[str]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[str]:
        """`<check>: <problem>` for every problem found."""
        return [f"{check}: {problem}" for check, found in self.checks.items() for problem in found]

    @property
    def ok(self) -> bool:
        """True when every check holds."""
        return not self.failures


def _cents(value: object) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _add_gift_card_item(emulator: qbo.QboEmulator, realm_id: str) -> None:
    """The bookkeeper's one-time setup: an item for gift cards sold, on the liability account."""
    company = emulator.realms[realm_id]
    (account,) = [
        a for a in company.documents("Account") if a["Name"] == GIFT_CARD_LIABILITY_ACCOUNT
    ]
    company.create(
        "Item",
        {
            "Name": "Gift Card",
            "Type": "Service",
            "IncomeAccountRef": {"value": account["Id"], "name": account["Name"]},
        },
    )


def _run_pipe(work: Path) -> int:
    command = (
        "set -o pipefail; "
        f"{BIN / 'tap-shopify-orders'} --config {work / 'tap.json'} 2>{work / 'tap.log'}"
        f" | {BIN / 'map-quickbooks'} --config {work / 'map.json'} 2>{work / 'map.log'}"
        f" | {BIN / 'target-quickbooks'} --config {work / 'target.json'}"
        f" >{work / 'state.jsonl'} 2>{work / 'target.log'}"
    )
    completed = subprocess.run(  # noqa: S603 - the workspace's own executables
        ["/bin/bash", "-c", command], timeout=PIPE_TIMEOUT_SECONDS, check=False
    )
    return completed.returncode


def _reconcile(work: Path) -> tuple[int, dict[str, Any] | None]:
    completed = subprocess.run(  # noqa: S603 - the workspace's own executable
        [
            str(BIN / "target-quickbooks-ops"),
            "--config",
            str(work / "target.json"),
            "--json",
            "reconcile",
            "--output-dir",
            str(work / "reconciliation"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        return completed.returncode, None
    return completed.returncode, report if isinstance(report, dict) else None


@dataclass(frozen=True)
class StorePayout:
    """One payout as the store lists it, with its balance transactions."""

    canonical_id: str
    status: str
    net: Decimal
    transactions: list[dict[str, Any]]

    @property
    def settled(self) -> list[dict[str, Any]]:
        """The balance transactions it pays out (the TRANSFER row is the payout itself)."""
        return [t for t in self.transactions if t["type"] != "TRANSFER"]

    def settled_net(self) -> Decimal:
        """Σ net of the settled transactions: charges - refunds - fees +- adjustments."""
        return sum((_cents(t["net"]) for t in self.settled), Decimal(0))


class Proof:
    """One store through the pipeline into one company, then every check."""

    def __init__(self, orders: int, work: Path, posting_mode: str) -> None:
        """Build the emulators (not served yet)."""
        self.orders = orders
        self.work = work
        self.posting_mode = posting_mode
        self.qbo = qbo.build(SandboxOptions(seed=SEED, time_scale=TIME_SCALE))
        self.store = shopify.build(SandboxOptions(seed=SEED, orders=orders, time_scale=TIME_SCALE))
        self.shop = self.store.shop("us")
        self.result = ProofResult(checks={check: [] for check in CHECKS})

    def run(self) -> ProofResult:
        """Serve, run the pipeline and reconcile, check; the result says what held."""
        with ServedApp(self.qbo.app) as qbo_served, ServedApp(self.store.app) as store_served:
            realm_id, refresh_token = self._new_company(qbo_served.url)
            self._write_configs(qbo_served.url, store_served.url, realm_id, refresh_token)
            started = time.perf_counter()
            pipe_rc = _run_pipe(self.work)
            self.result.figures["pipeline seconds"] = round(time.perf_counter() - started, 1)
            started = time.perf_counter()
            reconcile_rc, report = _reconcile(self.work)
            self.result.figures["reconcile seconds"] = round(time.perf_counter() - started, 1)
            if pipe_rc != 0:
                self.result.checks[CHECK_RUN].append(f"pipeline exit code {pipe_rc}")
            if report is None:
                self.result.checks[CHECK_RUN].append(
                    f"reconcile gave no JSON (exit {reconcile_rc})"
                )
            self.result.figures["reconcile exit code"] = reconcile_rc
            payouts = self._store_payouts(store_served.url)
            deposits = self._deposits(qbo_served.url, realm_id)
        self._check_coverage(payouts)
        self._check_deposits(payouts, deposits)
        self._check_reconcile(payouts, report or {})
        self._check_dead_letters()
        return self.result

    def _new_company(self, url: str) -> tuple[str, str]:
        created = requests.post(f"{url}/__admin/realms", json={"kind": "US"}, timeout=30)
        created.raise_for_status()
        realm = created.json()
        _add_gift_card_item(self.qbo, realm["realm_id"])
        return str(realm["realm_id"]), str(realm["refresh_token"])

    def _write_configs(self, qbo_url: str, store_url: str, realm_id: str, refresh: str) -> None:
        profile = self.shop.profile
        configs = {
            "tap": {
                "shop": profile.domain,
                "access_token": profile.access_token,
                "start_date": "2020-01-01T00:00:00Z",
                # Paged queries: what is proved here is the payouts; a bulk operation (the
                # tap's default for a long backfill) is covered by the tap's own tests.
                "bulk_threshold_days": 18000,
                "api_url": f"{store_url}/shops/{profile.domain}",
            },
            "map": {"doc_number_prefix": "SH-", "posting_mode": self.posting_mode},
            "target": {
                "realm_id": realm_id,
                "client_id": self.qbo.credentials.client_id,
                "client_secret": self.qbo.credentials.client_secret,
                "refresh_token": refresh,
                "api_url": qbo_url,
                "token_url": f"{qbo_url}/oauth2/v1/tokens/bearer",
                "database_url": f"sqlite:///{self.work / 'target.db'}",
                "rate_limit_window_seconds": 61.0 / TIME_SCALE,
                "min_backoff_seconds": 0.05,
                "max_backoff_seconds": 1.0,
                "allow_plaintext_tokens": True,  # the emulator's tokens, on loopback
            },
        }
        for name, config in configs.items():
            (self.work / f"{name}.json").write_text(json.dumps(config))

    def _store_payouts(self, url: str) -> dict[str, StorePayout]:
        domain = self.shop.profile.domain
        response = requests.get(f"{url}/__admin/{domain}/payouts", timeout=60)
        response.raise_for_status()
        return {
            f"shopify:{domain}:{p['legacy_id']}": StorePayout(
                f"shopify:{domain}:{p['legacy_id']}",
                p["status"],
                _cents(p["net"]),
                p["transactions"],
            )
            for p in response.json()
        }

    def _deposits(self, url: str, realm_id: str) -> dict[str, list[dict[str, Any]]]:
        response = requests.get(f"{url}/__admin/realms/{realm_id}/entities/Deposit", timeout=60)
        response.raise_for_status()
        found: dict[str, list[dict[str, Any]]] = {}
        (self.work / "deposits.json").write_text(response.text)  # kept for inspection
        for deposit in response.json()["Deposit"]:
            marker = MARKER.search(str(deposit.get("PrivateNote", "")))
            # `#deposit` per order; `#summary_deposit` for a payout summary (docs/payouts.md).
            key = marker["external_id"].split("#", 1)[0] if marker else "?"
            found.setdefault(key, []).append(deposit)
        return found

    def _check_coverage(self, payouts: dict[str, StorePayout]) -> None:
        types = Counter(t["type"] for p in payouts.values() for t in p.settled)
        statuses = Counter(p.status for p in payouts.values())
        presentment = {o.id: o.presentment_currency_code for o in self.shop.orders.values()}
        multi_currency = [
            canonical_id
            for canonical_id, payout in payouts.items()
            if payout.status == "PAID"
            and len({presentment.get(t["order_id"]) for t in payout.settled if t["order_id"]}) > 1
        ]
        fees = sum((_cents(t["fee"]) for p in payouts.values() for t in p.settled), Decimal(0))
        self.result.figures.update(
            {
                "orders": len(self.shop.orders),
                "payouts": dict(statuses),
                "balance transactions": dict(types),
                "fees": str(fees),
                "multi-currency payouts": len(multi_currency),
            }
        )
        missing = [
            what
            for what, present in (
                (f"{self.orders} orders", len(self.shop.orders) >= self.orders),
                ("a refund", types["REFUND"] > 0),
                ("a fee", fees > 0),
                ("an adjustment", types["ADJUSTMENT"] > 0),
                ("a failed payout", statuses["FAILED"] > 0),
                ("a multi-currency payout", bool(multi_currency)),
            )
            if not present
        ]
        self.result.checks[CHECK_COVERAGE].extend(f"no {what}" for what in missing)

    def _check_deposits(
        self, payouts: dict[str, StorePayout], deposits: dict[str, list[dict[str, Any]]]
    ) -> None:
        one, net = deposit_problems(payouts, deposits)
        self.result.checks[CHECK_ONE_DEPOSIT].extend(one)
        self.result.checks[CHECK_NET].extend(net)
        self.result.figures["deposits"] = sum(len(found) for found in deposits.values())

    def _check_reconcile(self, payouts: dict[str, StorePayout], report: dict[str, Any]) -> None:
        problems, residual = reconcile_problems(payouts, report)
        self.result.checks[CHECK_RECONCILE].extend(problems)
        self.result.figures["reconciled payouts"] = len(report.get("payouts") or [])
        self.result.figures["Σ |residual|"] = str(residual)

    def _check_dead_letters(self) -> None:
        with sqlite3.connect(self.work / "target.db") as db:
            rows = db.execute("SELECT external_id, error_code FROM dead_letters").fetchall()
        self.result.checks[CHECK_DEAD_LETTERS].extend(f"{row[0]}: {row[1]}" for row in rows)


def deposit_problems(
    payouts: dict[str, StorePayout], deposits: dict[str, list[dict[str, Any]]]
) -> tuple[list[str], list[str]]:
    """Deposits per payout (one when paid, else none) and each one's total against the net.

    Args:
        payouts: the store's payouts by canonical id.
        deposits: QuickBooks' Deposits by the canonical id of the payout their marker names.

    Returns:
        The count problems, then the amount problems.
    """
    one: list[str] = []
    net: list[str] = []
    for canonical_id, payout in payouts.items():
        booked = deposits.get(canonical_id, [])
        expected = 1 if payout.status == "PAID" else 0
        if len(booked) != expected:
            one.append(f"{canonical_id} ({payout.status}): {len(booked)} Deposits")
        if payout.settled_net() != payout.net:
            net.append(f"{canonical_id}: store net {payout.net} != Σ {payout.settled_net()}")
        net.extend(
            f"{canonical_id}: Deposit {deposit['TotalAmt']} != net {payout.net}"
            for deposit in booked
            if _cents(deposit["TotalAmt"]) != payout.net
        )
    one.extend(
        f"{key}: a Deposit of no store payout" for key in sorted(set(deposits) - set(payouts))
    )
    return one, net


def reconcile_problems(
    payouts: dict[str, StorePayout], report: dict[str, Any]
) -> tuple[list[str], Decimal]:
    """`reconcile --json`'s payouts against the store's: every paid one, equal, no residual.

    Returns:
        The problems, and Σ |residual| over the payouts reconcile listed.
    """
    problems: list[str] = []
    listed = {row["canonical_id"]: row for row in report.get("payouts") or []}
    paid = {key for key, payout in payouts.items() if payout.status == "PAID"}
    problems.extend(f"{key}: not in reconcile" for key in sorted(paid - set(listed)))
    residual = Decimal(0)
    for key, row in listed.items():
        payout = payouts.get(key)
        if payout is None:
            problems.append(f"{key}: reconciled but not a store payout")
            continue
        figures = {name: _cents(row[name]) for name in ("net", "deposit_total", "books")}
        residual += abs(_cents(row["residual"]))
        if set(figures.values()) != {payout.net} or _cents(row["residual"]) != 0:
            problems.append(f"{key}: store net {payout.net}, reconcile {figures}")
    return problems, residual


def run_proof(orders: int, work: Path, posting_mode: str = "per_order") -> ProofResult:
    """Run the whole proof in `work` (its files stay there for inspection)."""
    work.mkdir(parents=True, exist_ok=True)
    return Proof(orders, work, posting_mode).run()


def main() -> int:
    """Run the proof, print the figures and every failed check; exit 1 when one fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument(
        "--posting-mode", choices=("per_order", "payout_summary"), default="per_order"
    )
    parser.add_argument("--work", type=Path, help="keep the run's files here (default: temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="payout-proof-") as temporary:
        started = time.perf_counter()
        result = run_proof(args.orders, args.work or Path(temporary), args.posting_mode)
        seconds = time.perf_counter() - started
    print(f"posting_mode {args.posting_mode}: {args.orders} orders, {seconds:.0f} s")
    for name, value in result.figures.items():
        print(f"  {name}: {value}")
    for check in CHECKS:
        print(f"  [{'ok' if not result.checks[check] else 'FAILED'}] {check}")
    for failure in result.failures[:40]:
        print(f"    {failure}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
