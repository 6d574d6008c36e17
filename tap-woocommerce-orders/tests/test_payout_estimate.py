"""Estimated payouts: per gateway per store-local day, scheduled until the delay is past."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from kconnector_canonical import validate
from tap_woocommerce_orders.payout_estimate import EstimateSettings, SettledMoney, estimate_payouts

BERLIN_WINTER = timedelta(hours=1)
SETTINGS = EstimateSettings("shop.example", frozenset({"stripe", "ppcp-gateway"}), 2)


def entry(gateway: str, day: date, amount: str, fee: str | None, **extra: object) -> SettledMoney:
    values: dict[str, object] = {
        "gateway": gateway,
        "local_day": day,
        "utc_offset": BERLIN_WINTER,
        "type": "charge" if Decimal(amount) > 0 else "refund",
        "transaction_id": f"t{amount}",
        "amount": Decimal(amount),
        "fee": None if fee is None else Decimal(fee),
        "currency": "EUR",
        "processed_at": datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
        "order_id": "woocommerce:shop.example:1001",
        "order_source_id": "1001",
        "order_transaction_id": f"t{amount}",
        "refund_id": None,
    }
    values.update(extra)
    return SettledMoney(**values)  # type: ignore[arg-type]


def test_one_payout_per_gateway_and_local_day_with_fees_and_refunds() -> None:
    day = date(2026, 1, 5)
    entries = [
        entry("stripe", day, "100.00", "3.20"),
        entry("stripe", day, "-10.00", "0.00", refund_id="woocommerce:shop.example:1002"),
        entry("ppcp-gateway", day, "50.00", "2.24"),
        entry("cod", day, "20.00", None),
    ]
    now = datetime(2026, 1, 7, 11, 0, tzinfo=UTC)  # noon Berlin on Jan 7 is 11:00 UTC
    payouts = estimate_payouts(entries, SETTINGS, now=now, first_day=day)
    by_gateway = {p["gateway"]: p for p in payouts}
    assert set(by_gateway) == {"stripe", "ppcp-gateway"}  # cash on delivery has no payout
    stripe = by_gateway["stripe"]
    assert stripe["source_id"] == "stripe-2026-01-05"
    assert stripe["totals"] == {
        "gross": {"amount": "90.00", "currency": "EUR"},
        "fees": {"amount": "3.20", "currency": "EUR"},
        "net": {"amount": "86.80", "currency": "EUR"},
    }
    assert stripe["net"] == stripe["totals"]["net"]
    assert stripe["status"] == "paid"
    assert stripe["issued_at"] == stripe["updated_at"] == "2026-01-07T11:00:00Z"
    assert sorted(t["type"] for t in stripe["transactions"]) == ["charge", "refund"]
    for payout in payouts:
        assert validate(payout, "payouts") == []


def test_scheduled_until_the_delay_is_past_and_updated_at_only_grows() -> None:
    day = date(2026, 1, 5)
    entries = [entry("stripe", day, "100.00", "3.20")]
    before = datetime(2026, 1, 7, 10, 59, 59, tzinfo=UTC)
    (scheduled,) = estimate_payouts(entries, SETTINGS, now=before, first_day=day)
    assert scheduled["status"] == "scheduled"
    assert scheduled["updated_at"] == "2026-01-05T10:00:00Z"
    (paid,) = estimate_payouts(entries, SETTINGS, now=before + timedelta(seconds=1), first_day=day)
    assert paid["status"] == "paid"
    assert paid["updated_at"] > scheduled["updated_at"]


def test_days_before_first_day_are_not_estimated_and_unknown_fees_are_named() -> None:
    day = date(2026, 1, 5)
    entries = [
        entry("stripe", day - timedelta(days=1), "5.00", "0.45"),
        entry("stripe", day, "9.00", None),
    ]
    now = datetime(2026, 2, 1, tzinfo=UTC)
    (payout,) = estimate_payouts(entries, SETTINGS, now=now, first_day=day)
    assert payout["source_id"] == "stripe-2026-01-05"
    assert payout["totals"]["fees"]["amount"] == "0.00"
    assert "no processor fee" in payout["transactions"][0]["description"]
