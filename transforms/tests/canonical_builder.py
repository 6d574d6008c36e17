"""Builds valid canonical orders and refunds from a small spec (for property and golden tests).

Loaded by path from the tests (plugin test folders are not packages). Every record it builds
passes `kconnector_canonical.validate`; the arithmetic follows docs/canonical-model.md exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kconnector_canonical import CURRENT_SCHEMA_VERSION
from kconnector_canonical.money import minor_units

CREATED = datetime(2026, 3, 2, 15, 15, 4, tzinfo=UTC)

TAX_SETS: dict[str, list[tuple[str, str, str, str, bool]]] = {
    "none": [],
    "us_ny": [
        ("NY State Tax", "0.04", "US-NY", "state", False),
        ("New York City Tax", "0.045", "US-NY-NYC", "city", False),
    ],
    "ca_bc": [("GST", "0.05", "CA", "federal", False), ("PST", "0.07", "CA-BC", "province", False)],
    "qc_compound": [
        ("GST", "0.05", "CA", "federal", False),
        ("QST", "0.09975", "CA-QC", "province", True),
    ],
    "de_vat": [("MwSt.", "0.19", "DE", "country", False)],
}


def stamp(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def q(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def money(amount: Decimal, currency: str) -> dict[str, str]:
    text = format(amount, "f")
    if text.startswith("-") and Decimal(text) == 0:
        text = text[1:]
    return {"amount": text, "currency": currency}


@dataclass
class LineSpec:
    quantity: int
    unit_minor: int  # unit price in minor units
    extra_decimal: int = 0  # 0-9: a third decimal on the unit price (platform-derived prices)
    discount: str = "none"  # none | fixed | third
    discount_minor: int = 0
    taxable: bool = True
    gift_card: bool = False
    sku: str | None = "SKU-1"
    requires_shipping: bool = True


@dataclass
class OrderSpec:
    currency: str = "USD"
    inclusive: bool = False
    tax_set: str = "us_ny"
    lines: list[LineSpec] = field(default_factory=lambda: [LineSpec(1, 1000)])
    shipping_minor: int | None = None
    shipping_discount_minor: int = 0
    fee_minor: int | None = None
    tip_minor: int | None = None
    payment: str = "checkout"  # checkout | pending | later | partial | gift_card[_split]
    unrounded_line_tax: bool = False
    presentment: str | None = None
    presentment_rate: str = "1.25"
    status: str = "open"
    guest: bool = False
    test: bool = False
    source_id: str = "1001"
    fulfilled: list[list[int]] = field(default_factory=list)  # per fulfillment: units per line
    refunds: list[dict[str, Any]] = field(default_factory=list)


def _tax_lines(
    base: Decimal, rates: list[tuple[str, str, str, str, bool]], currency: str, *, raw: bool
) -> list[dict[str, Any]]:
    out = []
    for title, rate, jurisdiction, kind, compound in rates:
        amount = base * Decimal(rate)
        amount = amount.quantize(Decimal("0.0001"), ROUND_HALF_UP) if raw else q(amount, currency)
        out.append(
            {
                "title": title,
                "rate": rate,
                "amount": money(amount, currency),
                "jurisdiction": jurisdiction,
                "jurisdiction_type": kind,
                "rate_code": None,
                "compound": compound,
            }
        )
    return out


def _taxes_for(total: Decimal, spec: OrderSpec, *, taxable: bool) -> list[dict[str, Any]]:
    rates = TAX_SETS[spec.tax_set] if taxable else []
    if not rates or total <= 0:
        return []
    if spec.inclusive:
        combined = sum((Decimal(r[1]) for r in rates), Decimal(0))
        base = total / (1 + combined)
    else:
        base = total
    return _tax_lines(base, rates, spec.currency, raw=spec.unrounded_line_tax)


def _sum(items: list[Decimal]) -> Decimal:
    return sum(items, Decimal(0))


def build_order(spec: OrderSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:  # noqa: C901, PLR0912, PLR0915
    cur = spec.currency
    unit = Decimal(1).scaleb(-minor_units(cur))
    discounts: list[dict[str, Any]] = []
    line_items: list[dict[str, Any]] = []
    for i, ls in enumerate(spec.lines):
        unit_price = ls.unit_minor * unit + Decimal(ls.extra_decimal) * unit / 10
        subtotal = q(unit_price * ls.quantity, cur)
        if ls.discount == "fixed":
            discount = min(ls.discount_minor * unit, subtotal)
        elif ls.discount == "third":
            discount = q(subtotal / 3, cur)
        else:
            discount = Decimal(0) * unit
        discount = q(discount, cur)
        allocations = []
        if discount > 0:
            allocations.append({"discount_index": len(discounts), "amount": money(discount, cur)})
            discounts.append(
                {
                    "kind": "code" if ls.discount == "fixed" else "automatic",
                    "code": f"CODE{i}" if ls.discount == "fixed" else None,
                    "title": f"Discount {i}",
                    "value_type": "fixed_amount" if ls.discount == "fixed" else "percentage",
                    "value": format(discount, "f") if ls.discount == "fixed" else "33.3333",
                    "amount": money(discount, cur),
                    "target": "line_item",
                }
            )
        total = subtotal - discount
        line_items.append(
            {
                "line_id": f"L{i + 1}",
                "sku": None if ls.sku is None else f"{ls.sku}-{i + 1}",
                "product_id": f"P{i + 1}",
                "variant_id": None,
                "title": f"Product {i + 1}" if not ls.gift_card else "Gift card",
                "variant_title": None,
                "quantity": ls.quantity,
                "unit_price": money(unit_price, cur),
                "subtotal": money(subtotal, cur),
                "discount": money(discount, cur),
                "discount_allocations": allocations,
                "total": money(total, cur),
                "tax_lines": _taxes_for(total, spec, taxable=ls.taxable and not ls.gift_card),
                "taxable": ls.taxable and not ls.gift_card,
                "requires_shipping": ls.requires_shipping and not ls.gift_card,
                "fulfilled_quantity": 0,
                "gift_card": ls.gift_card,
            }
        )
    shipping_lines = []
    if spec.shipping_minor is not None:
        price = spec.shipping_minor * unit
        ship_discount = min(spec.shipping_discount_minor * unit, price)
        ship_allocations = []
        if ship_discount > 0:
            ship_allocations.append(
                {"discount_index": len(discounts), "amount": money(ship_discount, cur)}
            )
            discounts.append(
                {
                    "kind": "code",
                    "code": "SHIPFREE",
                    "title": "Shipping discount",
                    "value_type": "fixed_amount",
                    "value": format(ship_discount, "f"),
                    "amount": money(ship_discount, cur),
                    "target": "shipping",
                }
            )
        ship_total = price - ship_discount
        shipping_lines.append(
            {
                "line_id": "S1",
                "title": "Standard",
                "code": "STANDARD",
                "price": money(price, cur),
                "discount": money(ship_discount, cur),
                "discount_allocations": ship_allocations,
                "total": money(ship_total, cur),
                "tax_lines": _taxes_for(ship_total, spec, taxable=True),
            }
        )
    fee_lines = []
    if spec.fee_minor is not None:
        amount = spec.fee_minor * unit
        fee_lines.append(
            {
                "line_id": "F1",
                "title": "Handling fee" if amount >= 0 else "Manual discount",
                "kind": "fee",
                "amount": money(amount, cur),
                "taxable": False,
                "tax_lines": [],
            }
        )
    if spec.tip_minor is not None:
        fee_lines.append(
            {
                "line_id": "T1",
                "title": "Tip",
                "kind": "tip",
                "amount": money(spec.tip_minor * unit, cur),
                "taxable": False,
                "tax_lines": [],
            }
        )
    # Order tax summary: per tax, the rounded sum of the line taxes.
    summary: dict[tuple[str, str], dict[str, Any]] = {}
    for item in [*line_items, *shipping_lines]:
        for tax in item["tax_lines"]:
            key = (tax["title"], tax["rate"])
            entry = summary.setdefault(key, {**tax, "amount": money(Decimal(0), cur)})
            entry["amount"] = money(
                Decimal(entry["amount"]["amount"]) + Decimal(tax["amount"]["amount"]), cur
            )
    tax_lines = []
    for entry in summary.values():
        entry["amount"] = money(q(Decimal(entry["amount"]["amount"]), cur), cur)
        tax_lines.append(entry)
    amounts = {
        "line_items_subtotal": _sum([Decimal(li["subtotal"]["amount"]) for li in line_items]),
        "discounts": _sum([Decimal(li["discount"]["amount"]) for li in line_items])
        + _sum([Decimal(s["discount"]["amount"]) for s in shipping_lines]),
        "subtotal": _sum([Decimal(li["total"]["amount"]) for li in line_items]),
        "shipping": _sum([Decimal(s["total"]["amount"]) for s in shipping_lines]),
        "fees": _sum([Decimal(f["amount"]["amount"]) for f in fee_lines]),
        "tax": _sum([Decimal(t["amount"]["amount"]) for t in tax_lines]),
    }
    total = amounts["subtotal"] + amounts["shipping"] + amounts["fees"]
    if not spec.inclusive:
        total += amounts["tax"]
    amounts["total"] = total
    totals = {k: money(q(v, cur), cur) for k, v in amounts.items()}
    transactions = _transactions(spec, q(total, cur))
    refunded = Decimal(0)
    refund_records = []
    order_id = f"shopify:kc-test.myshopify.com:{spec.source_id}"
    for r_index, refund_spec in enumerate(spec.refunds):
        refund = build_refund(spec, order_id, line_items, shipping_lines, refund_spec, r_index)
        refund_records.append(refund)
        for t in refund["transactions"]:
            transactions.append(t)
            refunded += Decimal(t["amount"]["amount"])
    if refunded > 0:
        totals["refunded"] = money(q(refunded, cur), cur)
    fulfillments = []
    for f_index, units in enumerate(spec.fulfilled):
        items = [{"line_id": f"L{i + 1}", "quantity": n} for i, n in enumerate(units) if n > 0]
        if items:
            fulfillments.append(
                {
                    "fulfillment_id": f"FUL{f_index + 1}",
                    "status": "success",
                    "created_at": stamp(CREATED + timedelta(days=1 + f_index)),
                    "line_items": items,
                }
            )
            for item in items:
                index = int(item["line_id"][1:]) - 1
                line_items[index]["fulfilled_quantity"] += item["quantity"]
    paid = _sum(
        [
            Decimal(t["amount"]["amount"])
            for t in transactions
            if t["kind"] in {"sale", "capture"} and t["status"] == "success"
        ]
    )
    financial = _financial_status(paid, q(total, cur), refunded, spec)
    presentment_totals = None
    if spec.presentment is not None:
        presentment_totals = {
            k: money(
                q(Decimal(v["amount"]) * Decimal(spec.presentment_rate), spec.presentment),
                spec.presentment,
            )
            for k, v in totals.items()
        }
    customer = _customer(spec)
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": order_id,
        "platform": "shopify",
        "store": "kc-test.myshopify.com",
        "source_id": spec.source_id,
        "order_number": spec.source_id,
        "name": f"#{spec.source_id}",
        "created_at": stamp(CREATED),
        "updated_at": stamp(CREATED + timedelta(days=3)),
        "processed_at": stamp(CREATED),
        "cancelled_at": stamp(CREATED + timedelta(hours=5)) if spec.status == "cancelled" else None,
        "closed_at": None,
        "cancel_reason": "customer" if spec.status == "cancelled" else None,
        "store_timezone": "America/New_York",
        "currency": cur,
        "presentment_currency": spec.presentment,
        "presentment_totals": presentment_totals,
        "prices_include_tax": spec.inclusive,
        "status": spec.status,
        "financial_status": financial,
        "fulfillment_status": "partial" if fulfillments else "unfulfilled",
        "test": spec.test,
        "source_name": "web",
        "tags": [],
        "note": None,
        "customer": customer,
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "fee_lines": fee_lines,
        "discounts": discounts,
        "tax_lines": tax_lines,
        "totals": totals,
        "transactions": transactions,
        "fulfillments": fulfillments,
    }, refund_records


def _financial_status(paid: Decimal, total: Decimal, refunded: Decimal, spec: OrderSpec) -> str:
    if refunded > 0:
        return "refunded" if refunded >= paid else "partially_refunded"
    if spec.status == "cancelled" and paid == 0:
        return "voided"
    if paid >= total:
        return "paid"
    return "partially_paid" if paid > 0 else "pending"


def _transaction(  # noqa: PLR0913, PLR0917 - a transaction's fields
    tid: str, kind: str, gateway: str, amount: Decimal, when: datetime, cur: str
) -> dict[str, Any]:
    return {
        "transaction_id": tid,
        "parent_id": None,
        "kind": kind,
        "status": "success",
        "gateway": gateway,
        "amount": money(amount, cur),
        "processed_at": stamp(when),
        "test": False,
    }


def _transactions(spec: OrderSpec, total: Decimal) -> list[dict[str, Any]]:
    cur = spec.currency
    if total <= 0 or spec.payment == "pending" or spec.status == "cancelled":
        return []
    if spec.payment == "checkout":
        return [_transaction("T1", "sale", "shopify_payments", total, CREATED, cur)]
    if spec.payment == "later":
        return [_transaction("T1", "capture", "manual", total, CREATED + timedelta(days=2), cur)]
    if spec.payment == "gift_card":
        return [_transaction("T1", "sale", "gift_card", total, CREATED, cur)]
    if spec.payment == "gift_card_split":
        card = q(total / 2, cur)
        return [
            _transaction("T1", "sale", "gift_card", card, CREATED, cur),
            _transaction("T2", "sale", "shopify_payments", total - card, CREATED, cur),
        ]
    first = q(total / 3, cur)
    return [
        _transaction("T1", "sale", "shopify_payments", first, CREATED, cur),
        _transaction("T2", "capture", "manual", total - first, CREATED + timedelta(days=2), cur),
    ]


def _customer(spec: OrderSpec) -> dict[str, Any]:
    address = {
        "name": "Ana López",
        "first_name": "Ana",
        "last_name": "López",
        "company": None,
        "line1": "1 Main St",
        "line2": None,
        "city": "New York",
        "region": "New York",
        "region_code": "NY",
        "postal_code": "10001",
        "country": "United States",
        "country_code": "US",
        "phone": None,
    }
    return {
        "source_id": None if spec.guest else "7000000001",
        "is_guest": spec.guest,
        "email": "Ana@Example.com",
        "first_name": "Ana",
        "last_name": "López",
        "company": None,
        "phone": None,
        "billing_address": address,
        "shipping_address": address,
    }


def _scaled(tax_lines: list[dict[str, Any]], share: Decimal, cur: str) -> list[dict[str, Any]]:
    return [
        {**t, "amount": money(q(Decimal(t["amount"]["amount"]) * share, cur), cur)}
        for t in tax_lines
    ]


def build_refund(  # noqa: PLR0913, PLR0917 - a spec's parts, positional for brevity
    spec: OrderSpec,
    order_id: str,
    line_items: list[dict[str, Any]],
    shipping_lines: list[dict[str, Any]],
    refund_spec: dict[str, Any],
    index: int,
) -> dict[str, Any]:
    """A refund of `units[i]` units of line i, optionally shipping and an amount-only part."""
    cur = spec.currency
    lines = []
    for i, units in enumerate(refund_spec.get("units", [])):
        if units <= 0:
            continue
        line = line_items[i]
        share = Decimal(units) / Decimal(line["quantity"])
        tax_lines = _scaled(line["tax_lines"], share, cur)
        tax = _sum([Decimal(t["amount"]["amount"]) for t in tax_lines])
        lines.append(
            {
                "line_id": f"RL{index}{i}",
                "order_line_id": line["line_id"],
                "quantity": units,
                "subtotal": money(q(Decimal(line["total"]["amount"]) * share, cur), cur),
                "tax": money(tax, cur),
                "tax_lines": tax_lines,
                "restock_type": "return",
            }
        )
    shipping = []
    if refund_spec.get("shipping") and shipping_lines:
        ship = shipping_lines[0]
        tax_lines = _scaled(ship["tax_lines"], Decimal(1), cur)
        tax = _sum([Decimal(t["amount"]["amount"]) for t in tax_lines])
        shipping.append(
            {
                "order_line_id": "S1",
                "amount": ship["total"],
                "tax": money(tax, cur),
                "tax_lines": tax_lines,
            }
        )
    adjustments = []
    if refund_spec.get("amount_only_minor"):
        unit = Decimal(1).scaleb(-minor_units(cur))
        adjustments.append(
            {
                "kind": "amount_only",
                "reason": "Goodwill",
                "amount": money(refund_spec["amount_only_minor"] * unit, cur),
                "tax": money(Decimal(0) * unit, cur),
            }
        )
    items = _sum([Decimal(x["subtotal"]["amount"]) for x in lines])
    ship_total = _sum([Decimal(x["amount"]["amount"]) for x in shipping])
    adjust = _sum([Decimal(x["amount"]["amount"]) for x in adjustments])
    tax = _sum([Decimal(x["tax"]["amount"]) for x in [*lines, *shipping, *adjustments]])
    total = items + ship_total + adjust + (Decimal(0) if spec.inclusive else tax)
    transactions = []
    if refund_spec.get("money_back", True) and total > 0:
        transactions.append(
            {
                "transaction_id": f"R{index}T",
                "parent_id": "T1",
                "kind": "refund",
                "status": "success",
                "gateway": "shopify_payments",
                "amount": money(q(total, cur), cur),
                "processed_at": stamp(CREATED + timedelta(days=4 + index)),
                "test": False,
            }
        )
    source_id = f"9{spec.source_id}{index}"
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": f"shopify:kc-test.myshopify.com:{source_id}",
        "platform": "shopify",
        "store": "kc-test.myshopify.com",
        "source_id": source_id,
        "order_id": order_id,
        "order_source_id": spec.source_id,
        "created_at": stamp(CREATED + timedelta(days=4 + index)),
        "processed_at": stamp(CREATED + timedelta(days=4 + index)),
        "updated_at": stamp(CREATED + timedelta(days=4 + index)),
        "currency": cur,
        "prices_include_tax": spec.inclusive,
        "note": None,
        "restock": bool(lines),
        "line_items": lines,
        "shipping_lines": shipping,
        "adjustments": adjustments,
        "transactions": transactions,
        "totals": {
            "items": money(q(items, cur), cur),
            "shipping": money(q(ship_total, cur), cur),
            "adjustments": money(q(adjust, cur), cur),
            "tax": money(q(tax, cur), cur),
            "total": money(q(total, cur), cur),
        },
    }


STORE = "kc-test.myshopify.com"


@dataclass
class PayoutItem:
    """One balance transaction of a payout; amounts in major units ("12.30")."""

    type: str
    amount: str
    fee: str = "0"
    order_source_id: str | None = None
    order_transaction_id: str | None = None
    refund_source_id: str | None = None
    description: str | None = None


def build_payout(  # noqa: PLR0913 - a payout's facts, named
    items: list[PayoutItem],
    *,
    status: str = "paid",
    currency: str = "USD",
    source_id: str = "7001",
    gateway: str = "shopify_payments",
    basis: str = "processor",
    issued_at: datetime = CREATED + timedelta(days=3),
) -> dict[str, Any]:
    """A valid canonical payout whose totals and net add up exactly (docs/canonical-model.md)."""
    transactions = []
    for index, item in enumerate(items):
        amount, fee = q(Decimal(item.amount), currency), q(Decimal(item.fee), currency)
        order = item.order_source_id
        transactions.append(
            {
                "transaction_id": f"BT{index + 1}",
                "type": item.type,
                "amount": money(amount, currency),
                "fee": money(fee, currency),
                "net": money(amount - fee, currency),
                "order_id": f"shopify:{STORE}:{order}" if order else None,
                "order_source_id": order,
                "order_transaction_id": item.order_transaction_id,
                "refund_id": (
                    f"shopify:{STORE}:{item.refund_source_id}" if item.refund_source_id else None
                ),
                "processed_at": stamp(CREATED + timedelta(hours=index)),
                "description": item.description,
            }
        )
    gross = _sum([Decimal(t["amount"]["amount"]) for t in transactions])
    fees = _sum([Decimal(t["fee"]["amount"]) for t in transactions])
    net = money(gross - fees, currency)
    return {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "id": f"shopify:{STORE}:{source_id}",
        "platform": "shopify",
        "store": STORE,
        "source_id": source_id,
        "basis": basis,
        "gateway": gateway,
        "status": status,
        "issued_at": stamp(issued_at),
        "updated_at": stamp(issued_at),
        "store_timezone": "America/New_York",
        "currency": currency,
        "net": net,
        "totals": {
            "gross": money(gross, currency),
            "fees": money(fees, currency),
            "net": net,
        },
        "transactions": transactions,
    }
