"""QuickBooks' totals against the store's, to the cent."""

from __future__ import annotations

from decimal import Decimal

from target_quickbooks.contract import Expected
from target_quickbooks.operations.reconcile import compare
from target_quickbooks.operations.source_reconcile import reconcile_source
from target_quickbooks.reconciliation import reconcile
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

EXPECTED = Expected(currency="USD", total=Decimal("43.28"), tax=Decimal("3.30"))


def test_equal_totals_reconcile():
    check = reconcile(
        "SalesReceipt",
        EXPECTED,
        {"TotalAmt": Decimal("43.28"), "TxnTaxDetail": {"TotalTax": Decimal("3.3")}},
    )
    assert check is not None
    assert check.matches


def test_a_cent_of_difference_is_reported_with_both_figures():
    check = reconcile(
        "SalesReceipt",
        EXPECTED,
        {"TotalAmt": Decimal("43.29"), "TxnTaxDetail": {"TotalTax": Decimal("3.31")}},
    )
    assert check is not None
    assert not check.matches
    assert "43.28" in check.describe()
    assert "43.29" in check.describe()


def test_payments_have_no_tax_detail():
    expected = Expected(currency="USD", total=Decimal("10.00"), tax=Decimal(0))
    check = reconcile("Payment", expected, {"TotalAmt": Decimal("10.00")})
    assert check is not None
    assert check.matches


def test_missing_total_never_matches():
    check = reconcile("Invoice", EXPECTED, {"TxnTaxDetail": {"TotalTax": Decimal("3.30")}})
    assert check is not None
    assert not check.matches


def test_customers_have_nothing_to_reconcile():
    assert reconcile("Customer", EXPECTED, {}) is None


# ---------------------------------------------------------------- source side (store figures)


def _facts(kind, canonical_id, order_id, day, total, *, paid=None, refunded="0.00"):  # noqa: PLR0913
    return {
        "kind": kind,
        "canonical_id": canonical_id,
        "order_id": order_id,
        "timestamp": f"{day}T12:00:00Z",
        "store_timezone": "America/New_York",
        "local_date": day,
        "currency": "USD",
        "total": total,
        "tax": "0.00",
        "amount_paid": paid,
        "amount_refunded": refunded,
    }


def _entry(external_id, entity, qbo_id, facts, *, status=LedgerStatus.ACTIVE):
    return LedgerEntry(
        realm_id="r",
        external_id=external_id,
        entity=entity,
        qbo_id=qbo_id,
        sync_token="0",
        body_hash="h",
        status=status,
        expected_total=Decimal(facts["total"]) if facts else Decimal(0),
        expected_tax=Decimal(0),
        currency="USD",
        source_facts=facts,
    )


def _qbo(*documents):
    return {
        (entity, qbo_id): {"TotalAmt": Decimal(total), "TxnDate": day}
        for entity, qbo_id, total, day in documents
    }


def test_a_document_dated_a_day_late_shows_as_two_store_days_off_by_its_amount():
    entries = [
        _entry(
            "s:1#sales_receipt",
            "SalesReceipt",
            "1",
            _facts("order", "s:1", "s:1", "2026-03-01", "10.00", paid="10.00"),
        ),
        _entry(
            "s:2#sales_receipt",
            "SalesReceipt",
            "2",
            _facts("order", "s:2", "s:2", "2026-03-01", "25.50", paid="25.50"),
        ),
    ]
    # The mapper dated order 2 on the 2nd (its UTC day); the store sold it on the 1st.
    quickbooks = _qbo(
        ("SalesReceipt", "1", "10.00", "2026-03-01"), ("SalesReceipt", "2", "25.50", "2026-03-02")
    )

    result = reconcile_source(entries, quickbooks)

    assert [(d.day, d.kind, d.store_total, d.qbo_total, d.difference) for d in result.days] == [
        ("2026-03-01", "sales", Decimal("35.50"), Decimal("10.00"), Decimal("-25.50")),
        ("2026-03-02", "sales", Decimal(0), Decimal("25.50"), Decimal("25.50")),
    ]
    assert not result.clean
    # The per-document check cannot see it: each document equals its expected total.
    assert all(compare(entries, quickbooks)[i].matches for i in range(2))


