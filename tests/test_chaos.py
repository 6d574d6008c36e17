"""The chaos run at CI size: faults, SIGKILLs and bookkeeper edits, every order exactly once.

One run of `scripts/chaos.py` (40 orders per store, 2 kills, the full fault mix, fixed seed) is
shared by the tests below; each asserts one of the checks the script makes from the emulators'
own data and the target's store.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
ORDERS = 80  # 40 per store
KILLS = 2
SEED = 7


def _load_chaos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chaos", ROOT / "scripts" / "chaos.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chaos"] = module
    spec.loader.exec_module(module)
    return module


chaos = _load_chaos()


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    config = chaos.ChaosConfig(
        orders=ORDERS,
        seed=SEED,
        kills=KILLS,
        work=tmp_path_factory.mktemp("chaos"),
        run_timeout=150.0,
    )
    return chaos.run_chaos(config)


def test_every_kill_landed_while_a_job_was_writing(result):
    assert result.checks[chaos.CHECK_KILLS] == []
    assert result.figures["kills done"] == KILLS
    assert result.figures["kills that were no-ops (job finished first)"] == 0


def test_both_jobs_end_with_exit_zero_after_the_kills(result):
    assert result.checks[chaos.CHECK_JOBS] == []


def test_faults_were_injected_on_quickbooks_and_both_stores(result):
    injected = result.figures["faults injected"]
    assert injected["quickbooks"]
    assert injected["shopify"]
    assert injected["woocommerce"]


def test_every_order_is_in_quickbooks_exactly_once(result):
    assert result.checks[chaos.CHECK_DUPLICATES] == []
    assert result.checks[chaos.CHECK_MISSING] == []
    assert result.figures["duplicates"] == 0
    assert result.figures["missing"] == 0
    assert result.figures["orders per platform"]["shopify"] > 0
    assert result.figures["orders per platform"]["woocommerce"] > 0


def test_every_document_total_and_tax_equal_the_store_to_the_cent(result):
    assert result.checks[chaos.CHECK_RECONCILED] == []
    assert result.figures["unreconciled"] == 0


def test_critical_conflicts_are_queued_and_quickbooks_keeps_the_bookkeepers_values(result):
    assert result.figures["edits"]["cases"].get("line", 0) > 0
    assert result.checks[chaos.CHECK_CONFLICTS] == []
    assert result.checks[chaos.CHECK_KEPT] == []
    assert result.figures["conflicts queued"] >= result.figures["edits"]["cases"]["line"]


def test_non_critical_edits_merge_last_write_wins_both_ways(result):
    assert result.checks[chaos.CHECK_LWW] == []
    outcomes = result.figures["edits"]["outcomes"]
    assert outcomes.get("last write wins: store", 0) > 0
    assert outcomes.get("last write wins: quickbooks", 0) > 0


def test_a_merge_keeps_fields_only_the_bookkeeper_changed(result):
    assert result.checks[chaos.CHECK_UNTOUCHED] == []


def test_every_dead_letter_has_an_error_class_and_guidance(result):
    assert result.checks[chaos.CHECK_DEAD_LETTERS] == []


def test_no_secret_reaches_a_log_or_the_target_tables(result):
    assert result.figures["secrets checked"] > 0
    assert result.checks[chaos.CHECK_SECRETS] == []


def test_the_target_makes_no_client_protocol_problems(result):
    # minorversion, requestid on every write (never reused for another body), batch ids, query
    # content type: the QuickBooks emulator's strict report stays empty through kills and faults.
    assert result.checks[chaos.CHECK_PROTOCOL] == []
    assert result.figures["client protocol problems"] == 0


def test_a_failed_check_makes_the_run_fail():
    failed = chaos.ChaosResult(checks={chaos.CHECK_MISSING: ["SH-1001"], chaos.CHECK_KILLS: []})
    assert not failed.ok
    assert failed.failures == [f"{chaos.CHECK_MISSING}: SH-1001"]
    assert chaos.ChaosResult(checks={chaos.CHECK_MISSING: []}).ok


def test_two_documents_with_one_marker_count_as_a_duplicate():
    note = "K-Connector order\n[kc:shopify:s:1#sales_receipt v0123456789ab]"
    documents = {
        "SalesReceipt": [{"Id": "1", "PrivateNote": note}],
        "Invoice": [{"Id": "9", "PrivateNote": note + " | bookkeeper checked"}],
        "Customer": [{"Id": "3", "Notes": "[kc:customer:email:a@example.com v0123456789ab]"}],
    }
    assert chaos.Checker._duplicates_by_marker(documents) == ["shopify:s:1#sales_receipt x2"]


def test_a_total_one_cent_off_the_store_is_unreconciled():
    order = chaos.StoreOrder(
        platform="shopify",
        source_id="1",
        number="1001",
        total=chaos.Decimal("108.25"),
        tax=chaos.Decimal("8.25"),
        in_scope=True,
        may_be_void=False,
    )
    exact = {
        "TotalAmt": chaos.Decimal("108.25"),
        "TxnTaxDetail": {"TotalTax": chaos.Decimal("8.25")},
    }
    off = {"TotalAmt": chaos.Decimal("108.24"), "TxnTaxDetail": {"TotalTax": chaos.Decimal("8.25")}}
    assert chaos.Checker._totals_problem(exact, order, None) is None
    assert chaos.Checker._totals_problem(off, order, None) == "TotalAmt 108.24 != 108.25"


def test_every_paid_payout_has_exactly_one_deposit_totalling_its_net(result):
    # Shopify Payments payouts (one of them failed: no Deposit) and WooCommerce's estimates, by
    # the Deposit's marker in QuickBooks and by external id in the ledger, through kills and faults.
    assert result.checks[chaos.CHECK_PAYOUTS] == []
    payouts = result.figures["payouts"]
    assert payouts["paid payouts"] > 0
    assert payouts["payouts without a Deposit (failed, scheduled)"] > 0
    assert payouts["Deposits"] == payouts["paid payouts"]


def test_a_second_deposit_for_a_payout_or_one_cent_off_its_net_is_reported():
    net = chaos.Decimal("90.00")
    deposit = {"Id": "7", "TotalAmt": 90.0}
    expected = {"shopify:s:1": net, "shopify:s:2": None}
    assert (
        chaos.payout_deposit_problems(expected, {"shopify:s:1": [deposit]}, {"shopify:s:1": ["7"]})
        == []
    )
    twice = chaos.payout_deposit_problems(
        expected, {"shopify:s:1": [deposit, {**deposit, "Id": "8"}]}, {"shopify:s:1": ["7"]}
    )
    assert twice == ["shopify:s:1: 2 Deposits, 1 in the ledger"]
    off = chaos.payout_deposit_problems(
        expected, {"shopify:s:1": [{**deposit, "TotalAmt": 89.99}]}, {"shopify:s:1": ["7"]}
    )
    assert off == ["shopify:s:1: Deposit 89.99 != payout net 90.00"]
    failed = chaos.payout_deposit_problems(
        expected,
        {"shopify:s:1": [deposit], "shopify:s:2": [{**deposit, "Id": "9"}]},
        {"shopify:s:1": ["7"], "shopify:s:2": ["9"]},
    )
    assert failed == ["shopify:s:2: 1 Deposits, 1 in the ledger"]
