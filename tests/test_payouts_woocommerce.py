"""WooCommerce processor fees and estimated payouts, end to end through `meltano run`.

A seeded WooCommerce store (Stripe and PayPal Payments orders with the fee meta their plugins
write, refunds sent back through both gateways, cash orders beside them) goes through the real
`woocommerce-to-quickbooks` job into the QuickBooks emulator. The expected Deposits are derived
here from the WooCommerce emulator's own orders and refunds by the rules of docs/payouts.md and
the tap's README ("Processor fees and payouts"), never from the tap's or the mapper's code:

- one Deposit per (gateway, store-local day) of settled money: an order's payment on the day of
  its `date_paid`, a refund sent through the gateway (`refunded_payment`) on the day of its
  `date_created`, for the payout gateways only (Stripe, PayPal Payments; not cash on delivery);
  trashed orders and checkout drafts are not read;
- the Deposit is dated `payout_delay_days` (2) after that day, into `payout_bank_account`
  (Checking), and says it is an estimate;
- a payment's fee is what the plugin recorded at payment (Stripe `_stripe_fee`, which Stripe's
  refunds leave as it is since it returns no fee; PayPal `_ppcp_paypal_fees.paypal_fee`); a
  PayPal refund gives back its share (by amount) of `_ppcp_paypal_refund_fees.paypal_fee`;
- lines: each payment clears its order's document (LinkedTxn), each refund is a negative line
  from Undeposited Funds, the day's fees one line to `processor_fee_account` (Bank Charges & Fees,
  negative; positive when the day gave more fees back than it charged);
- TotalAmt = payments - refunds - fees, to the cent.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meltano_sandbox import MeltanoProject, Sandbox, ensure_plugins_installed
from store_payouts import ExpectedPayout, cents, woocommerce_meta_fees, woocommerce_payouts

if TYPE_CHECKING:
    from collections.abc import Iterator

ORDERS = 40  # seed 0: Stripe and PayPal payments, refunds through both and through cash
PAYOUT_DELAY_DAYS = 2  # the tap's default payout_delay_days
FEE_ACCOUNT = "Bank Charges & Fees"  # map-quickbooks' default processor_fee_account
BANK_ACCOUNT = "Checking"  # default payout_bank_account
UNDEPOSITED = "Undeposited Funds"
MARKER = re.compile(r"\[kc:(?P<external_id>\S+) v[0-9a-f]+\]")


@dataclass(frozen=True)
class BookedDeposit:
    """One Deposit as the QuickBooks emulator holds it, read against the accounts it names."""

    external_id: str
    body: dict[str, Any]
    linked_orders: dict[str, Decimal]  # order id -> amount of the line clearing its document
    refund_lines: list[Decimal]
    fee_lines: list[Decimal]
    other_lines: list[dict[str, Any]]


@dataclass(frozen=True)
class Run:
    """The job's outcome and the state it left in QuickBooks."""

    returncode: int
    stderr: str
    expected: dict[tuple[str, date], ExpectedPayout]
    deposits: list[BookedDeposit]
    accounts: dict[str, str]  # name -> id
    dead_letters: list[str]
    store_host: str
    meta_fees: dict[str, Decimal]  # gateway -> fees charged less given back, from order meta


def _order_of(document: dict[str, Any]) -> str:
    found = MARKER.search(str(document.get("PrivateNote", "")))
    assert found, f"document {document['Id']} carries no K-Connector marker"
    return found["external_id"].split("#")[0].rsplit(":", 1)[1]


def _read_deposits(sandbox: Sandbox, accounts: dict[str, str]) -> list[BookedDeposit]:
    order_of_document = {
        (entity, document["Id"]): _order_of(document)
        for entity in ("SalesReceipt", "Payment")
        for document in sandbox.qbo_documents(entity)
    }
    booked = []
    for body in sandbox.qbo_documents("Deposit"):
        marker = MARKER.search(str(body.get("PrivateNote", "")))
        assert marker, f"Deposit {body['Id']} carries no K-Connector marker"
        linked: dict[str, Decimal] = {}
        refunds: list[Decimal] = []
        fees: list[Decimal] = []
        others: list[dict[str, Any]] = []
        for line in body["Line"]:
            amount = cents(line["Amount"])
            if line.get("LinkedTxn"):
                (link,) = line["LinkedTxn"]
                order_id = order_of_document[(link["TxnType"], link["TxnId"])]
                assert order_id not in linked, f"order {order_id} cleared twice"
                linked[order_id] = amount
                continue
            account = line["DepositLineDetail"]["AccountRef"]["value"]
            if account == accounts[FEE_ACCOUNT]:
                fees.append(amount)
            elif account == accounts[UNDEPOSITED] and amount < 0:
                refunds.append(-amount)
            else:
                others.append(line)
        booked.append(
            BookedDeposit(marker["external_id"], body, linked, sorted(refunds), fees, others)
        )
    return booked


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    ensure_plugins_installed()
    sandbox = Sandbox(orders=ORDERS)
    sandbox.start()
    try:
        project = MeltanoProject(
            sandbox=sandbox, work=tmp_path_factory.mktemp("wc-payouts"), private_run_dir=True
        )
        completed = project.run("woocommerce-to-quickbooks")
        assert completed.returncode == 0, completed.stderr[-3000:]
        accounts = {a["Name"]: a["Id"] for a in sandbox.qbo_documents("Account")}
        with sqlite3.connect(project.target_database) as db:
            letters = [
                f"{row[0]} {row[1]}"
                for row in db.execute("SELECT external_id, error_code FROM dead_letters")
            ]
        yield Run(
            returncode=completed.returncode,
            stderr=completed.stderr,
            expected=woocommerce_payouts(sandbox.emulators["woocommerce"]),
            deposits=_read_deposits(sandbox, accounts),
            accounts=accounts,
            dead_letters=letters,
            store_host=sandbox.url("woocommerce").split("://", 1)[1].split(":", 1)[0],
            meta_fees=woocommerce_meta_fees(sandbox.emulators["woocommerce"]),
        )
    finally:
        sandbox.stop()


