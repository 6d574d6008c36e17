"""The processor's payout report (Stripe payout reconciliation columns) as canonical payouts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from kconnector_canonical import validate
from tap_woocommerce_orders.payout_report import ReportError, report_payouts

if TYPE_CHECKING:
    from pathlib import Path

HEADER = (
    "automatic_payout_id,automatic_payout_effective_at,balance_transaction_id,created,currency,"
    "gross,fee,net,reporting_category,charge_id,payment_metadata[order_id],description\n"
)


def test_rows_become_one_payout_each_linked_to_orders(tmp_path: Path) -> None:
    report = tmp_path / "payouts.csv"
    report.write_text(
        HEADER
        + "po_1,2026-01-07,txn_1,2026-01-05,usd,100.00,3.20,96.80,charge,ch_1,1001,\n"
        + "po_1,2026-01-07,txn_2,2026-01-05,usd,-10.00,0.00,-10.00,refund,ch_1,1001,\n"
        + "po_1,2026-01-07,txn_3,2026-01-06,usd,-1.50,0.00,-1.50,fee,,,Radar\n",
        encoding="utf-8",
    )
    (payout,) = report_payouts(report, "shop.example")
    assert payout["basis"] == "processor"
    assert payout["id"] == "woocommerce:shop.example:po_1"
    assert payout["net"] == {"amount": "85.30", "currency": "USD"}
    assert [t["type"] for t in payout["transactions"]] == ["charge", "refund", "adjustment"]
    charge = payout["transactions"][0]
    assert charge["order_id"] == "woocommerce:shop.example:1001"
    assert charge["order_transaction_id"] == "ch_1"
    assert validate(payout, "payouts") == []


def test_a_row_whose_net_is_not_gross_minus_fee_names_the_line(tmp_path: Path) -> None:
    report = tmp_path / "payouts.csv"
    report.write_text(
        HEADER + "po_1,2026-01-07,txn_1,2026-01-05,usd,100.00,3.20,97.00,charge,ch_1,1001,\n",
        encoding="utf-8",
    )
    with pytest.raises(ReportError, match="line 2"):
        report_payouts(report, "shop.example")


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    report = tmp_path / "payouts.csv"
    report.write_text("automatic_payout_id,gross\npo_1,1.00\n", encoding="utf-8")
    with pytest.raises(ReportError, match="balance_transaction_id"):
        report_payouts(report, "shop.example")