def test_store_days_match_when_every_document_is_on_the_stores_day():
    entries = [
        _entry(
            "s:1#invoice",
            "Invoice",
            "1",
            _facts("order", "s:1", "s:1", "2026-03-01", "30.00", paid="30.00"),
        ),
        _entry(
            "s:1#payment:7",
            "Payment",
            "2",
            _facts("order", "s:1", "s:1", "2026-03-01", "30.00", paid="30.00"),
        ),
        _entry(
            "s:1#refund:9",
            "RefundReceipt",
            "3",
            _facts("refund", "s:9", "s:1", "2026-03-04", "5.00", refunded="5.00"),
        ),
        _entry(
            "s:3#sales_receipt",
            "SalesReceipt",
            "4",
            _facts("order", "s:3", "s:3", "2026-03-01", "9.00", paid="9.00"),
            status=LedgerStatus.VOIDED,
        ),
        _entry("s:4#sales_receipt", "SalesReceipt", "5", None),
    ]
    quickbooks = _qbo(
        ("Invoice", "1", "30.00", "2026-03-01"),
        ("Payment", "2", "30.00", "2026-03-01"),
        ("RefundReceipt", "3", "5.00", "2026-03-04"),
        ("SalesReceipt", "4", "0", "2026-03-01"),
        ("SalesReceipt", "5", "12.00", "2026-03-01"),
    )

    result = reconcile_source(entries, quickbooks)

    assert [(d.day, d.kind, d.records, d.documents, d.matches) for d in result.days] == [
        ("2026-03-01", "sales", 1, 1, True),
        ("2026-03-04", "refunds", 1, 1, True),
    ]
    assert result.over_refunds == []
    assert result.without_store_figures == 1
    assert result.clean


def test_an_order_refunded_more_than_it_was_paid_is_flagged_with_both_amounts():
    entries = [
        _entry(
            "s:1#sales_receipt",
            "SalesReceipt",
            "1",
            _facts("order", "s:1", "s:1", "2026-03-01", "40.00", paid="40.00"),
        ),
        _entry(
            "s:1#refund:8",
            "RefundReceipt",
            "2",
            _facts("refund", "s:8", "s:1", "2026-03-02", "30.00", refunded="30.00"),
        ),
        _entry(
            "s:1#refund:9",
            "RefundReceipt",
            "3",
            _facts("refund", "s:9", "s:1", "2026-03-03", "15.00", refunded="15.00"),
        ),
    ]
    quickbooks = _qbo(
        ("SalesReceipt", "1", "40.00", "2026-03-01"),
        ("RefundReceipt", "2", "30.00", "2026-03-02"),
        ("RefundReceipt", "3", "15.00", "2026-03-03"),
    )

    result = reconcile_source(entries, quickbooks)

    assert [(o.order_id, o.where, o.paid, o.refunded, o.excess) for o in result.over_refunds] == [
        ("s:1", "store", Decimal("40.00"), Decimal("45.00"), Decimal("5.00")),
        ("s:1", "quickbooks", Decimal("40.00"), Decimal("45.00"), Decimal("5.00")),
    ]
    assert not result.clean


def _summary_facts(day, total, *, orders=(), refund_orders=()):
    return {
        "kind": "summary",
        "canonical_id": "summary:shopify:s:p1",
        "mode": "payout_summary",
        "local_date": day,
        "currency": "USD",
        "total": total,
        "tax": "0.00",
        "customer": "customer:summary:shopify:s",
        "covers_orders": list(orders),
        "covers_refunds": [],
        "refund_orders": list(refund_orders),
    }


def test_a_summary_is_set_against_its_store_total_on_its_own_day():
    entries = [
        _entry(
            "p1#summary_sales",
            "SalesReceipt",
            "1",
            _summary_facts("2026-03-05", "65.10", orders=("s:1", "s:2")),
        ),
    ]

    matching = reconcile_source(entries, _qbo(("SalesReceipt", "1", "65.10", "2026-03-05")))
    edited = reconcile_source(entries, _qbo(("SalesReceipt", "1", "60.10", "2026-03-05")))

    assert [(d.day, d.kind, d.store_total, d.qbo_total) for d in matching.days] == [
        ("2026-03-05", "sales", Decimal("65.10"), Decimal("65.10"))
    ]
    assert matching.clean
    assert [d.difference for d in edited.differing_days] == [Decimal("-5.00")]


def test_a_refund_of_a_summarised_order_is_not_an_over_refund_in_quickbooks():
    entries = [
        _entry(
            "p1#summary_sales",
            "SalesReceipt",
            "1",
            _summary_facts("2026-03-05", "65.10", orders=("s:1", "s:2")),
        ),
        _entry(
            "s:1#refund:9",
            "RefundReceipt",
            "2",
            _facts("refund", "s:1:r9", "s:1", "2026-03-07", "4.00", refunded="4.00"),
        ),
        _entry(
            "s:3#refund:8",
            "RefundReceipt",
            "3",
            _facts("refund", "s:3:r8", "s:3", "2026-03-07", "2.00", refunded="2.00"),
        ),
    ]
    quickbooks = _qbo(
        ("SalesReceipt", "1", "65.10", "2026-03-05"),
        ("RefundReceipt", "2", "4.00", "2026-03-07"),
        ("RefundReceipt", "3", "2.00", "2026-03-07"),
    )

    result = reconcile_source(entries, quickbooks)

    # s:1 was paid through the summary; s:3 has no sale anywhere in QuickBooks.
    assert [(o.order_id, o.where) for o in result.over_refunds] == [("s:3", "quickbooks")]
