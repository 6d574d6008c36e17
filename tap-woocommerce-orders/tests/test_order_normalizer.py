import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kconnector_canonical import validate
from tap_woocommerce_orders.order_normalizer import normalize_order, skip_reason
from tap_woocommerce_orders.wc_values import SourceValueError

STORE = "shop.example.com"


def amount(money: dict[str, str]) -> Decimal:
    return Decimal(money["amount"])


def assert_valid(record: dict[str, Any]) -> None:
    problems = validate(record, "orders")
    assert problems == [], [str(p) for p in problems]


def test_docs_example_order_becomes_a_valid_paid_open_order(
    load_fixture: Callable[[str], Any],
) -> None:
    order = load_fixture("order_docs_727.json")
    record = normalize_order(order, STORE, {"75": Decimal("7.5")})

    assert_valid(record)
    assert record["id"] == "woocommerce:shop.example.com:727"
    assert (record["status"], record["financial_status"], record["fulfillment_status"]) == (
        "open",
        "paid",
        "unfulfilled",
    )
    assert record["created_at"] == "2017-03-22T19:28:02Z"  # the _gmt field, not site time
    assert record["customer"]["is_guest"] is True
    assert record["customer"]["billing_address"]["region_code"] == "CA"
    assert record["totals"]["total"] == {"amount": "29.35", "currency": "USD"}
    assert [line["unit_price"]["amount"] for line in record["line_items"]] == ["3.00", "12.00"]


def test_exclusive_store_lines_stay_without_tax_and_tax_is_listed_per_rate(
    load_fixture: Callable[[str], Any],
) -> None:
    record = normalize_order(load_fixture("order_docs_727.json"), STORE, {"75": Decimal("7.5")})

    first = record["line_items"][0]
    assert first["total"]["amount"] == "6.00"
    assert first["tax_lines"] == [
        {
            "title": "State Tax",
            "rate": "0.075",
            "amount": {"amount": "0.45", "currency": "USD"},
            "jurisdiction": "US-CA",
            "jurisdiction_type": "state",
            "rate_code": "US-CA-STATE TAX",
            "compound": False,
        }
    ]
    assert record["shipping_lines"][0]["total"]["amount"] == "10.00"
    assert record["tax_lines"][0]["amount"]["amount"] == "1.35"


def test_payment_becomes_a_sale_transaction_with_gateway_and_paid_date(
    load_fixture: Callable[[str], Any],
) -> None:
    record = normalize_order(load_fixture("order_docs_727.json"), STORE, {"75": Decimal("7.5")})

    assert record["transactions"] == [
        {
            "transaction_id": "727-payment",
            "parent_id": None,
            "kind": "sale",
            "status": "success",
            "gateway": "bacs",
            "amount": {"amount": "29.35", "currency": "USD"},
            "fee": None,  # no fee meta from this gateway on the fixture
            "net": None,
            "processed_at": "2017-03-22T19:28:08Z",
            "test": False,
        }
    ]


def test_unpaid_order_has_no_transaction(load_fixture: Callable[[str], Any]) -> None:
    record = normalize_order(load_fixture("order_ca_compound.json"), STORE)

    assert record["transactions"] == []
    assert record["financial_status"] == "pending"


def test_missing_rate_percent_without_known_rate_names_the_tax_line(
    load_fixture: Callable[[str], Any],
) -> None:
    with pytest.raises(SourceValueError, match="rate_id 75"):
        normalize_order(load_fixture("order_docs_727.json"), STORE)


def test_inclusive_store_adds_item_tax_back_and_reconciles_to_the_cent(
    load_fixture: Callable[[str], Any],
) -> None:
    order = load_fixture("order_eu_inclusive.json")
    record = normalize_order(order, STORE)

    assert_valid(record)
    mug, beans = record["line_items"]
    assert (amount(mug["subtotal"]), amount(mug["discount"]), amount(mug["total"])) == (
        Decimal("48.00"),
        Decimal("4.80"),
        Decimal("43.20"),
    )
    assert amount(beans["total"]) == Decimal("9.63")
    assert amount(record["shipping_lines"][0]["total"]) == Decimal("4.95")
    assert amount(record["fee_lines"][0]["amount"]) == Decimal("2.00")
    assert amount(record["totals"]["total"]) == Decimal(order["total"])
    assert amount(record["totals"]["tax"]) == Decimal(order["total_tax"])
    # Per-rate line taxes keep WooCommerce's precision.
    assert mug["tax_lines"][0]["amount"]["amount"] == "6.8975"


