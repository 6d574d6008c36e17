"""The processor's own payouts from its payout report file (CSV), as canonical `payouts`.

The columns are those of Stripe's "Payout reconciliation" itemized report
(`payout_reconciliation.itemized.*`, https://docs.stripe.com/reports/payout-reconciliation and
https://docs.stripe.com/reports/report-types/payout-reconciliation), one row per balance
transaction, so the file Stripe's dashboard exports is read as is:

- `automatic_payout_id` (required): the payout (`po_...`); rows with one id form one payout.
- `automatic_payout_effective_at` (required): when it was sent to the bank (UTC,
  `2026-01-05 00:00:00` or ISO 8601).
- `balance_transaction_id` (required): the balance transaction (`txn_...`).
- `created` (required): when the transaction happened (UTC).
- `currency` (required): the payout currency (`usd`).
- `gross`, `fee`, `net` (required): major units; gross - fee = net.
- `reporting_category` (required): `charge`, `refund`, `dispute`, `dispute_reversal`, `fee`,
  `other_adjustment`, `risk_reserved_funds`, ... (others become `other`).
- `charge_id`: the charge (`ch_...`), which is the WooCommerce order's `transaction_id`.
- `payment_metadata[order_id]`: the WooCommerce order number, which WooCommerce Stripe Gateway
  sets as the charge's `order_id` metadata.
- `description`: kept as the transaction's description.
- `gateway` (K-Connector's own, optional): the WooCommerce payment method id (default `stripe`).

Every row is checked (gross - fee = net, one currency per payout); an unreadable file stops the
run with the line and column named, before anything is emitted.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from tap_woocommerce_orders.order_normalizer import PLATFORM, canonical_id
from tap_woocommerce_orders.store_errors import ErrorClass, StoreError
from tap_woocommerce_orders.wc_values import money, utc_timestamp

if TYPE_CHECKING:
    from pathlib import Path

REQUIRED_COLUMNS = (
    "automatic_payout_id",
    "automatic_payout_effective_at",
    "balance_transaction_id",
    "created",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
)
ORDER_COLUMN = "payment_metadata[order_id]"
# Stripe reporting categories (https://docs.stripe.com/reports/reporting-categories) -> canonical.
CATEGORY_TYPES = {
    "charge": "charge",
    "refund": "refund",
    "dispute": "chargeback",
    "dispute_reversal": "dispute_reversal",
    "fee": "adjustment",
    "other_adjustment": "adjustment",
    "network_cost": "adjustment",
    "risk_reserved_funds": "reserve",
    "payout_reversal": "payout_failure",
}


class ReportError(StoreError):
    """The payout report file cannot be read (names the line and column)."""

    def __init__(self, message: str) -> None:
        """A data problem of the `payout_report_file` setting."""
        super().__init__(
            f"payout_report_file: {message}",
            error_class=ErrorClass.SYSTEM,
            setting="payout_report_file",
            code=None,
        )


def _amount(row: dict[str, str], column: str, line: int) -> Decimal:
    try:
        value = Decimal(row[column].strip())
    except InvalidOperation as exc:
        msg = f"line {line}, column {column} is not a decimal amount"
        raise ReportError(msg) from exc
    if not value.is_finite():
        msg = f"line {line}, column {column} is not a finite amount"
        raise ReportError(msg)
    return value


def _moment(row: dict[str, str], column: str, line: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(row[column].strip())
    except ValueError as exc:
        msg = f"line {line}, column {column} is not a date-time like 2026-01-05 00:00:00"
        raise ReportError(msg) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(row: dict[str, str], column: str) -> str | None:
    value = (row.get(column) or "").strip()
    return value or None


def report_payouts(path: Path, store: str) -> list[dict[str, Any]]:
    """The payouts of the report at `path`, sorted by issue date.

    Raises:
        ReportError: a missing column or an unreadable value (names the line and column).
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            msg = f"missing column(s) {', '.join(missing)} (see the README's report format)"
            raise ReportError(msg)
        rows: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
        for line, row in enumerate(reader, start=2):
            payout_id = _text(row, "automatic_payout_id")
            if payout_id is None:
                msg = f"line {line}, column automatic_payout_id is empty"
                raise ReportError(msg)
            rows[payout_id].append((line, row))
    payouts = [_payout(payout_id, items, store) for payout_id, items in rows.items()]
    return sorted(payouts, key=lambda p: (p["updated_at"], p["id"]))


def _payout(payout_id: str, items: list[tuple[int, dict[str, str]]], store: str) -> dict[str, Any]:
    first_line, first = items[0]
    currency = first["currency"].strip().upper()
    issued_at = _moment(first, "automatic_payout_effective_at", first_line)
    gateway = _text(first, "gateway") or "stripe"
    transactions = []
    for line, row in items:
        if row["currency"].strip().upper() != currency:
            msg = f"line {line}: payout {payout_id} mixes currencies"
            raise ReportError(msg)
        transactions.append(_transaction(row, line, currency, store))
    gross = sum((Decimal(t["amount"]["amount"]) for t in transactions), Decimal(0))
    fees = sum((Decimal(t["fee"]["amount"]) for t in transactions), Decimal(0))
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": canonical_id(store, payout_id),
        "platform": PLATFORM,
        "store": store,
        "source_id": payout_id,
        "basis": "processor",
        "gateway": gateway,
        "status": "paid",
        "issued_at": utc_timestamp(issued_at),
        "updated_at": utc_timestamp(issued_at),
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


def _transaction(row: dict[str, str], line: int, currency: str, store: str) -> dict[str, Any]:
    gross, fee, net = (_amount(row, c, line) for c in ("gross", "fee", "net"))
    if gross - fee != net:
        msg = f"line {line}: gross - fee is {gross - fee}, not net {net}"
        raise ReportError(msg)
    kind = CATEGORY_TYPES.get(row["reporting_category"].strip(), "other")
    order_number = _text(row, ORDER_COLUMN)
    charge_id = _text(row, "charge_id")
    return {
        "transaction_id": _text(row, "balance_transaction_id") or f"line-{line}",
        "type": kind,
        "amount": money(gross, currency),
        "fee": money(fee, currency),
        "net": money(net, currency),
        "order_id": canonical_id(store, order_number) if order_number else None,
        "order_source_id": order_number,
        "order_transaction_id": charge_id if kind == "charge" else None,
        "refund_id": None,
        "processed_at": utc_timestamp(_moment(row, "created", line)),
        "description": _text(row, "description"),
    }
