"""End to end: real `meltano run` of both jobs against the sandbox, checked from emulator data."""

from __future__ import annotations

import sys
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
