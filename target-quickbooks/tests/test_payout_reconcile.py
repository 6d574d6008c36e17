"""The three-way payout check (pure): processor net, QuickBooks Deposit, documents cleared."""

from __future__ import annotations

from decimal import Decimal

from target_quickbooks.operations.payout_reconcile import (
    by_gateway,
    check_payouts,
    linked_ids,
    payout_figures,
)
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

FACTS = {
    "kind": "payout",
    "canonical_id": "shopify:demo:77",
    "gateway": "shopify_payments",
    "currency": "USD",
    "local_date": "2026-11-02",
    "charges": "100.00",
    "refunds": "-10.00",
    "adjustments": "1.50",
    "fees": "3.20",
    "net": "88.30",
}


def entry(facts=FACTS, qbo_id="50"):
    return LedgerEntry(
        realm_id="r",
        external_id=f"{facts['canonical_id']}#deposit",
        entity="Deposit",
        qbo_id=qbo_id,
        sync_token="0",
        body_hash="h",
        status=LedgerStatus.ACTIVE,
        source_facts=dict(facts),
    )


def link(txn_type, txn_id):
    return {"Amount": 0, "LinkedTxn": [{"TxnType": txn_type, "TxnId": txn_id, "TxnLineId": "0"}]}


def books(deposit_total="88.30", receipt_total="60.00"):
    return {
        ("Deposit", "50"): {
            "Id": "50",
            "TotalAmt": Decimal(deposit_total),
            "Line": [link("SalesReceipt", "1"), link("Payment", "2")],
        },
        ("SalesReceipt", "1"): {"Id": "1", "TotalAmt": Decimal(receipt_total)},
        ("Payment", "2"): {"Id": "2", "TotalAmt": Decimal("40.00")},
    }


def test_payout_deposit_and_cleared_documents_agree_to_the_cent():
    (check,) = check_payouts([entry()], books())
    assert check.matches
    assert check.books == Decimal("88.30")
    assert check.linked == 2


def test_an_edited_receipt_shows_as_a_books_residual():
    (check,) = check_payouts([entry()], books(receipt_total="59.99"))
    assert not check.matches
    assert check.deposit_residual == 0
    assert check.books_residual == Decimal("-0.01")
    assert check.residual == Decimal("-0.01")


def test_a_deleted_deposit_counts_its_whole_net_as_residual():
    (check,) = check_payouts([entry()], {})
    assert check.deposit_total is None
    assert check.residual == Decimal("-88.30")
    (gateway,) = by_gateway([check])
    assert (gateway.differing, gateway.residual) == (1, Decimal("-88.30"))


def test_a_payout_record_that_does_not_add_up_is_flagged():
    facts = {**FACTS, "net": "88.31"}
    quickbooks = books(deposit_total="88.31", receipt_total="60.01")
    (check,) = check_payouts([entry(facts)], quickbooks)
    assert (check.deposit_residual, check.books_residual) == (0, 0)
    assert check.processor_residual == Decimal("-0.01")
    assert not check.matches


def test_linked_documents_not_read_yet_are_listed_and_order_figures_are_not_payouts():
    quickbooks = {("Deposit", "50"): books()[("Deposit", "50")]}
    assert linked_ids([entry()], quickbooks) == {"Payment": ["2"], "SalesReceipt": ["1"]}
    assert payout_figures({"kind": "order", "total": "1"}) is None
    (check,) = check_payouts([entry()], quickbooks)
    assert check.books is None
    assert not check.matches
