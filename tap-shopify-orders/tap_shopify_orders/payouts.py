"""A Shopify Payments payout and its balance transactions as a canonical payout. Pure, no I/O.

Sources: ShopifyPaymentsPayout (https://shopify.dev/docs/api/admin-graphql/2025-10/objects/ShopifyPaymentsPayout),
ShopifyPaymentsBalanceTransaction
(https://shopify.dev/docs/api/admin-graphql/2026-01/objects/ShopifyPaymentsBalanceTransaction),
ShopifyPaymentsTransactionType
(https://shopify.dev/docs/api/admin-graphql/2025-10/enums/shopifypaymentstransactiontype) and
ShopifyPaymentsPayoutStatus
(https://shopify.dev/docs/api/admin-graphql/2024-10/enums/shopifypaymentspayoutstatus).

Shopify has no `updatedAt` on a payout: the canonical `updated_at` is its `issuedAt`, and the
stream re-reads recent payouts to see their status change (see `payout_stream.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from tap_shopify_orders.shopify_values import (
    PLATFORM,
    ZERO,
    NormalisationError,
    blank_to_none,
    legacy_id,
    money,
    timestamp,
    to_decimal,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from decimal import Decimal

JSON = dict[str, Any]
GATEWAY = "shopify_payments"

# ShopifyPaymentsTransactionType -> canonical balance transaction type. TRANSFER (the payout
# itself leaving the balance) is no part of what a payout settles and never reaches here.
TRANSACTION_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "CHARGE": "charge",
        "REFUND": "refund",
        "REFUND_FAILURE": "refund",
        "REFUND_ADJUSTMENT": "refund",
        "DISPUTE_WITHDRAWAL": "chargeback",
        "CHARGEBACK_HOLD": "chargeback",
        "CHARGEBACK_FEE": "chargeback",
        "DISPUTE_REVERSAL": "dispute_reversal",
        "CHARGEBACK_HOLD_RELEASE": "dispute_reversal",
        "CHARGEBACK_FEE_REFUND": "dispute_reversal",
        "RESERVED_FUNDS": "reserve",
        "RESERVED_FUNDS_REVERSAL": "reserve",
        "RESERVED_FUNDS_WITHDRAWAL": "reserve",
        "ADJUSTMENT": "adjustment",
        "CHARGE_ADJUSTMENT": "adjustment",
        "RISK_WITHDRAWAL": "adjustment",
        "RISK_REVERSAL": "adjustment",
        "STRIPE_FEE": "adjustment",
        "TRANSFER_FAILURE": "payout_failure",
        "TRANSFER_CANCEL": "payout_cancellation",
    }
)
TRANSFER = "TRANSFER"

# IN_TRANSIT is deprecated by Shopify (kept: the canonical vocabulary treats it as paid).
PAYOUT_STATUS: Mapping[str, str] = MappingProxyType(
    {
        "SCHEDULED": "scheduled",
        "IN_TRANSIT": "in_transit",
        "PAID": "paid",
        "FAILED": "failed",
        "CANCELED": "canceled",
    }
)


class PayoutNormalisationError(NormalisationError):
    """A payout Shopify returned that cannot be expressed canonically (a data error)."""

    def __init__(self, payout_id: str, field_name: str, message: str) -> None:
        """Name the payout and the field."""
        ValueError.__init__(self, f"payout {payout_id}, {field_name}: {message}")
        self.order_id = ""
        self.payout_id = payout_id
        self.field = field_name


@dataclass(frozen=True)
class PayoutStore:
    """What a payout record needs of its shop."""

    domain: str
    timezone: str | None


def belongs_to(raw: JSON, payout_gid: str) -> bool:
    """Whether a balance transaction is one the payout settles (not the TRANSFER row itself).

    Checked on every row, so a search filter Shopify ignored (it warns and answers everything)
    can never put another payout's transactions in this one.
    """
    associated = raw.get("associatedPayout") or {}
    return str(raw.get("type")) != TRANSFER and associated.get("id") == payout_gid


def normalise_payout(raw: JSON, transactions: list[JSON], store: PayoutStore) -> JSON:
    """The canonical payout of a ShopifyPaymentsPayout and the balance transactions it settles.

    Raises:
        PayoutNormalisationError: a payout with no id, date, known status or net, or a transaction
            in another currency than the payout.
    """
    source_id = str(raw.get("legacyResourceId") or legacy_id(raw.get("id")) or "")
    where = source_id or "?"
    issued_at = timestamp(raw.get("issuedAt"))
    status = PAYOUT_STATUS.get(str(raw.get("status")))
    net_money = raw.get("net") or {}
    currency = str(net_money.get("currencyCode") or "")
    if not source_id or issued_at is None or status is None or not currency:
        raise PayoutNormalisationError(where, "payout", "lacks an id, issuedAt, a status or net")
    net = to_decimal(net_money.get("amount"))
    # A WITHDRAWAL takes money from the bank: its canonical net is negative, whichever sign
    # Shopify shows it with (its docs do not say).
    if raw.get("transactionType") == "WITHDRAWAL" and net > 0:
        net = -net
    converted = [
        _balance_transaction(item, currency, store, f"{where}.transactions[{i}]")
        for i, item in enumerate(transactions)
    ]
    gross = sum((to_decimal(t["amount"]["amount"]) for t in converted), ZERO)
    fees = sum((to_decimal(t["fee"]["amount"]) for t in converted), ZERO)
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": f"{PLATFORM}:{store.domain}:{source_id}",
        "platform": PLATFORM,
        "store": store.domain,
        "source_id": source_id,
        "basis": "processor",
        "gateway": GATEWAY,
        "status": status,
        "issued_at": issued_at,
        "updated_at": issued_at,
        "store_timezone": store.timezone,
        "currency": currency,
        "net": money(net, currency),
        "totals": {
            "gross": money(gross, currency),
            "fees": money(fees, currency),
            "net": money(gross - fees, currency),
        },
        "transactions": converted,
    }


def residual(payout: JSON) -> Decimal:
    """Payout net minus what its transactions add up to (zero when they reconcile)."""
    return to_decimal(payout["net"]["amount"]) - to_decimal(payout["totals"]["net"]["amount"])


def _amount(raw: JSON, key: str, currency: str, where: str) -> Decimal:
    value = raw.get(key) or {}
    code = value.get("currencyCode")
    if code != currency:
        raise PayoutNormalisationError(where, key, f"is in {code}, the payout in {currency}")
    return to_decimal(value.get("amount"))


def _balance_transaction(raw: JSON, currency: str, store: PayoutStore, where: str) -> JSON:
    kind = str(raw.get("type"))
    amount = _amount(raw, "amount", currency, where)
    fee = _amount(raw, "fee", currency, where)
    order_source_id = legacy_id((raw.get("associatedOrder") or {}).get("id"))
    source_id = raw.get("sourceId")
    refund_id = (
        f"{PLATFORM}:{store.domain}:{source_id}"
        if raw.get("sourceType") == "REFUND" and source_id is not None
        else None
    )
    order_transaction = raw.get("sourceOrderTransactionId")
    processed_at = timestamp(raw.get("transactionDate"))
    if processed_at is None:
        raise PayoutNormalisationError(where, "transactionDate", "is missing")
    return {
        "transaction_id": legacy_id(raw.get("id")) or "unknown",
        "type": TRANSACTION_TYPE.get(kind, "other"),
        "amount": money(amount, currency),
        "fee": money(fee, currency),
        # Computed, not Shopify's `net`: the canonical invariant is net = amount - fee exactly.
        "net": money(amount - fee, currency),
        "order_id": f"{PLATFORM}:{store.domain}:{order_source_id}" if order_source_id else None,
        "order_source_id": order_source_id,
        "order_transaction_id": None if order_transaction is None else str(order_transaction),
        "refund_id": refund_id,
        "processed_at": processed_at,
        "description": blank_to_none(raw.get("adjustmentReason"))
        or (None if kind in TRANSACTION_TYPE else kind.lower()),
    }
