"""The refund guard: an order's refunds, each counted once, never return more than was paid.

Pure cases on `refund_guard`, then end to end against the QuickBooks emulator: refunds arriving
in either order, an order record listing its refunds, and a refund from an earlier run.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from target_quickbooks import refund_guard
from target_quickbooks.contract import Expected, MappedDocument, Operation
from target_quickbooks.refund_guard import OrderMoney, RefundClaim
from target_quickbooks.store import open_store
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

ORDER = "shopify:demo:1"
PAID = "43.28"  # the receipt of conftest.receipt_record(1, qty=2): 2 x 19.99 + 8.25% tax


def claim(refund: str, at: str, returned: str, value: str | None = None) -> RefundClaim:
    return RefundClaim(
        external_id=f"{ORDER}#refund:{refund}",
        order_id=ORDER,
        at=at,
        returned=Decimal(returned),
        value=Decimal(value or returned),
        currency="USD",
    )


def test_the_first_refund_in_time_that_exceeds_what_was_paid_is_set_aside():
    first = claim("a", "2026-11-02T10:00:00Z", "25.00")
    second = claim("b", "2026-11-03T10:00:00Z", "25.00")
    money = OrderMoney(Decimal(PAID), Decimal(PAID))
    for arrival in ([first, second], [second, first]):
        refused = refund_guard.set_aside(arrival, [], money)
        assert list(refused) == [second.external_id]
        assert "25.00 USD" in refused[second.external_id].message
        assert "50.00" in refused[second.external_id].message
        assert f"{PAID} USD paid" in refused[second.external_id].message


def test_refunds_that_together_fit_are_all_kept():
    refunds = [
        claim("a", "2026-11-02T10:00:00Z", "20.00"),
        claim("b", "2026-11-02T11:00:00Z", "23.28"),
    ]
    assert refund_guard.set_aside(refunds, [], OrderMoney(Decimal(PAID), None)) == {}


def test_a_refund_in_the_ledger_counts_once_and_never_against_itself():
    earlier = claim("a", "2026-11-02T10:00:00Z", "25.00")
    money = OrderMoney(Decimal(PAID), None)
    assert refund_guard.set_aside([earlier], [earlier], money) == {}  # its own update
    later = claim("b", "2026-11-03T10:00:00Z", "25.00")
    assert list(refund_guard.set_aside([later], [earlier], money)) == [later.external_id]


def test_refunds_worth_more_than_the_order_are_set_aside_even_without_money_back():
    credit = claim("a", "2026-11-02T10:00:00Z", "0", value="30.00")
    more = claim("b", "2026-11-03T10:00:00Z", "0", value="30.00")
    refused = refund_guard.set_aside([more, credit], [], OrderMoney(Decimal(0), Decimal("50.00")))
    assert list(refused) == [more.external_id]
    assert refused[more.external_id].field == "expected.total"


def test_unknown_paid_amount_checks_nothing():
    refunds = [claim("a", "2026-11-02T10:00:00Z", "900.00")]
    assert refund_guard.set_aside(refunds, [], OrderMoney(None, None)) == {}


def _entry(external_id: str, entity: str, total: str, **extra: Any) -> LedgerEntry:
    return LedgerEntry(
        realm_id="1",
        external_id=external_id,
        entity=entity,
        qbo_id="9",
        sync_token="0",
        body_hash="h",
        status=extra.pop("status", LedgerStatus.ACTIVE),
        expected_total=Decimal(total),
        currency="USD",
        **extra,
    )


def test_paid_comes_from_the_orders_newest_source_block_else_its_payments():
    old = _entry(
        f"{ORDER}#invoice",
        "Invoice",
        "100.00",
        source_updated_at="2026-11-01T10:00:00Z",
        source_facts={"kind": "order", "amount_paid": "0.00", "total": "100.00"},
    )
    new = _entry(
        f"{ORDER}#payment:7",
        "Payment",
        "60.00",
        source_updated_at="2026-11-02T10:00:00Z",
        source_facts={"kind": "order", "amount_paid": "60.00", "total": "100.00"},
    )
    assert refund_guard.order_money([old, new]) == OrderMoney(Decimal(60), Decimal(100))
    bare = [
        _entry(f"{ORDER}#invoice", "Invoice", "100.00"),
        _entry(f"{ORDER}#payment:7", "Payment", "60.00"),
        _entry(f"{ORDER}#payment:8", "Payment", "15.00"),
    ]
    assert refund_guard.order_money(bare) == OrderMoney(Decimal(75), Decimal(100))
    assert refund_guard.order_money([]) == OrderMoney(None, None)


def test_a_ledger_refund_without_source_counts_its_receipt_total_and_a_voided_one_nothing():
    receipt = _entry(f"{ORDER}#refund:a", "RefundReceipt", "12.00")
    memo = _entry(f"{ORDER}#refund:b", "CreditMemo", "5.00")
    voided = _entry(f"{ORDER}#refund:c", "RefundReceipt", "7.00", status=LedgerStatus.VOIDED)
    claims = [refund_guard.claim_of_entry(e) for e in (receipt, memo, voided)]
    assert [(c.returned, c.value) if c else None for c in claims] == [
        (Decimal(12), Decimal(12)),
        (Decimal(0), Decimal(5)),
        None,
    ]


def _wave_document(external_id: str, entity: str, total: str, facts: dict[str, Any]) -> Any:
    return MappedDocument(
        stream="refund_receipts" if entity == "RefundReceipt" else "payments",
        external_id=external_id,
        source_id=ORDER,
        source_updated_at=facts["timestamp"],
        entity=entity,
        operation=Operation.UPSERT,
        body={},
        expected=Expected("USD", Decimal(total), Decimal(0)),
        critical_fields=(),
        links={"order": ORDER},
        mapping_version="test+golden",
        record={},
        source_facts=facts,
    )


def test_paid_counts_the_store_figures_of_the_order_documents_in_the_same_wave():
    # By hand: Invoice 43.28 written by an older target (no source block in its ledger row);
    # the capture's Payment (43.28, the store saying 43.28 paid) and the full refund of 43.28
    # share a wave. Paid is 43.28, refunded before 0: the refund fits.
    invoice = _entry(f"{ORDER}#invoice", "Invoice", PAID)
    order_facts = {"kind": "order", "timestamp": "2026-11-01T12:00:00Z", "total": PAID}
    payment = _wave_document(
        f"{ORDER}#payment:t1", "Payment", PAID, {**order_facts, "amount_paid": PAID}
    )
    refund = _wave_document(
        f"{ORDER}#refund:a",
        "RefundReceipt",
        PAID,
        {"kind": "refund", "timestamp": "2026-11-02T10:00:00Z", "amount_refunded": PAID},
    )
    assert refund_guard.wave_set_aside([refund, payment], [invoice]) == {}
    # Without the Payment's figures the same refund is still checked, against what is known.
    assert list(refund_guard.wave_set_aside([refund], [invoice])) == [refund.external_id]


# ------------------------------------------------------------ end to end (emulator)


def _order_source(refunded: str = "0.00") -> dict[str, Any]:
    return {
        "kind": "order",
        "canonical_id": ORDER,
        "order_id": ORDER,
        "timestamp": "2026-11-01T10:00:00Z",
        "store_timezone": "America/New_York",
        "local_date": "2026-11-01",
        "currency": "USD",
        "total": PAID,
        "tax": "3.30",
        "amount_paid": PAID,
        "amount_refunded": refunded,
    }


def _order(mapped, refunded: str = "0.00") -> list[tuple[str, dict[str, Any]]]:
    receipt = mapped.receipt(1, qty=2, customer=1)
    receipt["source"] = _order_source(refunded)
    return [("customers", mapped.customer(1)), ("sales_receipts", receipt)]


def _refund(refund_id: str, amount: str, at: str) -> tuple[str, dict[str, Any]]:
    return (
        "refund_receipts",
        {
            "external_id": f"{ORDER}#refund:{refund_id}",
            "source_id": f"shopify:demo:{refund_id}",
            "source_updated_at": at,
            "document_type": "RefundReceipt",
            "operation": "upsert",
            "body": {
                "DocNumber": f"R{refund_id}",
                "TxnDate": at[:10],
                "CustomerRef": {"by": "external_id", "value": f"{ORDER}#customer"},
                "DepositToAccountRef": {"by": "name", "value": "Checking"},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": amount,
                        "SalesItemLineDetail": {
                            "ItemRef": {"by": "sku", "value": "WID-001"},
                            "TaxCodeRef": {"by": "id", "value": "NON"},
                        },
                    }
                ],
            },
            "expected": {"currency": "USD", "total": amount, "tax": "0"},
            "critical_fields": ["Line", "TotalAmt", "CustomerRef"],
            "links": {"customer": f"{ORDER}#customer", "order": ORDER},
            "mapping_version": "test+golden",
            "source": {
                "kind": "refund",
                "canonical_id": f"shopify:demo:{refund_id}",
                "order_id": ORDER,
                "timestamp": at,
                "store_timezone": "America/New_York",
                "local_date": at[:10],
                "currency": "USD",
                "total": amount,
                "tax": "0.00",
                "amount_paid": None,
                "amount_refunded": amount,
            },
        },
    )


def _refunds_in_quickbooks(emulator, realm: str) -> list[str]:
    return sorted(d["DocNumber"] for d in emulator.realms[realm].documents("RefundReceipt"))


def _letters(config) -> list[tuple[str, str]]:
    letters = open_store(config["database_url"]).dead_letters.open_letters(config["realm_id"])
    return [(row["external_id"], row["error_code"]) for row in letters]


EARLY = _refund("a", "25.00", "2026-11-02T10:00:00Z")
LATE = _refund("b", "25.00", "2026-11-03T10:00:00Z")


@pytest.mark.parametrize("arrival", [[EARLY, LATE], [LATE, EARLY]], ids=["in_order", "reversed"])
def test_two_refunds_over_what_was_paid_set_the_later_aside_whatever_the_arrival_order(
    arrival, mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    config = make_config()
    run_target(config, mapped.lines(_order(mapped) + arrival, {"b": 1}))
    assert _refunds_in_quickbooks(emulator, mapped.realm) == ["Ra"]
    assert _letters(config) == [(f"{ORDER}#refund:b", "TQB-REFUND-EXCEEDS-PAID")]


def test_refunds_the_order_record_lists_are_not_counted_twice(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    config = make_config()
    refunds = [
        _refund("a", "20.00", "2026-11-02T10:00:00Z"),
        _refund("b", "23.28", "2026-11-03T10:00:00Z"),
    ]
    # The order was read after both refunds: its record already counts them as refunded.
    run_target(config, mapped.lines(_order(mapped, refunded=PAID) + refunds, {"b": 1}))
    assert _refunds_in_quickbooks(emulator, mapped.realm) == ["Ra", "Rb"]
    assert _letters(config) == []


def test_a_refund_delivered_in_an_earlier_run_counts(mapped, qbo, make_config, run_target):
    _, emulator = qbo
    config = make_config()
    run_target(config, mapped.lines([*_order(mapped), LATE], {"b": 1}))
    run_target(config, mapped.lines([EARLY], {"b": 2}))
    # The later refund was written first, in its own run: the one that no longer fits is set
    # aside, as the books already hold the other.
    assert _refunds_in_quickbooks(emulator, mapped.realm) == ["Rb"]
    assert _letters(config) == [(f"{ORDER}#refund:a", "TQB-REFUND-EXCEEDS-PAID")]


def _invoice_paid_on_capture(mapped) -> list[tuple[str, dict[str, Any]]]:
    """Shopify order 1 as an authorization captured later: an Invoice and the capture's Payment.

    By hand: 2 x 19.99 = 39.98, 8.25% tax 3.30, total 43.28; authorized 43.28, captured 43.28
    (paid 43.28, nothing refunded before); the refund below returns 43.28 of that capture.
    """
    invoice = mapped.receipt(1, qty=2, customer=1)
    invoice["external_id"] = f"{ORDER}#invoice"
    invoice["document_type"] = "Invoice"
    invoice["links"]["order"] = ORDER
    invoice["source"] = _order_source(refunded=PAID)
    link = {"by": "external_id", "value": f"{ORDER}#invoice", "entity": "Invoice"}
    payment = {
        "external_id": f"{ORDER}#payment:t1",
        "source_id": ORDER,
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "Payment",
        "operation": "upsert",
        "body": {
            "CustomerRef": {"by": "external_id", "value": "customer:shopify:demo:1"},
            "TxnDate": "2026-11-01",
            "TotalAmt": PAID,
            "PaymentRefNum": "t1",
            "Line": [{"Amount": PAID, "LinkedTxn": [{"TxnId": link, "TxnType": "Invoice"}]}],
        },
        "expected": {"currency": "USD", "total": PAID, "tax": "0"},
        "critical_fields": ["Line", "TotalAmt", "CustomerRef"],
        "links": {
            "customer": "customer:shopify:demo:1",
            "order": ORDER,
            "applies_to": f"{ORDER}#invoice",
        },
        "mapping_version": "test+golden",
        "source": _order_source(refunded=PAID),
    }
    return [("customers", mapped.customer(1)), ("invoices", invoice), ("payments", payment)]


def test_a_full_refund_of_an_invoice_paid_on_capture_is_written_beside_its_payment(
    mapped, qbo, make_config, run_target
):
    # The 5,000-order backfill's 24 dead letters: the refund waits for the Invoice only, so it
    # is written in the Payment's wave; the guard must take what was paid from the store's
    # figures in the ledger (43.28), not from the Payments QuickBooks holds so far (none).
    _, emulator = qbo
    config = make_config()
    refund = _refund("a", PAID, "2026-11-02T10:00:00Z")
    run_target(config, mapped.lines([refund, *_invoice_paid_on_capture(mapped)], {"b": 1}))
    assert _letters(config) == []
    assert _refunds_in_quickbooks(emulator, mapped.realm) == ["Ra"]
