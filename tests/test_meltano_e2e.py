"""End to end: real `meltano run` of both jobs against the sandbox, checked from emulator data."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meltano_sandbox import SHOP, MeltanoProject, Sandbox, ensure_plugins_installed

ORDERS_PER_STORE = 30
PRIMARY = ("SalesReceipt", "Invoice")
WRITE_ROUTES = ("POST /v3/company/{realm_id}/batch", "POST /v3/company/{realm_id}/{entity}")


@pytest.fixture(scope="module")
def sandbox():
    ensure_plugins_installed()
    served = Sandbox(orders=ORDERS_PER_STORE)
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def project(sandbox, tmp_path_factory):
    return MeltanoProject(sandbox=sandbox, work=tmp_path_factory.mktemp("meltano"))


@pytest.fixture(autouse=True)
def no_client_protocol_problems(sandbox):
    """After each test: the target made no protocol mistake QuickBooks would hide or refuse."""
    yield
    assert sandbox.qbo_strict_report() == []


def _writes(summary: dict[str, Any]) -> int:
    per_route: dict[str, int] = summary.get("per_route") or summary.get("routes") or {}
    return sum(count for route, count in per_route.items() if route.startswith("POST /v3/"))


def _shopify_orders(sandbox: Sandbox) -> list[dict[str, Any]]:
    response = requests.get(f"{sandbox.url('shopify')}/__admin/{SHOP}/orders", timeout=30)
    response.raise_for_status()
    orders: list[dict[str, Any]] = response.json()
    return orders


def _primary_documents(sandbox: Sandbox, prefix: str) -> dict[str, list[dict[str, Any]]]:
    by_number: dict[str, list[dict[str, Any]]] = {}
    for entity in PRIMARY:
        for document in sandbox.qbo_documents(entity):
            number = str(document.get("DocNumber") or "")
            if number.startswith(prefix):
                by_number.setdefault(number.removeprefix(prefix), []).append(document)
    return by_number


def test_shopify_job_lands_each_order_once_with_the_store_total(sandbox, project):
    result = project.run("shopify-to-quickbooks")
    assert result.returncode == 0, result.stderr[-3000:]
    documents = _primary_documents(sandbox, "SH-")
    assert documents, "no Shopify document reached QuickBooks"
    duplicates = {number: len(docs) for number, docs in documents.items() if len(docs) > 1}
    assert duplicates == {}
    orders = {order["name"].lstrip("#"): order for order in _shopify_orders(sandbox)}
    for number, (document,) in documents.items():
        assert Decimal(str(document["TotalAmt"])) == Decimal(orders[number]["total_price"]), number


def test_rerun_with_state_writes_nothing(sandbox, project):
    before = _writes(sandbox.qbo_requests())
    result = project.run("shopify-to-quickbooks")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _writes(sandbox.qbo_requests()) == before


def test_woocommerce_job_lands_each_order_once(sandbox, project):
    result = project.run("woocommerce-to-quickbooks")
    assert result.returncode == 0, result.stderr[-3000:]
    documents = _primary_documents(sandbox, "WC-")
    assert documents, "no WooCommerce document reached QuickBooks"
    counts = Counter({number: len(docs) for number, docs in documents.items()})
    assert max(counts.values()) == 1


def _document(sandbox: Sandbox, entity: str, doc_number: str) -> dict[str, Any]:
    (found,) = [d for d in sandbox.qbo_documents(entity) if d.get("DocNumber") == doc_number]
    return found


def _bookkeeper_edit(sandbox: Sandbox, entity: str, qbo_id: str, change: dict[str, Any]) -> None:
    response = requests.post(
        f"{sandbox.url('qbo')}/__admin/realms/9130357600000001/edit/{entity}/{qbo_id}",
        json=change,
        timeout=30,
    )
    response.raise_for_status()


def _open_reviews(project: MeltanoProject) -> list[dict[str, Any]]:
    with sqlite3.connect(project.target_database) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM review_queue WHERE resolved_at IS NULL").fetchall()
    return [dict(row) for row in rows]


def _paid_orders(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [o for o in _shopify_orders(sandbox) if o["financial_status"] == "PAID"]


def test_refund_in_the_store_between_runs_becomes_a_refund_receipt(sandbox, project):
    order = _paid_orders(sandbox)[0]
    refunds_before = {d["Id"] for d in sandbox.qbo_documents("RefundReceipt")}
    response = requests.post(
        f"{sandbox.url('shopify')}/__admin/{SHOP}/orders/{order['id']}/refund",
        json={"lines": [[0, 1]]},
        timeout=30,
    )
    response.raise_for_status()
    refunded = Decimal(order["current_total_price"]) - Decimal(
        response.json()["current_total_price"]
    )
    result = project.run("shopify-to-quickbooks")
    assert result.returncode == 0, result.stderr[-3000:]
    new = [d for d in sandbox.qbo_documents("RefundReceipt") if d["Id"] not in refunds_before]
    assert [Decimal(str(d["TotalAmt"])) for d in new] == [refunded]


def test_order_edited_in_the_store_updates_its_document(sandbox, project):
    order = _paid_orders(sandbox)[1]
    number = "SH-" + order["name"].lstrip("#")
    before = _document(sandbox, "SalesReceipt", number)
    requests.post(
        f"{sandbox.url('shopify')}/__admin/{SHOP}/orders/{order['id']}/edit",
        json={"note": "Leave it with the neighbour"},
        timeout=30,
    ).raise_for_status()
    result = project.run("shopify-to-quickbooks")
    assert result.returncode == 0, result.stderr[-3000:]
    after = _document(sandbox, "SalesReceipt", number)
    assert after["Id"] == before["Id"]
    assert int(after["SyncToken"]) == int(before["SyncToken"]) + 1
    assert "Leave it with the neighbour" in after["PrivateNote"]


def _invoiced_unpaid_orders(sandbox: Sandbox) -> list[dict[str, Any]]:
    invoices = {str(d.get("DocNumber")) for d in sandbox.qbo_documents("Invoice")}
    return [
        o
        for o in _shopify_orders(sandbox)
        if o["financial_status"] in {"PENDING", "AUTHORIZED"}
        and o["line_items"] >= 1
        and "SH-" + o["name"].lstrip("#") in invoices
    ]


def test_critical_edit_on_both_sides_goes_to_review_and_quickbooks_keeps_its_version(
    sandbox, project
):
    # An unpaid order (an Invoice): on a paid one, Shopify books an edit's money as a new charge
    # or a refund (docs/sandbox-shopify.md), which changes its document type, not its lines
    # (docs/errors.md, TQB-DOCUMENT-TYPE-KEPT).
    order = _invoiced_unpaid_orders(sandbox)[0]
    number = "SH-" + order["name"].lstrip("#")
    document = _document(sandbox, "Invoice", number)
    lines = [
        dict(line) for line in document["Line"] if line.get("DetailType") != "SubTotalLineDetail"
    ]
    sales = next(line for line in lines if line.get("DetailType") == "SalesItemLineDetail")
    detail = dict(sales["SalesItemLineDetail"])
    detail["UnitPrice"] = float(Decimal(str(detail["UnitPrice"])) + 1)
    sales["SalesItemLineDetail"] = detail
    sales["Amount"] = float(Decimal(str(detail["UnitPrice"])) * Decimal(str(detail["Qty"])))
    _bookkeeper_edit(sandbox, "Invoice", document["Id"], {"Line": lines})
    edited = _document(sandbox, "Invoice", number)
    requests.post(
        f"{sandbox.url('shopify')}/__admin/{SHOP}/orders/{order['id']}/edit",
        json={"quantities": {"0": 7}},
        timeout=30,
    ).raise_for_status()
    result = project.run("shopify-to-quickbooks")
    assert result.returncode == 0, result.stderr[-3000:]
    kept = _document(sandbox, "Invoice", number)
    assert kept["SyncToken"] == edited["SyncToken"]
    assert Decimal(str(kept["TotalAmt"])) == Decimal(str(edited["TotalAmt"]))
    reviews = [r for r in _open_reviews(project) if r["entity"] == "Invoice"]
    assert [r["qbo_id"] for r in reviews] == [document["Id"]]
    assert "Line" in reviews[0]["conflict_fields"]


def test_note_edited_in_quickbooks_after_the_store_wins_by_last_write(sandbox, project):
    orders = requests.get(f"{sandbox.url('woocommerce')}/__admin/orders", timeout=30).json()
    documents = _primary_documents(sandbox, "WC-")
    order = next(o for o in orders if str(o["number"]) in documents and o["status"] == "completed")
    (document,) = documents[str(order["number"])]
    requests.post(
        f"{sandbox.url('woocommerce')}/__admin/orders/{order['id']}/modify",
        json={"customer_note": "Gift wrap, please"},
        timeout=30,
    ).raise_for_status()
    # Both systems stamp whole seconds and a tie goes to the store: the bookkeeper edits later.
    time.sleep(2)
    _bookkeeper_edit(
        sandbox, document_entity(sandbox, document), document["Id"], {"PrivateNote": "Checked"}
    )
    result = project.run("woocommerce-to-quickbooks")
    assert result.returncode == 0, result.stderr[-3000:]
    after = _document(sandbox, document_entity(sandbox, document), document["DocNumber"])
    assert after["PrivateNote"] == "Checked"
    assert not [r for r in _open_reviews(project) if r["qbo_id"] == document["Id"]]


def document_entity(sandbox: Sandbox, document: dict[str, Any]) -> str:
    for entity in PRIMARY:
        if any(d["Id"] == document["Id"] for d in sandbox.qbo_documents(entity)):
            return entity
    raise LookupError(document["Id"])


def test_note_edited_in_the_store_after_quickbooks_wins_by_last_write(sandbox, project):
    orders = requests.get(f"{sandbox.url('woocommerce')}/__admin/orders", timeout=30).json()
    documents = _primary_documents(sandbox, "WC-")
    reviewed = {r["qbo_id"] for r in _open_reviews(project)}
    order = next(
        o
        for o in reversed(orders)
        if str(o["number"]) in documents
        and o["status"] == "completed"
        and documents[str(o["number"])][0]["Id"] not in reviewed
    )
    (document,) = documents[str(order["number"])]
    entity = document_entity(sandbox, document)
    _bookkeeper_edit(sandbox, entity, document["Id"], {"PrivateNote": "Checked by the bookkeeper"})
    time.sleep(2)  # whole-second stamps: the store edits later
    requests.post(
        f"{sandbox.url('woocommerce')}/__admin/orders/{order['id']}/modify",
        json={"customer_note": "Deliver after 6pm"},
        timeout=30,
    ).raise_for_status()
    result = project.run("woocommerce-to-quickbooks")
    assert result.returncode == 0, result.stderr[-3000:]
    after = _document(sandbox, entity, document["DocNumber"])
    assert "Deliver after 6pm" in after["PrivateNote"]
