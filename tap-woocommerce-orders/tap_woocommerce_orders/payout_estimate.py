"""Estimated payouts: settled payments and refunds grouped per gateway per store-local day (pure).

WooCommerce has no payout API and the gateway plugins do not record payouts, so K-Connector
ESTIMATES each processor payout as what one gateway settled on one store-local day: every
payment (a `charge`) and every refund sent through that gateway (a `refund`), each with the fee
its plugin recorded (`gateway_fees`). This matches a processor's daily automatic payout when the
processor pays out every day on a fixed delay (Stripe's default daily schedule,
https://docs.stripe.com/payouts#payout-schedule); it does not know about reserves, disputes,
minimum balances, weekly schedules or the processor's own day boundary. When exact matching
matters, give the processor's payout report (`payout_report`).

Dates: the store-local day of a payment is the date of WooCommerce's `date_paid` (site time, as
the shop's admin shows it), of a refund its `date_created`. The payout is taken as sent to the
bank at noon, store time, `delay_days` after that day (noon keeps the UTC date and the store
date equal for every zone within 12 hours of UTC); until then it is `scheduled`, then `paid`.
`updated_at` is the latest transaction while scheduled and the issue moment once paid, so it
only grows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from tap_woocommerce_orders.order_normalizer import PLATFORM, canonical_id
from tap_woocommerce_orders.wc_values import money, utc_timestamp

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

ISSUE_TIME = time(12, 0)
TransactionType = Literal["charge", "refund"]


@dataclass(frozen=True)
class SettledMoney:
    """One payment or refund that went through a gateway, in the order's currency.

    `amount` is signed as in a payout: positive for a charge, negative for a refund. `fee` is
    positive when charged (negative: given back); None when the plugin recorded none.
    """

    gateway: str
    local_day: date
    utc_offset: timedelta
    type: TransactionType
    transaction_id: str
    amount: Decimal
    fee: Decimal | None
    currency: str
    processed_at: datetime
    order_id: str
    order_source_id: str
    order_transaction_id: str | None
    refund_id: str | None


@dataclass(frozen=True)
class EstimateSettings:
    """How payouts are estimated."""

    store: str
    gateways: frozenset[str]
    delay_days: int


def payment_entries(
    order: dict[str, Any], local_paid: datetime | None, utc_paid: datetime | None
) -> list[SettledMoney]:
    """The canonical order's sale transactions as settled money on their store-local day.

    Args:
        order: the canonical order record.
        local_paid: WooCommerce's `date_paid` (site time, naive).
        utc_paid: WooCommerce's `date_paid_gmt` as an aware UTC datetime.
    """
    if local_paid is None or utc_paid is None:
        return []
    offset = local_paid - utc_paid.replace(tzinfo=None)
    entries = []
    for txn in order["transactions"]:
        if txn["kind"] not in {"sale", "capture"} or txn["status"] != "success":
            continue
        entries.append(
            SettledMoney(
                gateway=txn["gateway"],
                local_day=local_paid.date(),
                utc_offset=offset,
                type="charge",
                transaction_id=txn["transaction_id"],
                amount=Decimal(txn["amount"]["amount"]),
                fee=_fee_in(txn, txn["amount"]["currency"]),
                currency=txn["amount"]["currency"],
                processed_at=utc_paid,
                order_id=order["id"],
                order_source_id=order["source_id"],
                order_transaction_id=txn["transaction_id"],
                refund_id=None,
            )
        )
    return entries


def refund_entries(
    refund: dict[str, Any], local_created: datetime, utc_created: datetime
) -> list[SettledMoney]:
    """The canonical refund's gateway transactions (negative amounts) on their store-local day."""
    offset = local_created - utc_created.replace(tzinfo=None)
    entries = []
    for txn in refund["transactions"]:
        if txn["kind"] != "refund" or txn["status"] != "success":
            continue
        fee = _fee_in(txn, txn["amount"]["currency"])
        entries.append(
            SettledMoney(
                gateway=txn["gateway"],
                local_day=local_created.date(),
                utc_offset=offset,
                type="refund",
                transaction_id=txn["transaction_id"],
                amount=-Decimal(txn["amount"]["amount"]),
                fee=fee,
                currency=txn["amount"]["currency"],
                processed_at=utc_created,
                order_id=refund["order_id"],
                order_source_id=refund["order_source_id"],
                order_transaction_id=txn["transaction_id"],
                refund_id=refund["id"],
            )
        )
    return entries


