"""Shopify Payments payouts reconcile to the cent, three ways, in per-order and summary posting.

CI size: 40 orders of the seeded US shop (already enough for refunds, fees, an adjustment, a
reserve, a chargeback, a failed payout and payouts of orders presented in USD, CAD and EUR),
through `tap-shopify-orders | map-quickbooks | target-quickbooks` into a fresh QuickBooks
company, then `target-quickbooks-ops --json reconcile`. The 1,000-order store runs through the
same code in `make bench` (bench/payout_reconciliation.py; bench/RESULTS.md has its figures):
a pipeline of 1,000 orders takes minutes on a shared 2-core machine, too long for `make test`.
"""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
ORDERS = 40


def _load_proof() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "payout_reconciliation", ROOT / "bench" / "payout_reconciliation.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["payout_reconciliation"] = module
    spec.loader.exec_module(module)
    return module


proof = _load_proof()


@pytest.fixture(scope="module", params=["per_order", "payout_summary"])
def result(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return proof.run_proof(ORDERS, tmp_path_factory.mktemp(request.param), request.param)


def test_the_pipeline_and_reconcile_run(result: Any) -> None:
    assert result.checks[proof.CHECK_RUN] == []


def test_the_store_has_every_kind_of_payout_money(result: Any) -> None:
    assert result.checks[proof.CHECK_COVERAGE] == []
    assert result.figures["payouts"]["FAILED"] == 1
    assert result.figures["multi-currency payouts"] > 0


def test_each_paid_payout_has_exactly_one_deposit(result: Any) -> None:
    assert result.checks[proof.CHECK_ONE_DEPOSIT] == []
    assert result.figures["deposits"] == result.figures["payouts"]["PAID"]


def test_each_deposit_totals_the_payout_net_from_its_balance_transactions(result: Any) -> None:
    assert result.checks[proof.CHECK_NET] == []


def test_reconcile_lists_every_paid_payout_with_zero_residual(result: Any) -> None:
    assert result.checks[proof.CHECK_RECONCILE] == []
    assert result.figures["reconciled payouts"] == result.figures["payouts"]["PAID"]
    assert result.figures["Σ |residual|"] == "0.00"


def test_no_record_is_set_aside(result: Any) -> None:
    assert result.checks[proof.CHECK_DEAD_LETTERS] == []


# ------------------------------------------------------- the checks catch what they should


def _payout(status: str = "PAID", net: str = "90.00") -> Any:
    transactions = [
        {"type": "CHARGE", "net": "97.00", "fee": "3.00", "order_id": "gid://shopify/Order/1"},
        {"type": "REFUND", "net": "-7.00", "fee": "0.00", "order_id": "gid://shopify/Order/1"},
        {"type": "TRANSFER", "net": "-90.00", "fee": "0.00", "order_id": None},
    ]
    return proof.StorePayout("shopify:s:1", status, Decimal(net), transactions)


def test_a_deposit_one_cent_off_the_payout_net_is_reported() -> None:
    one, net = proof.deposit_problems(
        {"shopify:s:1": _payout()}, {"shopify:s:1": [{"TotalAmt": 89.99}]}
    )
    assert one == []
    assert net == ["shopify:s:1: Deposit 89.99 != net 90.00"]


def test_two_deposits_for_one_payout_or_one_for_a_failed_payout_are_reported() -> None:
    deposit = {"TotalAmt": 90.0}
    one, _ = proof.deposit_problems({"shopify:s:1": _payout()}, {"shopify:s:1": [deposit, deposit]})
    assert one == ["shopify:s:1 (PAID): 2 Deposits"]
    one, _ = proof.deposit_problems({"shopify:s:1": _payout("FAILED")}, {"shopify:s:1": [deposit]})
    assert one == ["shopify:s:1 (FAILED): 1 Deposits"]


def test_a_store_net_that_is_not_its_balance_transactions_is_reported() -> None:
    _, net = proof.deposit_problems(
        {"shopify:s:1": _payout(net="91.00")}, {"shopify:s:1": [{"TotalAmt": 91}]}
    )
    assert net == ["shopify:s:1: store net 91.00 != Σ 90.00"]


def test_a_paid_payout_missing_from_reconcile_or_with_a_residual_is_reported() -> None:
    payouts = {"shopify:s:1": _payout()}
    problems, _ = proof.reconcile_problems(payouts, {"payouts": []})
    assert problems == ["shopify:s:1: not in reconcile"]
    row = {"canonical_id": "shopify:s:1", "net": "90.00", "deposit_total": "90.00"}
    problems, residual = proof.reconcile_problems(
        payouts, {"payouts": [{**row, "books": "90.01", "residual": "0.01"}]}
    )
    assert len(problems) == 1
    assert residual == Decimal("0.01")
