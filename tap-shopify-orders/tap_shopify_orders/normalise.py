"""Shopify GraphQL Admin orders -> K-Connector canonical `orders` and `refunds` records.

Pure functions, no I/O. Input: one order as the GraphQL API returns it (see `queries.py`), with
every connection complete. Amounts are Shopify's own decimal strings, carried exactly (never
recomputed, never floats); `shopMoney` is the store currency used by accounting,
`presentmentMoney` the customer's currency (only in `presentment_totals`).

Where Shopify's numbers cannot be expressed by the canonical arithmetic, the difference is
mapped explicitly and documented in the README, never absorbed silently:

- an order whose `totalPriceSet` differs from lines + shipping + tips (+ tax) gets a fee line of
  kind `other` titled "Difference to Shopify's order total";
- a refund whose `totalRefundedSet` differs from what its lines, shipping and adjustments add up
  to gets an adjustment of kind `refund_discrepancy` carrying the difference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from tap_shopify_orders.order_lines import Discounts, OrderAmounts, order_lines, order_totals
from tap_shopify_orders.refunds import normalise_refund
from tap_shopify_orders.shopify_values import (
    JSON,
    PLATFORM,
    PRESENTMENT_SIDE,
    SHOP_SIDE,
    MoneyView,
    blank_to_none,
    legacy_id,
    nodes,
    tax_lines,
    timestamp,
    transactions,
)
from tap_shopify_orders.vocabulary import FINANCIAL_STATUS, FULFILLMENT_STATUS

ORDER_TOTAL_DIFFERENCE_TITLE = "Difference to Shopify's order total"


@dataclass(frozen=True)
class Store:
    """What every record of one shop shares."""

    domain: str
    timezone: str | None = None


@dataclass
class Normalised:
    """One order and its refunds, canonical; `notes` lists explicit difference mappings."""

    order: JSON
    refunds: list[JSON]
    notes: list[str] = field(default_factory=list)


def address(raw: object) -> JSON | None:
    """A canonical address from a MailingAddress (None when absent)."""
    if not isinstance(raw, dict):
        return None
    return {
        "name": blank_to_none(raw.get("name")),
        "first_name": blank_to_none(raw.get("firstName")),
        "last_name": blank_to_none(raw.get("lastName")),
        "company": blank_to_none(raw.get("company")),
        "line1": blank_to_none(raw.get("address1")),
        "line2": blank_to_none(raw.get("address2")),
        "city": blank_to_none(raw.get("city")),
        "region": blank_to_none(raw.get("province")),
        "region_code": blank_to_none(raw.get("provinceCode")),
        "postal_code": blank_to_none(raw.get("zip")),
        "country": blank_to_none(raw.get("country")),
        "country_code": blank_to_none(raw.get("countryCodeV2")),
        "phone": blank_to_none(raw.get("phone")),
    }


def customer_of(order: JSON) -> JSON:
    """The canonical customer: the Customer if any (else a guest), contact and addresses."""
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else None
    billing = address(order.get("billingAddress"))
    shipping = address(order.get("shippingAddress"))
    person = customer or {}
    named = billing or shipping or {}
    return {
        "source_id": legacy_id(person.get("id")) if customer else None,
        "is_guest": customer is None,
        "email": blank_to_none(order.get("email")) or blank_to_none(person.get("email")),
        "first_name": blank_to_none(person.get("firstName")) or named.get("first_name"),
        "last_name": blank_to_none(person.get("lastName")) or named.get("last_name"),
        "company": named.get("company"),
        "phone": blank_to_none(order.get("phone")) or blank_to_none(person.get("phone")),
        "billing_address": billing,
        "shipping_address": shipping,
    }


def _status(order: JSON) -> str:
    if order.get("cancelledAt"):
        return "cancelled"
    if order.get("closedAt"):
        return "closed"
    return "open"


def _order_number(name: str, fallback: str) -> str:
    digits = re.search(r"\d+", name)
    return digits.group(0) if digits else fallback


def normalise_order(order: JSON, store: Store) -> Normalised:
    """One Shopify order (with complete connections) as a canonical order and its refunds.

    Raises:
        NormalisationError: when the order cannot be expressed canonically (names the field).
    """
    source_id = legacy_id(order.get("id")) or str(order.get("legacyResourceId"))
    currency = str(order.get("currencyCode"))
    presentment = str(order.get("presentmentCurrencyCode") or currency)
    included = bool(order.get("taxesIncluded"))
    shop = MoneyView(SHOP_SIDE, currency, source_id)
    discounts = Discounts.read(order)
    lines = order_lines(order, shop, discounts, detail=True)
    notes: list[str] = []

    amounts = OrderAmounts.read(order, shop)
    fee_lines: list[JSON] = []
    if amounts.fees:
        fee_lines.append(
            {
                "line_id": f"{source_id}-tip",
                "title": "Tip",
                "kind": "tip",
                "amount": shop.money(amounts.fees),
                "taxable": False,
                "tax_lines": [],
            }
        )
    totals, difference = order_totals(lines, amounts, shop, included=included)
    if difference:
        fee_lines.append(
            {
                "line_id": f"{source_id}-total-difference",
                "title": ORDER_TOTAL_DIFFERENCE_TITLE,
                "kind": "other",
                "amount": shop.money(difference),
                "taxable": False,
                "tax_lines": [],
            }
        )
        notes.append(f"order {source_id}: total differs from its parts by {difference} {currency}")

    presentment_totals = None
    if presentment != currency:
        pres = MoneyView(PRESENTMENT_SIDE, presentment, source_id)
        presentment_totals, _ = order_totals(
            order_lines(order, pres, discounts, detail=False),
            OrderAmounts.read(order, pres),
            pres,
            included=included,
        )

    name = str(order.get("name") or f"#{source_id}")
    updated_at = timestamp(order.get("updatedAt"))
    record: JSON = {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": f"{PLATFORM}:{store.domain}:{source_id}",
        "platform": PLATFORM,
        "store": store.domain,
        "source_id": source_id,
        "order_number": _order_number(name, source_id),
        "name": name,
        "created_at": timestamp(order.get("createdAt")),
        "updated_at": updated_at,
        "processed_at": timestamp(order.get("processedAt")),
        "cancelled_at": timestamp(order.get("cancelledAt")),
        "closed_at": timestamp(order.get("closedAt")),
        "cancel_reason": str(order["cancelReason"]).lower() if order.get("cancelReason") else None,
        "store_timezone": store.timezone,
        "currency": currency,
        "presentment_currency": presentment if presentment != currency else None,
        "presentment_totals": presentment_totals,
        "prices_include_tax": included,
        "status": _status(order),
        "financial_status": FINANCIAL_STATUS.get(order.get("displayFinancialStatus"), "pending"),
        "fulfillment_status": FULFILLMENT_STATUS.get(
            str(order.get("displayFulfillmentStatus")), "unfulfilled"
        ),
        "test": bool(order.get("test")),
        "source_name": blank_to_none(order.get("sourceName")),
        "tags": [str(tag) for tag in order.get("tags") or []],
        "note": blank_to_none(order.get("note")),
        "customer": customer_of(order),
        "line_items": lines.line_items,
        "shipping_lines": lines.shipping_lines,
        "fee_lines": fee_lines,
        "discounts": discounts.records(lines.allocated, shop),
        "tax_lines": tax_lines(order.get("taxLines"), shop, "taxLines"),
        "totals": totals,
        "transactions": transactions(order.get("transactions"), shop, "transactions"),
        "fulfillments": [
            {
                "fulfillment_id": legacy_id(f.get("id")) or f"{source_id}-fulfillment-{i}",
                "status": str(f.get("status") or "success").lower(),
                "created_at": timestamp(f.get("createdAt")),
                "line_items": [
                    {
                        "line_id": legacy_id((item.get("lineItem") or {}).get("id")),
                        "quantity": int(item.get("quantity") or 0),
                    }
                    for item in nodes(f.get("fulfillmentLineItems"))
                ],
            }
            for i, f in enumerate(nodes(order.get("fulfillments")))
        ],
    }
    refunds = []
    for refund in nodes(order.get("refunds")):
        converted, refund_notes = normalise_refund(refund, record, shop)
        refunds.append(converted)
        notes.extend(refund_notes)
    return Normalised(record, refunds, notes)