def _key(deposit: BookedDeposit) -> tuple[str, date]:
    """(gateway, day) from the external id `woocommerce:<store>:<gateway>-<day>#deposit`."""
    source_id = deposit.external_id.removesuffix("#deposit").rsplit(":", 1)[1]
    gateway, day = source_id[: -len("-YYYY-MM-DD")], source_id[-len("YYYY-MM-DD") :]
    return gateway, date.fromisoformat(day)


def test_the_job_exits_cleanly_with_no_deposit_set_aside(run: Run) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert [letter for letter in run.dead_letters if "#deposit" in letter] == []


def test_the_store_mixes_stripe_and_paypal_fees_and_refunds_through_both(run: Run) -> None:
    gateways_with_fees = {gateway for (gateway, _), p in run.expected.items() if p.fees > 0}
    assert {"stripe", "ppcp-gateway"} <= gateways_with_fees
    refunded_through = {gateway for (gateway, _), p in run.expected.items() if p.refunds}
    assert {"stripe", "ppcp-gateway"} <= refunded_through
    assert any(p.fees < 0 for p in run.expected.values()), "no day where PayPal gave fees back"


def test_one_deposit_per_gateway_and_store_local_day(run: Run) -> None:
    keys = [_key(deposit) for deposit in run.deposits]
    assert len(keys) == len(set(keys)), "a (gateway, day) booked twice"
    assert sorted(keys) == sorted(run.expected)


def test_each_deposit_is_an_estimate_dated_after_the_payout_delay_into_the_bank(run: Run) -> None:
    for deposit in run.deposits:
        gateway, day = _key(deposit)
        assert deposit.external_id == (
            f"woocommerce:{run.store_host}:{gateway}-{day.isoformat()}#deposit"
        )
        assert deposit.body["TxnDate"] == (day + timedelta(days=PAYOUT_DELAY_DAYS)).isoformat()
        assert deposit.body["DepositToAccountRef"]["value"] == run.accounts[BANK_ACCOUNT]
        assert "(estimate:" in deposit.body["PrivateNote"]


def test_each_payment_clears_its_own_order_document_for_the_amount_paid(run: Run) -> None:
    for deposit in run.deposits:
        assert deposit.linked_orders == run.expected[_key(deposit)].charges, deposit.external_id


def test_refunds_sent_through_the_gateway_are_negative_lines_from_undeposited_funds(
    run: Run,
) -> None:
    for deposit in run.deposits:
        assert deposit.refund_lines == sorted(run.expected[_key(deposit)].refunds)
        assert deposit.other_lines == [], deposit.external_id


def test_fees_are_booked_to_the_processor_fee_account_to_the_cent(run: Run) -> None:
    for deposit in run.deposits:
        fees = run.expected[_key(deposit)].fees
        assert deposit.fee_lines == ([-fees] if fees else []), deposit.external_id
    booked = sum((sum(d.fee_lines, Decimal(0)) for d in run.deposits), Decimal(0))
    assert booked == -sum((p.fees for p in run.expected.values()), Decimal(0))


def test_each_deposit_totals_payments_less_refunds_less_fees(run: Run) -> None:
    for deposit in run.deposits:
        lines = sum((cents(line["Amount"]) for line in deposit.body["Line"]), Decimal(0))
        expected = run.expected[_key(deposit)].net
        assert (cents(deposit.body["TotalAmt"]), lines) == (expected, expected)


def test_fees_over_all_deposits_equal_the_plugins_cumulative_order_meta(run: Run) -> None:
    """Per gateway, the booked fees equal the plugins' order meta summed, refunds included."""
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for deposit in run.deposits:
        booked[_key(deposit)[0]] -= sum(deposit.fee_lines, Decimal(0))
    assert dict(booked) == run.meta_fees
