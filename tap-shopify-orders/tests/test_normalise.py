"""Shopify GraphQL order JSON -> canonical records, on a hand-written order shaped like the docs'
Order object (https://shopify.dev/docs/api/admin-graphql/latest/objects/Order)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from kconnector_canonical import validate
from kconnector_canonical.examples import load
from tap_shopify_orders.normalise import ORDER_TOTAL_DIFFERENCE_TITLE, Store, normalise_order
from tap_shopify_orders.shopify_values import NormalisationError, legacy_id, timestamp
from tap_shopify_orders.tombstones import deleted_order

STORE = Store("kc-demo.myshopify.com", "America/New_York")


@pytest.fixture
def order(documented_order: dict[str, Any]) -> dict[str, Any]:
    return documented_order


def bag(
    amount: str, currency: str = "USD", presentment: tuple[str, str] | None = None
) -> dict[str, Any]:
    pres_amount, pres_currency = presentment or (amount, currency)
    return {
        "shopMoney": {"amount": amount, "currencyCode": currency},
        "presentmentMoney": {"amount": pres_amount, "currencyCode": pres_currency},
    }


def test_documented_order_matches_the_canonical_example(order: dict[str, Any]) -> None:
    result = normalise_order(order, STORE)
    expected = load("shopify_order")
    record = result.order
    assert validate(record, "orders") == []
    assert record["totals"] == expected["totals"]
    for key in ("id", "order_number", "name", "status", "financial_status", "fulfillment_status"):
        assert record[key] == expected[key]
    assert record["created_at"] == "2026-03-02T15:15:04Z"  # -05:00 converted to UTC with Z
    assert [line["total"] for line in record["line_items"]] == [
        line["total"] for line in expected["line_items"]
    ]
    assert [(line["product_id"], line["variant_id"]) for line in record["line_items"]] == [
        (line["product_id"], line["variant_id"]) for line in expected["line_items"]
    ]
    assert record["discounts"] == expected["discounts"]
    assert [t["amount"] for t in record["tax_lines"]] == [
        t["amount"] for t in expected["tax_lines"]
    ]
    assert record["customer"]["billing_address"] == expected["customer"]["billing_address"]


def test_documented_refund_matches_the_canonical_example(order: dict[str, Any]) -> None:
    refund = normalise_order(order, STORE).refunds[0]
    expected = load("shopify_refund")
    assert validate(refund, "refunds") == []
    assert refund["totals"] == expected["totals"]
    assert refund["transactions"] == expected["transactions"]
    assert refund["line_items"][0]["order_line_id"] == "13500000001"
    assert refund["restock"] is True
    assert refund["updated_at"] == "2026-03-05T14:01:12Z"


def test_amounts_are_exact_decimal_strings_padded_to_the_currency(order: dict[str, Any]) -> None:
    record = normalise_order(order, STORE).order
    assert record["line_items"][0]["unit_price"] == {"amount": "45.00", "currency": "USD"}
    assert record["tax_lines"][1]["rate"] == "0.045"


def test_empty_sku_and_suggested_refunds_are_left_out(order: dict[str, Any]) -> None:
    record = normalise_order(order, STORE).order
    assert record["line_items"][1]["sku"] is None
    assert [t["kind"] for t in record["transactions"]] == ["sale", "refund"]


def test_guest_checkout_has_no_customer_id_and_names_from_billing(order: dict[str, Any]) -> None:
    order["customer"] = None
    record = normalise_order(order, STORE).order
    assert record["customer"]["is_guest"] is True
    assert record["customer"]["source_id"] is None
    assert record["customer"]["first_name"] == "Ana"
    assert validate(record, "orders") == []


def test_tip_becomes_a_tip_fee_line_inside_the_total(order: dict[str, Any]) -> None:
    order["totalTipReceivedSet"] = bag("5.00")
    order["totalPriceSet"] = bag("118.92")
    record = normalise_order(order, STORE).order
    assert record["fee_lines"][0]["kind"] == "tip"
    assert record["totals"]["fees"]["amount"] == "5.00"
    assert validate(record, "orders") == []


def test_gift_card_line_and_gift_card_payment_are_kept_apart(order: dict[str, Any]) -> None:
    order["lineItems"]["nodes"][1]["isGiftCard"] = True
    order["transactions"][0]["gateway"] = "gift_card"
    record = normalise_order(order, STORE).order
    assert [line["gift_card"] for line in record["line_items"]] == [False, True]
    assert record["transactions"][0]["gateway"] == "gift_card"


def test_shipping_discount_reduces_the_shipping_line(order: dict[str, Any]) -> None:
    order["discountApplications"]["nodes"].append(
        {
            "__typename": "AutomaticDiscountApplication",
            "index": 1,
            "targetType": "SHIPPING_LINE",
            "value": {"__typename": "PricingPercentageValue", "percentage": Decimal(100)},
            "title": "Free shipping",
        }
    )
    order["shippingLines"]["nodes"][0]["discountAllocations"] = [
        {"allocatedAmountSet": bag("15.00"), "discountApplication": {"index": 1}}
    ]
    order["shippingLines"]["nodes"][0]["taxLines"] = []
    order["taxLines"][0]["priceSet"] = bag("3.60")
    order["taxLines"][1]["priceSet"] = bag("4.05")
    order["totalTaxSet"] = bag("7.65")
    order["totalPriceSet"] = bag("97.64")
    record = normalise_order(order, STORE).order
    assert record["shipping_lines"][0]["total"]["amount"] == "0.00"
    assert record["discounts"][1] | {"amount": None} == {
        "kind": "automatic",
        "code": None,
        "title": "Free shipping",
        "value_type": "percentage",
        "value": "100",
        "amount": None,
        "target": "shipping",
    }
    assert record["totals"]["discounts"]["amount"] == "25.00"
    assert validate(record, "orders") == []


def test_tax_inclusive_shop_keeps_inclusive_amounts_and_excludes_tax_from_the_sum(
    order: dict[str, Any],
) -> None:
    order["taxesIncluded"] = True
    order["totalPriceSet"] = bag("104.99")
    record = normalise_order(order, STORE).order
    assert record["prices_include_tax"] is True
    assert record["totals"]["total"]["amount"] == "104.99"
    assert record["fee_lines"] == []
    assert validate(record, "orders") == []


def test_presentment_currency_totals_are_stated_beside_the_shop_currency(
    order: dict[str, Any],
) -> None:
    def to_eur(node: Any) -> None:
        if isinstance(node, dict):
            if "presentmentMoney" in node:
                usd = Decimal(node["shopMoney"]["amount"])
                node["presentmentMoney"] = {"amount": str(usd * 2), "currencyCode": "EUR"}
            for value in node.values():
                to_eur(value)
        elif isinstance(node, list):
            for value in node:
                to_eur(value)

    to_eur(order)
    order["presentmentCurrencyCode"] = "EUR"
    record = normalise_order(order, STORE).order
    assert record["currency"] == "USD"
    assert record["presentment_currency"] == "EUR"
    assert record["presentment_totals"]["total"] == {"amount": "227.84", "currency": "EUR"}
    assert record["totals"]["total"] == {"amount": "113.92", "currency": "USD"}
    assert validate(record, "orders") == []


def test_order_total_that_differs_from_its_parts_gets_an_explicit_fee_line(
    order: dict[str, Any],
) -> None:
    order["totalPriceSet"] = bag("114.00")
    result = normalise_order(order, STORE)
    difference = result.order["fee_lines"][-1]
    assert difference["title"] == ORDER_TOTAL_DIFFERENCE_TITLE
    assert difference["amount"]["amount"] == "0.08"
    assert result.notes
    assert validate(result.order, "orders") == []


def test_amount_only_refund_is_an_adjustment_positive_when_money_goes_back(
    order: dict[str, Any],
) -> None:
    refund = order["refunds"][0]
    refund["refundLineItems"]["nodes"] = []
    refund["orderAdjustments"]["nodes"] = [
        {
            "id": "gid://shopify/OrderAdjustment/1",
            "reason": "REFUND_DISCREPANCY",
            "amountSet": {"shopMoney": {"amount": "-43.40", "currencyCode": "USD"}},
            "taxAmountSet": {"shopMoney": {"amount": "0.00", "currencyCode": "USD"}},
        }
    ]
    converted = normalise_order(order, STORE).refunds[0]
    assert converted["adjustments"] == [
        {
            "kind": "amount_only",
            "reason": "refund_discrepancy",
            "amount": {"amount": "43.40", "currency": "USD"},
            "tax": {"amount": "0.00", "currency": "USD"},
        }
    ]
    assert validate(converted, "refunds") == []


def test_refund_total_that_differs_from_its_parts_gets_an_explicit_discrepancy(
    order: dict[str, Any],
) -> None:
    order["refunds"][0]["totalRefundedSet"] = {
        "shopMoney": {"amount": "40.00", "currencyCode": "USD"}
    }
    result = normalise_order(order, STORE)
    refund = result.refunds[0]
    assert refund["adjustments"][-1]["kind"] == "refund_discrepancy"
    assert refund["adjustments"][-1]["amount"]["amount"] == "-3.40"
    assert refund["totals"]["total"]["amount"] == "40.00"
    assert validate(refund, "refunds") == []


def test_refund_shipping_line_is_carried_with_its_tax(order: dict[str, Any]) -> None:
    refund = order["refunds"][0]
    refund["refundShippingLines"]["nodes"] = [
        {
            "id": "gid://shopify/RefundShippingLine/1",
            "shippingLine": {"id": "gid://shopify/ShippingLine/4300000001"},
            "subtotalAmountSet": {"shopMoney": {"amount": "15.00", "currencyCode": "USD"}},
            "taxAmountSet": {"shopMoney": {"amount": "1.28", "currencyCode": "USD"}},
        }
    ]
    refund["totalRefundedSet"] = {"shopMoney": {"amount": "59.68", "currencyCode": "USD"}}
    converted = normalise_order(order, STORE).refunds[0]
    assert converted["shipping_lines"][0]["order_line_id"] == "4300000001"
    assert converted["totals"]["shipping"]["amount"] == "15.00"
    assert converted["adjustments"] == []
    assert validate(converted, "refunds") == []


@pytest.mark.parametrize(
    ("shopify", "canonical"),
    [
        ({"cancelledAt": "2026-03-06T00:00:00Z", "closedAt": "2026-03-06T00:00:00Z"}, "cancelled"),
        ({"closedAt": "2026-03-06T00:00:00Z"}, "closed"),
        ({}, "open"),
    ],
)
def test_lifecycle_status_prefers_cancelled_over_closed(
    order: dict[str, Any], shopify: dict[str, Any], canonical: str
) -> None:
    order.update(shopify)
    assert normalise_order(order, STORE).order["status"] == canonical


def test_allocation_to_an_unknown_discount_is_a_data_error_naming_the_field(
    order: dict[str, Any],
) -> None:
    order["discountApplications"]["nodes"] = []
    with pytest.raises(NormalisationError, match=r"lineItems\[0\].discountAllocations\[0\]"):
        normalise_order(order, STORE)


def test_amount_in_another_currency_than_the_shop_is_refused(order: dict[str, Any]) -> None:
    order["totalTaxSet"]["shopMoney"]["currencyCode"] = "EUR"
    with pytest.raises(NormalisationError, match="totalTaxSet"):
        normalise_order(order, STORE)


def test_float_amounts_are_refused(order: dict[str, Any]) -> None:
    order["totalPriceSet"]["shopMoney"]["amount"] = 113.92
    with pytest.raises(TypeError):
        normalise_order(copy.deepcopy(order), STORE)


def test_deleted_order_tombstone_is_a_valid_order_with_status_deleted() -> None:
    record = deleted_order("5301234567890", "2026-03-07T09:00:00Z", "USD", STORE)
    assert record["status"] == "deleted"
    assert validate(record, "orders") == []


def test_legacy_id_and_timestamp_readers() -> None:
    assert legacy_id("gid://shopify/Order/5301234567890") == "5301234567890"
    assert legacy_id("gid://shopify/LineItem/7?cursor=x") == "7"
    assert timestamp("2026-03-02T10:15:04-05:00") == "2026-03-02T15:15:04Z"
    with pytest.raises(ValueError, match="no zone"):
        timestamp("2026-03-02T10:15:04")


def _tax_sum(lines: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(t["amount"]["amount"]) for t in lines), Decimal(0))


def test_refunded_line_carries_the_order_line_taxes_sharing_its_tax_exactly(
    order: dict[str, Any],
) -> None:
    refund = normalise_order(order, STORE).refunds[0]
    line = refund["line_items"][0]
    assert [(t["title"], t["rate"]) for t in line["tax_lines"]] == [
        ("NY State Tax", "0.04"),
        ("New York City Tax", "0.045"),
    ]
    # 3.40 refunded over the order line's taxes 3.20 and 3.60 (weights), exactly.
    assert [t["amount"]["amount"] for t in line["tax_lines"]] == ["1.60", "1.80"]
    assert _tax_sum(line["tax_lines"]) == Decimal(line["tax"]["amount"])
    assert validate(refund, "refunds") == []


def test_refunded_line_tax_that_does_not_divide_evenly_still_sums_to_the_refunded_tax(
    order: dict[str, Any],
) -> None:
    item = order["refunds"][0]["refundLineItems"]["nodes"][0]
    item["totalTaxSet"] = {"shopMoney": {"amount": "0.03", "currencyCode": "USD"}}
    order["refunds"][0]["totalRefundedSet"] = {
        "shopMoney": {"amount": "40.03", "currencyCode": "USD"}
    }
    refund = normalise_order(order, STORE).refunds[0]
    line = refund["line_items"][0]
    assert [t["amount"]["amount"] for t in line["tax_lines"]] == ["0.01", "0.02"]
    assert refund["totals"]["tax"]["amount"] == "0.03"
    assert validate(refund, "refunds") == []


def test_refunded_line_carries_the_order_line_sku_and_title(order: dict[str, Any]) -> None:
    line = normalise_order(order, STORE).refunds[0]["line_items"][0]
    assert (line["sku"], line["title"]) == ("TEE-BLK-M", "Logo Tee")


def test_refunded_line_of_an_unknown_order_line_has_no_tax_lines(order: dict[str, Any]) -> None:
    item = order["refunds"][0]["refundLineItems"]["nodes"][0]
    item["lineItem"] = {"id": "gid://shopify/LineItem/999"}
    refund = normalise_order(order, STORE).refunds[0]
    assert refund["line_items"][0]["tax_lines"] == []
    assert "title" not in refund["line_items"][0]
    assert validate(refund, "refunds") == []


def test_refunded_shipping_carries_the_shipping_line_taxes_sharing_its_tax(
    order: dict[str, Any],
) -> None:
    refund = order["refunds"][0]
    refund["refundShippingLines"]["nodes"] = [
        {
            "id": "gid://shopify/RefundShippingLine/1",
            "shippingLine": {"id": "gid://shopify/ShippingLine/4300000001"},
            "subtotalAmountSet": {"shopMoney": {"amount": "15.00", "currencyCode": "USD"}},
            "taxAmountSet": {"shopMoney": {"amount": "1.28", "currencyCode": "USD"}},
        }
    ]
    refund["totalRefundedSet"] = {"shopMoney": {"amount": "59.68", "currencyCode": "USD"}}
    shipping = normalise_order(order, STORE).refunds[0]["shipping_lines"][0]
    assert [(t["title"], t["amount"]["amount"]) for t in shipping["tax_lines"]] == [
        ("NY State Tax", "0.60"),
        ("New York City Tax", "0.68"),
    ]
    assert _tax_sum(shipping["tax_lines"]) == Decimal(shipping["tax"]["amount"])


def test_refunded_tax_finer_than_the_currency_is_a_data_error_naming_the_refund(
    order: dict[str, Any],
) -> None:
    item = order["refunds"][0]["refundLineItems"]["nodes"][0]
    item["totalTaxSet"] = {"shopMoney": {"amount": "3.405", "currencyCode": "USD"}}
    with pytest.raises(NormalisationError, match=r"refunds\[920000000001\]"):
        normalise_order(order, STORE)