def _fee_in(txn: dict[str, Any], currency: str) -> Decimal | None:
    fee = txn.get("fee")
    if fee is None or fee["currency"] != currency:
        return None
    return Decimal(fee["amount"])


def estimate_payouts(
    entries: Iterable[SettledMoney],
    settings: EstimateSettings,
    *,
    now: datetime,
    first_day: date,
) -> list[dict[str, Any]]:
    """One canonical `payouts` record per gateway, store-local day and currency.

    Only days from `first_day` on are estimated (earlier days may be incomplete in `entries`);
    gateways not in `settings.gateways` are left out (cash, bank transfer). Sorted by updated_at.
    """
    groups: dict[tuple[str, date, str], list[SettledMoney]] = defaultdict(list)
    for entry in entries:
        if entry.gateway in settings.gateways and entry.local_day >= first_day:
            groups[(entry.gateway, entry.local_day, entry.currency)].append(entry)
    currencies: dict[tuple[str, date], set[str]] = defaultdict(set)
    for gateway, day, currency in groups:
        currencies[(gateway, day)].add(currency)
    payouts = [
        _payout(
            key,
            sorted(items, key=lambda e: (e.processed_at, e.transaction_id)),
            settings,
            now=now,
            several_currencies=len(currencies[key[:2]]) > 1,
        )
        for key, items in groups.items()
    ]
    return sorted(payouts, key=lambda p: (p["updated_at"], p["id"]))


def _payout(
    key: tuple[str, date, str],
    items: Sequence[SettledMoney],
    settings: EstimateSettings,
    *,
    now: datetime,
    several_currencies: bool,
) -> dict[str, Any]:
    gateway, day, currency = key
    offset = items[-1].utc_offset
    issue_local = datetime.combine(day + timedelta(days=settings.delay_days), ISSUE_TIME)
    issued_at = (issue_local - offset).replace(tzinfo=UTC)
    paid = now >= issued_at
    source_id = f"{gateway}-{day.isoformat()}" + (f"-{currency}" if several_currencies else "")
    transactions = [_transaction(item) for item in items]
    gross = sum((item.amount for item in items), Decimal(0))
    fees = sum((item.fee or Decimal(0) for item in items), Decimal(0))
    updated_at = issued_at if paid else max(item.processed_at for item in items)
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": canonical_id(settings.store, source_id),
        "platform": PLATFORM,
        "store": settings.store,
        "source_id": source_id,
        "basis": "estimate",
        "gateway": gateway,
        "status": "paid" if paid else "scheduled",
        "issued_at": utc_timestamp(issued_at),
        "updated_at": utc_timestamp(updated_at),
        "store_timezone": None,
        "currency": currency,
        "net": money(gross - fees, currency),
        "totals": {
            "gross": money(gross, currency),
            "fees": money(fees, currency),
            "net": money(gross - fees, currency),
        },
        "transactions": transactions,
    }


def _transaction(item: SettledMoney) -> dict[str, Any]:
    fee = item.fee or Decimal(0)
    return {
        "transaction_id": item.transaction_id,
        "type": item.type,
        "amount": money(item.amount, item.currency),
        "fee": money(fee, item.currency),
        "net": money(item.amount - fee, item.currency),
        "order_id": item.order_id,
        "order_source_id": item.order_source_id,
        "order_transaction_id": item.order_transaction_id,
        "refund_id": item.refund_id,
        "processed_at": utc_timestamp(item.processed_at),
        "description": None
        if item.fee is not None
        else "no processor fee recorded on the order: counted as 0",
    }
