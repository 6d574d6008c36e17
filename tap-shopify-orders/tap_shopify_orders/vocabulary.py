"""Shopify's enums -> the canonical vocabulary, as tables.

The canonical side is docs/canonical-model.md ("Status vocabulary"); the README of this tap
prints the same tables.

Sources: https://shopify.dev/docs/api/admin-graphql/latest/enums/OrderDisplayFinancialStatus,
.../enums/OrderDisplayFulfillmentStatus, .../enums/OrderTransactionKind,
.../enums/OrderTransactionStatus, .../enums/RefundLineItemRestockType,
.../enums/OrderAdjustmentDiscrepancyReason.
"""

from __future__ import annotations

FINANCIAL_STATUS: dict[str | None, str] = {
    "PENDING": "pending",
    "AUTHORIZED": "authorized",
    "PARTIALLY_PAID": "partially_paid",
    "PAID": "paid",
    "PARTIALLY_REFUNDED": "partially_refunded",
    "REFUNDED": "refunded",
    "VOIDED": "voided",
    "EXPIRED": "expired",
    # Shopify leaves the status empty when no payment was ever attempted.
    None: "pending",
}

FULFILLMENT_STATUS: dict[str, str] = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
    # Nothing has shipped yet in all of these.
    "UNFULFILLED": "unfulfilled",
    "OPEN": "unfulfilled",
    "IN_PROGRESS": "unfulfilled",
    "ON_HOLD": "unfulfilled",
    "PENDING_FULFILLMENT": "unfulfilled",
    "REQUEST_DECLINED": "unfulfilled",
    "SCHEDULED": "unfulfilled",
}

# SUGGESTED_REFUND is a suggestion, not money: it is left out.
TRANSACTION_KIND: dict[str, str] = {
    "AUTHORIZATION": "authorization",
    "EMV_AUTHORIZATION": "authorization",
    "CAPTURE": "capture",
    "SALE": "sale",
    "VOID": "void",
    "REFUND": "refund",
    "CHANGE": "change",
}

TRANSACTION_STATUS: dict[str, str] = {
    "SUCCESS": "success",
    "PENDING": "pending",
    "AWAITING_RESPONSE": "pending",
    # The outcome is not known yet: treated as not settled.
    "UNKNOWN": "pending",
    "FAILURE": "failure",
    "ERROR": "error",
}

RESTOCK_TYPE: dict[str | None, str | None] = {
    "NO_RESTOCK": "no_restock",
    "CANCEL": "cancel",
    "RETURN": "return",
    "LEGACY_RESTOCK": "legacy_restock",
    None: None,
}

DISCOUNT_KIND: dict[str, str] = {
    "DiscountCodeApplication": "code",
    "AutomaticDiscountApplication": "automatic",
    "ManualDiscountApplication": "manual",
    "ScriptDiscountApplication": "script",
}

# Order adjustments whose reason is a refund discrepancy: the money refunded differs from what
# the refunded lines and shipping are worth.
DISCREPANCY_REASONS = frozenset({"REFUND_DISCREPANCY", "PENDING_REFUND_DISCREPANCY"})
