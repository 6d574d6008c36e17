"""Every TxnDate is the store's local day: the record's zone, the setting only as an override.

The expected dates are computed by hand (America/New_York is UTC-5 in winter, UTC-4 from
2026-03-08 07:00 UTC); no test reads today's date.
"""

from datetime import UTC, datetime

import pytest

from kconnector_canonical.examples import load
from map_quickbooks.dates import txn_date
from map_quickbooks.mapping import map_record
from map_quickbooks.rules import Settings

NEW_YORK = "America/New_York"
# 2026-01-31T22:30:00-05:00: the evening of the last day of January in New York.
JAN_31_EVENING_NY = "2026-02-01T03:30:00Z"
# 2026-03-09T00:30:00-04:00 (daylight time since 2026-03-08); a fixed -05:00 would give 03-08.
MAR_9_AFTER_DST_NY = "2026-03-09T04:30:00Z"


def _dates(records, stream):
    return [r.record["body"]["TxnDate"] for r in records if r.stream == stream]


def _refund(when: str, zone: str | None = NEW_YORK) -> dict:
    refund = load("shopify_refund")
    refund["created_at"] = refund["processed_at"] = when
    refund["store_timezone"] = zone
    return refund


def _order(when: str, zone: str | None = NEW_YORK) -> dict:
    order = load("shopify_order")
    order["created_at"] = order["processed_at"] = when
    order["store_timezone"] = zone
    for transaction in order["transactions"]:
        transaction["processed_at"] = when
    return order


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (JAN_31_EVENING_NY, "2026-01-31"),
        ("2026-03-08T06:59:59Z", "2026-03-08"),  # 01:59:59 EST, just before the change
        ("2026-03-08T04:30:00Z", "2026-03-07"),  # 23:30 EST
        (MAR_9_AFTER_DST_NY, "2026-03-09"),  # 00:30 EDT
        ("2026-11-01T05:30:00Z", "2026-11-01"),  # 01:30 EDT, the hour that repeats
        ("2026-11-02T04:30:00Z", "2026-11-01"),  # 23:30 EST after the change back
    ],
)
def test_txn_date_is_the_local_day_in_the_records_zone(instant, expected):
    moment = datetime.fromisoformat(instant)
    assert txn_date(moment, NEW_YORK, None) == expected


def test_txn_date_precedence_is_setting_then_record_then_utc():
    moment = datetime(2026, 2, 1, 3, 30, tzinfo=UTC)
    assert txn_date(moment, NEW_YORK, "Europe/Paris") == "2026-02-01"  # 04:30 in Paris
    assert txn_date(moment, NEW_YORK, None) == "2026-01-31"
    assert txn_date(moment, None, None) == "2026-02-01"
    assert txn_date(moment, "Not/AZone", None) == "2026-02-01"  # unknown name: UTC


def test_refund_in_a_new_york_evening_is_dated_that_day_not_the_next():
    records = map_record(_refund(JAN_31_EVENING_NY), "refunds", Settings())
    assert _dates(records, "refund_receipts") == ["2026-01-31"]


def test_refund_after_the_spring_dst_change_uses_daylight_time():
    # 2026-03-08T23:30:00-04:00: still March 8 in New York, already March 9 in UTC.
    records = map_record(_refund("2026-03-09T03:30:00Z"), "refunds", Settings())
    assert _dates(records, "refund_receipts") == ["2026-03-08"]


def test_credit_memo_is_dated_in_the_records_zone():
    refund = _refund(JAN_31_EVENING_NY)
    refund["transactions"] = []  # no money back: a CreditMemo
    records = map_record(refund, "refunds", Settings())
    assert _dates(records, "credit_memos") == ["2026-01-31"]


def test_sales_receipt_in_a_new_york_evening_is_dated_that_day():
    records = map_record(_order(JAN_31_EVENING_NY), "orders", Settings())
    assert _dates(records, "sales_receipts") == ["2026-01-31"]


def test_invoice_and_its_late_payment_are_each_dated_in_the_records_zone():
    order = _order(JAN_31_EVENING_NY)
    sale = order["transactions"][0]
    sale["processed_at"] = MAR_9_AFTER_DST_NY  # paid weeks later: an Invoice and a Payment
    records = map_record(order, "orders", Settings())
    assert _dates(records, "invoices") == ["2026-01-31"]
    assert _dates(records, "payments") == ["2026-03-09"]


def test_per_shipment_invoices_are_dated_in_the_records_zone():
    order = _order(JAN_31_EVENING_NY)
    order["transactions"][0]["processed_at"] = MAR_9_AFTER_DST_NY
    records = map_record(order, "orders", Settings(invoice_on="fulfillment"))
    assert _dates(records, "invoices") == ["2026-01-31"]


def test_a_voided_order_is_dated_in_the_records_zone():
    order = _order(JAN_31_EVENING_NY)
    order["status"] = "cancelled"
    order["financial_status"] = "voided"
    order["cancelled_at"] = JAN_31_EVENING_NY
    order["cancel_reason"] = "customer"
    order["transactions"] = []
    order["totals"].pop("refunded", None)
    records = map_record(order, "orders", Settings())
    voids = [r for r in records if r.record.get("operation") == "void"]
    assert [r.record["body"]["TxnDate"] for r in voids] == ["2026-01-31"]


def test_the_setting_overrides_the_records_zone_for_every_document():
    settings = Settings(store_timezone="Europe/Paris")
    order = _order(JAN_31_EVENING_NY)
    order["transactions"][0]["processed_at"] = MAR_9_AFTER_DST_NY
    orders = map_record(order, "orders", settings)
    refunds = map_record(_refund(JAN_31_EVENING_NY), "refunds", settings)
    assert _dates(orders, "invoices") == ["2026-02-01"]
    assert _dates(orders, "payments") == ["2026-03-09"]
    assert _dates(refunds, "refund_receipts") == ["2026-02-01"]


def test_a_record_without_a_zone_and_no_setting_is_dated_in_utc():
    records = map_record(_refund(JAN_31_EVENING_NY, zone=None), "refunds", Settings())
    assert _dates(records, "refund_receipts") == ["2026-02-01"]


def test_the_setting_is_unset_by_default():
    assert Settings.from_config({}).store_timezone is None
    assert Settings.from_config({"store_timezone": ""}).store_timezone is None
