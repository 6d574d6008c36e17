"""The first document type recorded for an order wins (docs/mapping.md, "Document type").

Pure cases on `document_type_guard`, then end to end against the QuickBooks emulator: an order
written as a SalesReceipt that comes back as an Invoice with Payments (rules version 7), and an
order written as an Invoice that comes back as a SalesReceipt (paid inside its window).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from target_quickbooks import document_type_guard
from target_quickbooks.contract import parse_document
from target_quickbooks.document_type_guard import Action
from target_quickbooks.store import open_store
from target_quickbooks.store.audit import AuditFilter
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

ORDER = "shopify:demo:1"
TOTAL = "43.28"  # conftest.receipt_record(1, qty=2): 2 x 19.99 + 8.25% tax


def _receipt(mapped) -> dict[str, Any]:
    receipt = mapped.receipt(1, qty=2, customer=1)
    receipt["body"]["PrivateNote"] = f"K-Connector {ORDER} (#1001). Note: leave at door"
    receipt["body"]["PaymentMethodRef"] = {"by": "name", "value": "Visa"}
    receipt["body"]["DepositToAccountRef"] = {"by": "name", "value": "Undeposited Funds"}
    receipt["body"]["PaymentRefNum"] = "T1"
    receipt["links"]["order"] = ORDER
    return receipt


def _invoice(mapped, qty: int = 2) -> dict[str, Any]:
    invoice = json.loads(json.dumps(mapped.receipt(1, qty=qty, customer=1)))
    invoice["external_id"] = f"{ORDER}#invoice"
    invoice["document_type"] = "Invoice"
    invoice["links"]["order"] = ORDER
    return invoice


def _payment(tx: str, amount: str) -> dict[str, Any]:
    return {
        "external_id": f"{ORDER}#payment:{tx}",
        "source_id": ORDER,
        "source_updated_at": "2026-11-01T10:00:00Z",
        "document_type": "Payment",
        "operation": "upsert",
        "body": {
            "CustomerRef": {"by": "external_id", "value": "customer:shopify:demo:1"},
            "TxnDate": "2026-11-01",
            "TotalAmt": amount,
            "PaymentRefNum": tx,
            "PrivateNote": f"K-Connector {ORDER} (#1001) transaction {tx}",
            "Line": [
                {
                    "Amount": amount,
                    "LinkedTxn": [
                        {
                            "TxnId": {
                                "by": "external_id",
                                "value": f"{ORDER}#invoice",
                                "entity": "Invoice",
                            },
                            "TxnType": "Invoice",
                        }
                    ],
                }
            ],
        },
        "expected": {"currency": "USD", "total": amount, "tax": "0"},
        "critical_fields": ["Line", "TotalAmt", "CustomerRef"],
        "links": {
            "customer": "customer:shopify:demo:1",
            "order": ORDER,
            "applies_to": f"{ORDER}#invoice",
        },
        "mapping_version": "test+golden",
    }


def _document(stream: str, record: dict[str, Any]):
    document = parse_document(stream, record)
    assert not hasattr(document, "message"), document
    return document


def _entry(external_id: str, entity: str, total: str) -> LedgerEntry:
    return LedgerEntry(
        realm_id="1",
        external_id=external_id,
        entity=entity,
        qbo_id="9",
        sync_token="0",
        body_hash="h",
        status=LedgerStatus.ACTIVE,
        expected_total=Decimal(total),
        currency="USD",
    )


# ------------------------------------------------------------------ pure


def test_a_recorded_receipt_keeps_invoices_and_payments_out(mapped):
    receipt = _entry(f"{ORDER}#sales_receipt", "SalesReceipt", TOTAL)
    invoice = _document("invoices", _invoice(mapped))
    payment = _document("payments", _payment("T1", "20.00"))
    assert document_type_guard.decide(invoice, [receipt]).action is Action.KEEP
    assert document_type_guard.decide(payment, [receipt]).action is Action.KEEP
    # Another order's receipt, or a voided one, decides nothing.
    other = _entry("shopify:demo:2#sales_receipt", "SalesReceipt", TOTAL)
    voided = LedgerEntry(**{**receipt.__dict__, "status": LedgerStatus.VOIDED})
    assert document_type_guard.decide(invoice, [other, voided]).action is Action.WRITE


def test_an_invoice_whose_total_differs_from_the_recorded_receipt_is_refused(mapped):
    receipt = _entry(f"{ORDER}#sales_receipt", "SalesReceipt", TOTAL)
    decision = document_type_guard.decide(_document("invoices", _invoice(mapped, 3)), [receipt])
    assert decision.action is Action.REFUSE
    assert decision.field == "expected.total"
    assert f"{TOTAL} USD" in decision.message
    assert "64.92 USD" in decision.message


def test_a_receipt_after_a_recorded_invoice_becomes_a_payment_applied_to_it(mapped):
    invoice = _entry(f"{ORDER}#invoice", "Invoice", TOTAL)
    decision = document_type_guard.decide(_document("sales_receipts", _receipt(mapped)), [invoice])
    assert decision.action is Action.CONVERT
    payment = decision.document
    assert (payment.external_id, payment.entity, payment.stream) == (
        f"{ORDER}#payment:sales_receipt",
        "Payment",
        "payments",
    )
    assert payment.expected.total == Decimal(TOTAL)
    assert payment.links["applies_to"] == f"{ORDER}#invoice"
    assert dict(payment.body) == {
        "CustomerRef": {"by": "external_id", "value": "customer:shopify:demo:1"},
        "TxnDate": "2026-11-01",
        "PaymentMethodRef": {"by": "name", "value": "Visa"},
        "DepositToAccountRef": {"by": "name", "value": "Undeposited Funds"},
        "PaymentRefNum": "T1",
        "TotalAmt": TOTAL,
        "PrivateNote": f"K-Connector {ORDER} (#1001) transaction T1",
        "Line": [
            {
                "Amount": TOTAL,
                "LinkedTxn": [
                    {
                        "TxnId": {
                            "by": "external_id",
                            "value": f"{ORDER}#invoice",
                            "entity": "Invoice",
                        },
                        "TxnType": "Invoice",
                    }
                ],
            }
        ],
    }


def test_a_receipt_after_several_per_shipment_invoices_is_refused(mapped):
    shipments = [
        _entry(f"{ORDER}#invoice:F1", "Invoice", "20.00"),
        _entry(f"{ORDER}#invoice:F2", "Invoice", "23.28"),
    ]
    receipt = _document("sales_receipts", _receipt(mapped))
    decision = document_type_guard.decide(receipt, shipments)
    assert decision.action is Action.REFUSE
    assert f"{ORDER}#invoice:F1" in decision.message


# ------------------------------------------------------------ end to end (emulator)


def _audit(config, outcome: str) -> list[str]:
    store = open_store(config["database_url"])
    rows = store.audit.query(config["realm_id"], AuditFilter(outcome=outcome, limit=50))
    return sorted(str(row["external_id"]) for row in rows)


def _letters(config) -> list[tuple[str, str]]:
    letters = open_store(config["database_url"]).dead_letters.open_letters(config["realm_id"])
    return [(row["external_id"], row["error_code"]) for row in letters]


def test_an_order_written_as_a_receipt_keeps_it_when_it_comes_back_as_an_invoice(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    company = emulator.realms[mapped.realm]
    config = make_config()
    invoices_before = len(company.documents("Invoice"))
    payments_before = len(company.documents("Payment"))
    run_target(
        config,
        mapped.lines(
            [("customers", mapped.customer(1)), ("sales_receipts", _receipt(mapped))], {"b": 1}
        ),
    )
    upgraded = [
        ("invoices", _invoice(mapped)),
        ("payments", _payment("T1", "20.00")),
        ("payments", _payment("T2", "23.28")),
    ]
    run_target(config, mapped.lines(upgraded, {"b": 2}))
    assert [
        d["DocNumber"] for d in company.documents("SalesReceipt") if d.get("DocNumber") == "KC1"
    ] == ["KC1"]
    assert len(company.documents("Invoice")) == invoices_before
    assert len(company.documents("Payment")) == payments_before
    assert _audit(config, "kept_document_type") == sorted(
        [f"{ORDER}#invoice", f"{ORDER}#payment:T1", f"{ORDER}#payment:T2"]
    )
    assert _letters(config) == []
    # The order changed in the store: the change cannot reach the receipt; one dead letter says so.
    for run in (3, 4):
        run_target(config, mapped.lines([("invoices", _invoice(mapped, qty=3))], {"b": run}))
    assert _letters(config) == [(f"{ORDER}#invoice", "TQB-DOCUMENT-TYPE-KEPT")]
    assert len(company.documents("Invoice")) == invoices_before


def test_an_order_written_as_an_invoice_records_its_receipt_as_a_payment(
    mapped, qbo, make_config, run_target
):
    _, emulator = qbo
    company = emulator.realms[mapped.realm]
    config = make_config()
    receipts_before = len(company.documents("SalesReceipt"))
    run_target(
        config,
        mapped.lines([("customers", mapped.customer(1)), ("invoices", _invoice(mapped))], {"b": 1}),
    )
    run_target(config, mapped.lines([("sales_receipts", _receipt(mapped))], {"b": 2}))
    (invoice,) = [d for d in company.documents("Invoice") if d.get("DocNumber") == "KC1"]
    assert Decimal(str(invoice["Balance"])) == 0
    ours = [d for d in company.documents("Payment") if ORDER in str(d.get("PrivateNote"))]
    assert len(ours) == 1
    assert ours[0]["Line"][0]["LinkedTxn"][0]["TxnId"] == invoice["Id"]
    assert Decimal(str(ours[0]["TotalAmt"])) == Decimal(TOTAL)
    assert len(company.documents("SalesReceipt")) == receipts_before
    assert _letters(config) == []
    # A re-run writes nothing.
    target, _ = run_target(config, mapped.lines([("sales_receipts", _receipt(mapped))], {"b": 3}))
    counts = target._engine.counts
    assert (counts.created, counts.updated, counts.unchanged) == (0, 0, 1)
    assert len([d for d in company.documents("Payment") if ORDER in str(d.get("PrivateNote"))]) == 1
