"""A WooCommerce REST v3 order as a canonical `orders` record (pure: no I/O).

Source fields: https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties
Target: docs/canonical-model.md (kconnector_canonical validates the result).

Amounts. WooCommerce stores line, shipping and fee totals WITHOUT tax, in every store. The
canonical rule is that these amounts are tax-inclusive exactly when `prices_include_tax` is true,
so in an inclusive store each item's tax is added back (`subtotal + subtotal_tax`,
`total + total_tax`). Tax is always also listed per rate. Line discounts are what WooCommerce
stores, `subtotal - total`; coupons are spread over the lines by `discount_allocation`.

Reconciliation. The canonical `totals.total` must equal WooCommerce's `total` to the cent. The
REST API rounds each item to 2 decimals while WooCommerce sums unrounded item totals, so the
rounded parts can miss the total by a cent or two; that difference is carried as a fee line of
kind `other` titled "Rounding difference" (never spread silently into a line).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from tap_woocommerce_orders.discount_allocation import split_discounts
from tap_woocommerce_orders.gateway_fees import payment_fee
from tap_woocommerce_orders.status_mapping import (
    SKIPPED_STATUSES,
    OrderFacts,
    map_status,
)
from tap_woocommerce_orders.tax_rates import TaxRate, item_tax_lines, rates_of_order
from tap_woocommerce_orders.wc_values import (
    SourceValueError,
    gmt_timestamp,
    money,
    optional_id,
    required_gmt_timestamp,
    source_id,
    text_or_none,
    wc_decimal,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PLATFORM = "woocommerce"
ROUNDING_LINE_ID = "rounding"
_UNIT_PRICE_PLACES = Decimal("0.000001")  # WooCommerce keeps up to 6 decimals on items
_TRANSACTION_ID = re.compile(r"^[^:\s]+$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
_PERCENT_COUPON_TYPES = frozenset({"percent"})


def canonical_id(store: str, object_id: str) -> str:
    """`woocommerce:<store>:<id>`."""
    return f"{PLATFORM}:{store}:{object_id}"


def skip_reason(order: Mapping[str, Any]) -> str | None:
    """Why this WooCommerce object is not emitted as an order (None: it is an order)."""
    return SKIPPED_STATUSES.get(str(order.get("status", "")))


def order_currency(order: Mapping[str, Any]) -> str:
    """The order currency (ISO 4217).

    Raises:
        SourceValueError: when it is missing.
    """
    currency = text_or_none(order.get("currency"))
    if currency is None:
        msg = "currency is missing"
        raise SourceValueError(msg)
    return currency.upper()


def refunded_total(order: Mapping[str, Any]) -> Decimal:
    """Money returned so far: the embedded `refunds[].total` are negative ("-23.00")."""
    refunds: Sequence[Mapping[str, Any]] = order.get("refunds") or []
    return sum(
        (
            abs(wc_decimal(refund.get("total"), f"refunds[{i}].total"))
            for i, refund in enumerate(refunds)
        ),
        Decimal(0),
    )


def _unit_price(subtotal: Decimal, quantity: int) -> Decimal:
    if quantity <= 0:
        return subtotal
    exact = subtotal / quantity
    rounded = exact.quantize(_UNIT_PRICE_PLACES, rounding=ROUND_HALF_UP)
    return exact if exact == rounded else rounded


def _address(part: object) -> dict[str, str | None] | None:
    if not isinstance(part, dict):
        return None
    first, last = text_or_none(part.get("first_name")), text_or_none(part.get("last_name"))
    country = text_or_none(part.get("country"))
    address = {
        "name": " ".join(p for p in (first, last) if p) or None,
        "first_name": first,
        "last_name": last,
        "company": text_or_none(part.get("company")),
        "line1": text_or_none(part.get("address_1")),
        "line2": text_or_none(part.get("address_2")),
        "city": text_or_none(part.get("city")),
        "region": None,
        "region_code": text_or_none(part.get("state")),
        "postal_code": text_or_none(part.get("postcode")),
        "country": None,
        "country_code": country.upper()
        if country and _COUNTRY_CODE.match(country.upper())
        else None,
        "phone": text_or_none(part.get("phone")),
    }
    return address if any(value is not None for value in address.values()) else None


def _customer(order: Mapping[str, Any]) -> dict[str, Any]:
    raw_billing = order.get("billing")
    billing: Mapping[str, Any] = raw_billing if isinstance(raw_billing, dict) else {}
    customer_id = optional_id(order.get("customer_id"))
    return {
        "source_id": customer_id,
        "is_guest": customer_id is None,
        "email": text_or_none(billing.get("email")),
        "first_name": text_or_none(billing.get("first_name")),
        "last_name": text_or_none(billing.get("last_name")),
        "company": text_or_none(billing.get("company")),
        "phone": text_or_none(billing.get("phone")),
        "billing_address": _address(order.get("billing")),
        "shipping_address": _address(order.get("shipping")),
    }


def _with_tax(
    item: Mapping[str, Any], amount: str, tax: str, field: str, *, inclusive: bool
) -> Decimal:
    value = wc_decimal(item.get(amount), f"{field}.{amount}")
    if inclusive:
        value += wc_decimal(item.get(tax), f"{field}.{tax}")
    return value


class _OrderBuilder:
    """Builds one canonical order; each method fills one part of the record."""

    def __init__(
        self,
        order: Mapping[str, Any],
        store: str,
        known_percents: Mapping[str, Decimal] | None,
    ) -> None:
        self.order = order
        self.store = store
        self.currency = order_currency(order)
        self.inclusive = bool(order.get("prices_include_tax", False))
        self.rates: dict[str, TaxRate] = rates_of_order(
            order.get("tax_lines") or [], known_percents
        )

    def money(self, amount: Decimal) -> dict[str, str]:
        return money(amount, self.currency)

    def line_items(self) -> tuple[list[dict[str, Any]], list[Decimal]]:
        lines: list[dict[str, Any]] = []
        discounts: list[Decimal] = []
        fulfilled = self.order.get("status") == "completed" or bool(
            self.order.get("date_completed_gmt")
        )
        requires_shipping = bool(self.order.get("shipping_lines"))
        for index, item in enumerate(self.order.get("line_items") or []):
            field = f"line_items[{index}]"
            subtotal = _with_tax(item, "subtotal", "subtotal_tax", field, inclusive=self.inclusive)
            total = _with_tax(item, "total", "total_tax", field, inclusive=self.inclusive)
            quantity = int(item.get("quantity") or 0)
            tax_lines = item_tax_lines(item.get("taxes") or [], self.rates, self.currency, field)
            discounts.append(subtotal - total)
            lines.append(
                {
                    "line_id": source_id(item.get("id"), f"{field}.id"),
                    "sku": text_or_none(item.get("sku")),
                    "product_id": optional_id(item.get("product_id")),
                    "variant_id": optional_id(item.get("variation_id")),
                    "title": text_or_none(item.get("name")) or "Item",
                    "variant_title": None,
                    "quantity": quantity,
                    "unit_price": self.money(_unit_price(subtotal, quantity)),
                    "subtotal": self.money(subtotal),
                    "discount": self.money(subtotal - total),
                    "discount_allocations": [],
                    "total": self.money(total),
                    "tax_lines": tax_lines,
                    "taxable": bool(tax_lines),
                    "requires_shipping": requires_shipping,
                    "fulfilled_quantity": quantity if fulfilled else 0,
                    "gift_card": False,
                }
            )
        return lines, discounts

    def shipping_lines(self) -> list[dict[str, Any]]:
        lines = []
        for index, item in enumerate(self.order.get("shipping_lines") or []):
            field = f"shipping_lines[{index}]"
            total = _with_tax(item, "total", "total_tax", field, inclusive=self.inclusive)
            lines.append(
                {
                    "line_id": source_id(item.get("id"), f"{field}.id"),
                    "title": text_or_none(item.get("method_title")) or "Shipping",
                    "code": text_or_none(item.get("method_id")),
                    "price": self.money(total),
                    "discount": self.money(Decimal(0)),
                    "discount_allocations": [],
                    "total": self.money(total),
                    "tax_lines": item_tax_lines(
                        item.get("taxes") or [], self.rates, self.currency, field
                    ),
                }
            )
        return lines

    def fee_lines(self) -> list[dict[str, Any]]:
        lines = []
        for index, item in enumerate(self.order.get("fee_lines") or []):
            field = f"fee_lines[{index}]"
            amount = _with_tax(item, "total", "total_tax", field, inclusive=self.inclusive)
            tax_lines = item_tax_lines(item.get("taxes") or [], self.rates, self.currency, field)
            lines.append(
                {
                    "line_id": source_id(item.get("id"), f"{field}.id"),
                    "title": text_or_none(item.get("name")) or "Fee",
                    "kind": "fee",
                    "amount": self.money(amount),
                    "taxable": item.get("tax_status") == "taxable" or bool(tax_lines),
                    "tax_lines": tax_lines,
                }
            )
        return lines

    def discounts(
        self, lines: list[dict[str, Any]], line_discounts: list[Decimal]
    ) -> list[dict[str, Any]]:
        coupons: Sequence[Mapping[str, Any]] = self.order.get("coupon_lines") or []
        amounts = [
            _with_tax(
                coupon, "discount", "discount_tax", f"coupon_lines[{i}]", inclusive=self.inclusive
            )
            for i, coupon in enumerate(coupons)
        ]
        split = split_discounts(line_discounts, amounts, self.currency)
        discounts = [
            self._coupon(coupon, index, split.coupon_amounts[index])
            for index, coupon in enumerate(coupons)
        ]
        allocations = split.line_allocations
        unallocated = sum((max(d, Decimal(0)) for d in line_discounts), Decimal(0))
        if unallocated > 0 and not any(allocations):
            # Lines discounted without a coupon: an edit by hand in the order screen.
            manual_index = len(discounts)
            discounts.append(
                {
                    "kind": "manual",
                    "code": None,
                    "title": "Manual discount",
                    "value_type": "fixed_amount",
                    "value": self.money(unallocated)["amount"],
                    "amount": self.money(unallocated),
                    "target": "line_item",
                }
            )
            allocations = [
                [(manual_index, discount)] if discount > 0 else [] for discount in line_discounts
            ]
        for line, line_allocations in zip(lines, allocations, strict=True):
            line["discount_allocations"] = [
                {"discount_index": index, "amount": self.money(amount)}
                for index, amount in line_allocations
            ]
        return discounts

    def _coupon(self, coupon: Mapping[str, Any], index: int, amount: Decimal) -> dict[str, Any]:
        code = text_or_none(coupon.get("code"))
        # WooCommerce 8.7+ adds the coupon's type and face value to coupon lines.
        discount_type = text_or_none(coupon.get("discount_type"))
        nominal = coupon.get("nominal_amount")
        value = (
            wc_decimal(nominal, f"coupon_lines[{index}].nominal_amount")
            if nominal not in {None, ""}
            else amount
        )
        return {
            "kind": "code",
            "code": code,
            "title": code,
            "value_type": "percentage"
            if discount_type in _PERCENT_COUPON_TYPES
            else "fixed_amount",
            "value": format(value, "f"),
            "amount": self.money(amount),
            "target": "line_item",
        }

    def order_tax_lines(self) -> list[dict[str, Any]]:
        lines = []
        for index, line in enumerate(self.order.get("tax_lines") or []):
            field = f"tax_lines[{index}]"
            amount = wc_decimal(line.get("tax_total"), f"{field}.tax_total") + wc_decimal(
                line.get("shipping_tax_total"), f"{field}.shipping_tax_total"
            )
            rate = self.rates[str(line.get("rate_id", ""))]
            tax_line = rate.tax_line(amount, self.currency)
            tax_line["amount"] = self.money(amount)
            lines.append(tax_line)
        return lines

    def transactions(self, paid_at: str | None, total: Decimal) -> list[dict[str, Any]]:
        if paid_at is None:
            return []
        order_id = str(self.order.get("id"))
        reference = text_or_none(self.order.get("transaction_id"))
        fee = payment_fee(self.order, total, self.currency)
        return [
            {
                "transaction_id": reference
                if reference and _TRANSACTION_ID.match(reference)
                else f"{order_id}-payment",
                "parent_id": None,
                "kind": "sale",
                "status": "success",
                "gateway": text_or_none(self.order.get("payment_method")) or "manual",
                "amount": self.money(total),
                "fee": fee.fee,
                "net": fee.net,
                "processed_at": paid_at,
                "test": False,
            }
        ]


def _sum(items: Sequence[Mapping[str, Any]], key: str) -> Decimal:
    return sum((Decimal(item[key]["amount"]) for item in items), Decimal(0))


def normalize_order(
    order: Mapping[str, Any],
    store: str,
    known_percents: Mapping[str, Decimal] | None = None,
) -> dict[str, Any]:
    """The canonical `orders` record of a WooCommerce order.

    Args:
        order: the order as `GET /wp-json/wc/v3/orders` returns it (numbers parsed as Decimal).
        store: the store identity (the site's host, e.g. "shop.example.com").
        known_percents: tax rate percentages by rate id, for stores that send no
            `rate_percent` (see `tax_rates`).

    Returns:
        The record; it passes `kconnector_canonical.validate` and its `totals.total` equals
        WooCommerce's `total`.

    Raises:
        SourceValueError: a field K-Connector cannot read (the message names it), or an
            object that is not an order yet (see `skip_reason`).
    """
    reason = skip_reason(order)
    if reason is not None:
        msg = f"status {order.get('status')!r} is not an order: {reason}"
        raise SourceValueError(msg)
    build = _OrderBuilder(order, store, known_percents)
    order_id = source_id(order.get("id"), "id")
    wc_total = wc_decimal(order.get("total"), "total")
    tax = wc_decimal(order.get("total_tax"), "total_tax")
    lines, line_discounts = build.line_items()
    shipping_lines = build.shipping_lines()
    fee_lines = build.fee_lines()
    discounts = build.discounts(lines, line_discounts)
    subtotal = _sum(lines, "total")
    shipping = _sum(shipping_lines, "total")
    computed = subtotal + shipping + _sum(fee_lines, "amount") + (0 if build.inclusive else tax)
    if computed != wc_total:
        fee_lines.append(
            {
                "line_id": ROUNDING_LINE_ID,
                "title": "Rounding difference",
                "kind": "other",
                "amount": build.money(wc_total - computed),
                "taxable": False,
                "tax_lines": [],
            }
        )
    status = str(order.get("status", ""))
    paid_at = gmt_timestamp(order.get("date_paid_gmt"), "date_paid_gmt")
    completed_at = gmt_timestamp(order.get("date_completed_gmt"), "date_completed_gmt")
    updated_at = required_gmt_timestamp(order.get("date_modified_gmt"), "date_modified_gmt")
    refunded = refunded_total(order)
    statuses = map_status(
        OrderFacts(
            status=status,
            paid=paid_at is not None,
            ever_completed=completed_at is not None or status == "completed",
            total=wc_total,
            refunded=refunded,
        )
    )
    number = (text_or_none(order.get("number")) or order_id).lstrip("#")
    totals: dict[str, Any] = {
        "line_items_subtotal": build.money(_sum(lines, "subtotal")),
        "discounts": build.money(_sum(lines, "discount")),
        "subtotal": build.money(subtotal),
        "shipping": build.money(shipping),
        "fees": build.money(_sum(fee_lines, "amount")),
        "tax": build.money(tax),
        "total": build.money(wc_total),
    }
    if refunded:
        totals["refunded"] = build.money(refunded)
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": canonical_id(store, order_id),
        "platform": PLATFORM,
        "store": store,
        "source_id": order_id,
        "order_number": number,
        "name": f"#{number}",
        "created_at": required_gmt_timestamp(order.get("date_created_gmt"), "date_created_gmt"),
        "updated_at": updated_at,
        "processed_at": paid_at,
        "cancelled_at": updated_at if statuses.status == "cancelled" else None,
        "closed_at": (completed_at or updated_at) if statuses.status == "closed" else None,
        "cancel_reason": None,
        "store_timezone": None,
        "currency": build.currency,
        "presentment_currency": None,
        "presentment_totals": None,
        "prices_include_tax": build.inclusive,
        "status": statuses.status,
        "financial_status": statuses.financial_status,
        "fulfillment_status": statuses.fulfillment_status,
        "test": False,
        "source_name": text_or_none(order.get("created_via")),
        "tags": [],
        "note": text_or_none(order.get("customer_note")),
        "customer": _customer(order),
        "line_items": lines,
        "shipping_lines": shipping_lines,
        "fee_lines": fee_lines,
        "discounts": discounts,
        "tax_lines": build.order_tax_lines(),
        "totals": totals,
        "transactions": build.transactions(paid_at, wc_total),
        "fulfillments": [],
    }