def test_coupon_becomes_a_discount_allocated_to_each_line(
    load_fixture: Callable[[str], Any],
) -> None:
    record = normalize_order(load_fixture("order_eu_inclusive.json"), STORE)

    assert record["discounts"] == [
        {
            "kind": "code",
            "code": "welcome10",
            "title": "welcome10",
            "value_type": "percentage",
            "value": "10",
            "amount": {"amount": "5.87", "currency": "EUR"},
            "target": "line_item",
        }
    ]
    allocations = [line["discount_allocations"] for line in record["line_items"]]
    assert allocations == [
        [{"discount_index": 0, "amount": {"amount": "4.80", "currency": "EUR"}}],
        [{"discount_index": 0, "amount": {"amount": "1.07", "currency": "EUR"}}],
    ]


def test_refunds_embedded_negative_make_the_order_partially_refunded(
    load_fixture: Callable[[str], Any],
) -> None:
    record = normalize_order(load_fixture("order_eu_inclusive.json"), STORE)

    assert record["totals"]["refunded"] == {"amount": "10.00", "currency": "EUR"}
    assert (record["status"], record["financial_status"], record["fulfillment_status"]) == (
        "closed",
        "partially_refunded",
        "fulfilled",
    )
    assert record["closed_at"] == "2026-02-11T10:00:00Z"


def test_compound_tax_keeps_its_flag_rate_and_province(load_fixture: Callable[[str], Any]) -> None:
    record = normalize_order(load_fixture("order_ca_compound.json"), STORE)

    assert_valid(record)
    gst, qst = record["line_items"][0]["tax_lines"]
    assert (gst["compound"], gst["rate"], gst["jurisdiction"]) == (False, "0.05", "CA-QC")
    assert (qst["compound"], qst["rate"], qst["amount"]["amount"]) == (True, "0.09975", "10.47375")
    assert qst["jurisdiction_type"] == "province"
    assert [t["amount"]["amount"] for t in record["tax_lines"]] == ["5.00", "10.47"]


def test_negative_fee_is_kept_as_a_negative_fee_line(load_fixture: Callable[[str], Any]) -> None:
    record = normalize_order(load_fixture("order_ca_compound.json"), STORE)

    fee = record["fee_lines"][0]
    assert (fee["title"], fee["amount"]["amount"], fee["taxable"]) == (
        "Loyalty credit",
        "-5.00",
        False,
    )
    assert record["totals"]["total"]["amount"] == "110.47"


def test_empty_shipping_address_is_null(load_fixture: Callable[[str], Any]) -> None:
    record = normalize_order(load_fixture("order_ca_compound.json"), STORE)

    assert record["customer"]["shipping_address"] is None
    assert record["customer"]["source_id"] == "12"


def test_trashed_order_is_emitted_as_deleted_keeping_its_payment(
    load_fixture: Callable[[str], Any],
) -> None:
    order = load_fixture("order_docs_727.json")
    order["status"] = "trash"
    record = normalize_order(order, STORE, {"75": Decimal("7.5")})

    assert_valid(record)
    assert (record["status"], record["financial_status"]) == ("deleted", "paid")


def test_checkout_draft_is_not_an_order(load_fixture: Callable[[str], Any]) -> None:
    order = load_fixture("order_docs_727.json")
    order["status"] = "checkout-draft"

    assert skip_reason(order) is not None
    with pytest.raises(SourceValueError, match="checkout-draft"):
        normalize_order(order, STORE, {"75": Decimal("7.5")})


def test_rounding_gap_between_items_and_total_becomes_a_visible_fee_line(
    load_fixture: Callable[[str], Any],
) -> None:
    order = load_fixture("order_docs_727.json")
    order["total"] = "29.36"  # WooCommerce summed unrounded items; REST shows them rounded
    record = normalize_order(order, STORE, {"75": Decimal("7.5")})

    assert_valid(record)
    rounding = record["fee_lines"][-1]
    assert (rounding["kind"], rounding["amount"]["amount"]) == ("other", "0.01")
    assert record["totals"]["total"]["amount"] == "29.36"


def test_line_discount_without_coupon_becomes_a_manual_discount(
    load_fixture: Callable[[str], Any],
) -> None:
    order = copy.deepcopy(load_fixture("order_docs_727.json"))
    line = order["line_items"][1]
    line["total"] = "10.00"
    order["total"] = "27.35"
    record = normalize_order(order, STORE, {"75": Decimal("7.5")})

    assert_valid(record)
    assert record["discounts"][0]["kind"] == "manual"
    assert record["line_items"][1]["discount_allocations"] == [
        {"discount_index": 0, "amount": {"amount": "2.00", "currency": "USD"}}
    ]


def test_float_amount_is_refused_naming_the_field(load_fixture: Callable[[str], Any]) -> None:
    order = load_fixture("order_docs_727.json")
    order["total"] = 29.35

    with pytest.raises(SourceValueError, match=r"^total "):
        normalize_order(order, STORE, {"75": Decimal("7.5")})
