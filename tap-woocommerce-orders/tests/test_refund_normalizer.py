from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kconnector_canonical import validate
from tap_woocommerce_orders.refund_normalizer import (
    RefundParent,
    normalize_refund,
    refund_parent,
)
from tap_woocommerce_orders.wc_values import SourceValueError

STORE = "shop.example.com"


def assert_valid(record: dict[str, Any]) -> None:
    problems = validate(record, "refunds")
    assert problems == [], [str(p) for p in problems]


@pytest.fixture
def docs_parent(load_fixture: Callable[[str], Any]) -> Any:
    order = load_fixture("order_docs_727.json")
    order["id"] = 723
    order["refunds"] = [{"id": 726, "reason": "", "total": "-10.00"}]
    return refund_parent(order, {"75": Decimal("7.5")})


@pytest.fixture
def eu_parent(load_fixture: Callable[[str], Any]) -> Any:
    return refund_parent(load_fixture("order_eu_inclusive.json"))


def test_embedded_refund_total_is_negative_and_read_as_money_given_back(
    docs_parent: RefundParent,
) -> None:
    assert docs_parent.embedded_totals == {"726": Decimal("10.00")}


def test_amount_only_refund_becomes_one_amount_only_adjustment(
    load_fixture: Callable[[str], Any], docs_parent: RefundParent
) -> None:
    refund = load_fixture("refunds_docs_723.json")[0]
    record = normalize_refund(refund, docs_parent, STORE)

    assert_valid(record)
    assert record["line_items"] == []
    assert record["adjustments"] == [
        {
            "kind": "amount_only",
            "reason": None,
            "amount": {"amount": "10.00", "currency": "USD"},
            "tax": {"amount": "0.00", "currency": "USD"},
        }
    ]
    assert record["totals"]["total"] == {"amount": "10.00", "currency": "USD"}
    assert record["order_id"] == "woocommerce:shop.example.com:723"


def test_line_refund_points_to_the_order_line_and_is_positive(
    load_fixture: Callable[[str], Any], docs_parent: RefundParent
) -> None:
    refund = load_fixture("refunds_docs_723.json")[1]
    record = normalize_refund(refund, docs_parent, STORE)

    assert_valid(record)
    assert record["line_items"] == [
        {
            "line_id": "314",
            "order_line_id": "311",
            "sku": None,
            "title": "Woo Album #2",
            "quantity": 1,
            "subtotal": {"amount": "9.00", "currency": "USD"},
            "tax": {"amount": "0.00", "currency": "USD"},
            "tax_lines": [],
            "restock_type": None,
        }
    ]
    assert record["adjustments"] == []
    assert record["totals"]["total"]["amount"] == "9.00"


def test_manual_refund_has_no_gateway_transaction(
    load_fixture: Callable[[str], Any], docs_parent: RefundParent
) -> None:
    refund = load_fixture("refunds_docs_723.json")[1]

    assert normalize_refund(refund, docs_parent, STORE)["transactions"] == []


def test_inclusive_refund_with_shipping_adds_tax_back_and_reconciles(
    load_fixture: Callable[[str], Any], eu_parent: RefundParent
) -> None:
    refund = load_fixture("refund_eu_lines.json")
    record = normalize_refund(refund, eu_parent, STORE)

    assert_valid(record)
    assert record["prices_include_tax"] is True
    line = record["line_items"][0]
    assert (line["order_line_id"], line["subtotal"]["amount"], line["tax"]["amount"]) == (
        "991",
        "21.60",
        "3.45",
    )
    assert line["tax_lines"][0]["rate"] == "0.19"
    shipping = record["shipping_lines"][0]
    assert (shipping["order_line_id"], shipping["amount"]["amount"]) == ("993", "4.95")
    assert record["totals"]["total"]["amount"] == "26.55"
    assert record["totals"]["tax"]["amount"] == "4.24"


def test_gateway_refund_is_a_refund_transaction_against_the_payment(
    load_fixture: Callable[[str], Any], eu_parent: RefundParent
) -> None:
    record = normalize_refund(load_fixture("refund_eu_lines.json"), eu_parent, STORE)

    assert record["transactions"] == [
        {
            "transaction_id": "5002-refund",
            "parent_id": "ch_3Qxyz",
            "kind": "refund",
            "status": "success",
            "gateway": "stripe",
            "amount": {"amount": "26.55", "currency": "EUR"},
            "fee": None,  # no fee meta from this gateway on the fixture
            "net": None,
            "processed_at": "2026-02-13T09:00:00Z",
            "test": False,
        }
    ]


def test_amount_typed_over_the_items_becomes_a_discrepancy_adjustment(
    load_fixture: Callable[[str], Any], eu_parent: RefundParent
) -> None:
    refund = load_fixture("refund_eu_lines.json")
    refund["amount"] = "30.00"
    record = normalize_refund(refund, eu_parent, STORE)

    assert_valid(record)
    assert record["adjustments"][-1]["kind"] == "refund_discrepancy"
    assert record["adjustments"][-1]["amount"]["amount"] == "3.45"
    assert record["totals"]["total"]["amount"] == "30.00"


def test_refunded_fee_becomes_a_fee_adjustment(
    load_fixture: Callable[[str], Any], eu_parent: RefundParent
) -> None:
    refund = load_fixture("refund_eu_lines.json")
    refund["fee_lines"] = [
        {"id": 1004, "name": "Gift wrap", "total": "-1.68", "total_tax": "-0.32", "taxes": []}
    ]
    refund["amount"] = "28.55"
    record = normalize_refund(refund, eu_parent, STORE)

    assert_valid(record)
    assert record["adjustments"] == [
        {
            "kind": "fee",
            "reason": "Gift wrap",
            "amount": {"amount": "2.00", "currency": "EUR"},
            "tax": {"amount": "0.32", "currency": "EUR"},
        }
    ]


def test_refund_line_without_order_item_reference_is_refused(
    load_fixture: Callable[[str], Any], eu_parent: RefundParent
) -> None:
    refund = load_fixture("refund_eu_lines.json")
    refund["line_items"][0]["meta_data"] = []

    with pytest.raises(SourceValueError, match="_refunded_item_id"):
        normalize_refund(refund, eu_parent, STORE)
