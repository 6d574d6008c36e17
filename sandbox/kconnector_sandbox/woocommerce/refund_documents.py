"""Refunds as WooCommerce creates them (`wc_create_refund`) and shows them (pure functions).

A refund is its own object (`GET /orders/{id}/refunds/{refund_id}`): positive `amount`, refunded
line items with negative quantities, totals and taxes (subtotal = total, as `wc_create_refund`
sets both), refunded shipping lines, and per-rate `tax_lines` with negative totals. An amount-only
refund has no items at all. On the order, `refunds[]` gains `{id, reason, total}` with a negative
total (newest first), and the order becomes `refunded` once the refunds reach its total.
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/wc-order-functions.php
https://woocommerce.github.io/woocommerce-rest-api-docs/#order-refund-properties
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from kconnector_sandbox.woocommerce.order_documents import (
    Document,
    refresh_status_flags,
    refunded_amount,
    set_dates,
)
from kconnector_sandbox.woocommerce.tax_math import (
    ZERO,
    json_number,
    money,
    raw_decimal,
    round_cents,
)

if TYPE_CHECKING:
    from datetime import datetime

    from kconnector_sandbox.woocommerce.order_documents import IdSequence


class RefundError(ValueError):
    """A refund WooCommerce would refuse (the message is WooCommerce's)."""


@dataclass(frozen=True)
class RefundLine:
    """Refund `quantity` units of the order line item `item_id`."""

    item_id: int
    quantity: int


@dataclass(frozen=True)
class RefundRequest:
    """What to refund: lines and/or shipping, or a bare amount when neither is given."""

    reason: str = ""
    lines: tuple[RefundLine, ...] = ()
    refund_shipping: bool = False
    amount: Decimal | None = None
    refunded_by: int = 1
    refunded_payment: bool = True


def _part(amount: Decimal, quantity: int, of_quantity: int) -> Decimal:
    return round_cents(amount * quantity / of_quantity)


def _negated_taxes(taxes: dict[int, Decimal]) -> list[Document]:
    return [
        {"id": rate_id, "total": raw_decimal(-tax), "subtotal": raw_decimal(-tax)}
        for rate_id, tax in taxes.items()
    ]


def _refund_line_item(
    order_line: Document, quantity: int, ids: IdSequence
) -> tuple[Document, Decimal, dict[int, Decimal]]:
    ordered = int(order_line["quantity"])
    if not 0 < quantity <= ordered:
        msg = "Invalid refund quantity."
        raise RefundError(msg)
    total = _part(Decimal(order_line["total"]), quantity, ordered)
    taxes = {
        int(tax["id"]): _part(Decimal(tax["total"]), quantity, ordered)
        for tax in order_line["taxes"]
    }
    tax_sum = sum(taxes.values(), ZERO)
    meta_value = str(order_line["id"])
    document = {
        "id": ids.item(),
        "name": order_line["name"],
        "product_id": order_line["product_id"],
        "variation_id": order_line["variation_id"],
        "quantity": -quantity,
        "tax_class": order_line["tax_class"],
        "subtotal": money(-total),
        "subtotal_tax": money(-tax_sum),
        "total": money(-total),
        "total_tax": money(-tax_sum),
        "taxes": _negated_taxes(taxes),
        "meta_data": [
            {
                "id": ids.meta(),
                "key": "_refunded_item_id",
                "value": meta_value,
                "display_key": "_refunded_item_id",
                "display_value": meta_value,
            }
        ],
        "sku": order_line["sku"],
        "price": json_number(total / quantity),
        "image": order_line["image"],
        "parent_name": order_line["parent_name"],
    }
    return document, total + tax_sum, taxes


def _refund_shipping_line(
    order_line: Document, ids: IdSequence
) -> tuple[Document, Decimal, dict[int, Decimal]]:
    total = Decimal(order_line["total"])
    taxes = {int(tax["id"]): round_cents(Decimal(tax["total"])) for tax in order_line["taxes"]}
    tax_sum = sum(taxes.values(), ZERO)
    document = {
        "id": ids.item(),
        "method_title": order_line["method_title"],
        "method_id": order_line["method_id"],
        "instance_id": order_line["instance_id"],
        "total": money(-total),
        "total_tax": money(-tax_sum),
        "taxes": [
            {"id": rate_id, "total": raw_decimal(-tax), "subtotal": ""}
            for rate_id, tax in taxes.items()
        ],
        "meta_data": [
            {
                "id": ids.meta(),
                "key": "_refunded_item_id",
                "value": str(order_line["id"]),
                "display_key": "_refunded_item_id",
                "display_value": str(order_line["id"]),
            }
        ],
    }
    return document, total + tax_sum, taxes


def build_refund(  # noqa: PLR0913 - one argument per refund attribute
    order: Document,
    request: RefundRequest,
    *,
    refund_id: int,
    created: datetime,
    timezone: str,
    ids: IdSequence,
) -> Document:
    """The refund object for `request` against `order`.

    Raises:
        RefundError: unknown line, bad quantity, nothing to refund, or more than is left.
    """
    lines_by_id = {int(line["id"]): line for line in order["line_items"]}
    line_items: list[Document] = []
    shipping_lines: list[Document] = []
    amount = ZERO
    item_taxes: dict[int, Decimal] = {}
    shipping_taxes: dict[int, Decimal] = {}
    for refund_line in request.lines:
        if refund_line.item_id not in lines_by_id:
            msg = "Invalid line item ID."
            raise RefundError(msg)
        document, line_amount, taxes = _refund_line_item(
            lines_by_id[refund_line.item_id], refund_line.quantity, ids
        )
        line_items.append(document)
        amount += line_amount
        for rate_id, tax in taxes.items():
            item_taxes[rate_id] = item_taxes.get(rate_id, ZERO) + tax
    if request.refund_shipping:
        for order_line in order["shipping_lines"]:
            document, line_amount, taxes = _refund_shipping_line(order_line, ids)
            shipping_lines.append(document)
            amount += line_amount
            for rate_id, tax in taxes.items():
                shipping_taxes[rate_id] = shipping_taxes.get(rate_id, ZERO) + tax
    if not line_items and not shipping_lines:
        amount = request.amount if request.amount is not None else ZERO
    remaining = Decimal(order["total"]) - refunded_amount(order)
    if amount <= 0 or amount > remaining:
        msg = "Invalid refund amount."
        raise RefundError(msg)
    tax_lines = [
        {
            "id": ids.item(),
            "rate_code": tax_line["rate_code"],
            "rate_id": tax_line["rate_id"],
            "label": tax_line["label"],
            "compound": tax_line["compound"],
            "tax_total": money(-item_taxes.get(tax_line["rate_id"], ZERO)),
            "shipping_tax_total": money(-shipping_taxes.get(tax_line["rate_id"], ZERO)),
            "rate_percent": tax_line["rate_percent"],
            "meta_data": [],
        }
        for tax_line in order["tax_lines"]
        if tax_line["rate_id"] in item_taxes or tax_line["rate_id"] in shipping_taxes
    ]
    refund: Document = {"id": refund_id}
    set_dates(refund, "date_created", created, timezone)
    refund.update(
        {
            "amount": money(amount),
            "reason": request.reason,
            "refunded_by": request.refunded_by,
            "refunded_payment": request.refunded_payment,
            "meta_data": [],
            "line_items": line_items,
            "shipping_lines": shipping_lines,
            "tax_lines": tax_lines,
            "fee_lines": [],
        }
    )
    return refund


def apply_refund(order: Document, refund: Document, *, modified: datetime, timezone: str) -> None:
    """Record a refund on its order as WooCommerce does (mutates `order`)."""
    order["refunds"].insert(
        0, {"id": refund["id"], "reason": refund["reason"], "total": "-" + refund["amount"]}
    )
    if refunded_amount(order) >= Decimal(order["total"]):
        order["status"] = "refunded"
    set_dates(order, "date_modified", modified, timezone)
    refresh_status_flags(order)
