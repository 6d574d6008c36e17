"""Turn an `OrderSpec` into the API's `Order`.

It is priced in both currencies, then the order derives its
transactions, refunds, fulfilments, statuses and the order's timeline events.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kconnector_sandbox.shopify.model import (
    BasicEvent,
    Customer,
    DiscountAllocation,
    DiscountApplication,
    Fulfillment,
    FulfillmentLineItem,
    LineItem,
    MailingAddress,
    MoneyBag,
    MoneyV2,
    Order,
    OrderAdjustment,
    OrderTransaction,
    PricingPercentageValue,
    Product,
    ProductVariant,
    Refund,
    RefundLineItem,
    RefundShippingLine,
    ShippingLine,
    TaxLine,
    TrackingInfo,
    gid,
)
from kconnector_sandbox.shopify.payments import transaction_fees
from kconnector_sandbox.shopify.pricing import (
    ZERO,
    Allocation,
    PricedLine,
    PricedOrder,
    presentment_identity,
    price_order,
    round_money,
    shop_converter,
)
from kconnector_sandbox.shopify.spec import (
    AddressSpec,
    DiscountTarget,
    LineSpec,
    OrderSpec,
    PaymentPlan,
)

if TYPE_CHECKING:
    from decimal import Decimal

_GATEWAY_NAMES = {
    "shopify_payments": "Shopify Payments",
    "stripe": "Stripe",
    "gift_card": "Gift card",
    "manual": "Manual",
    "bogus": "Bogus",
}


@dataclass(frozen=True)
class _Views:
    """The order priced in the shop currency and in the presentment currency."""

    shop: PricedOrder
    pres: PricedOrder
    shop_currency: str
    pres_currency: str

    def bag(self, shop_amount: Decimal, pres_amount: Decimal) -> MoneyBag:
        return MoneyBag(
            MoneyV2(shop_amount, self.shop_currency), MoneyV2(pres_amount, self.pres_currency)
        )


@dataclass(frozen=True)
class _Tx:
    kind: str
    status: str
    gateway: str
    shop: Decimal
    pres: Decimal
    at: datetime
    parent: int | None = None


PRODUCT_ID_BASE = 7_100_000_000_000
VARIANT_ID_BASE = 44_000_000_000_000
DEFAULT_VARIANT_TITLE = "Default Title"  # a product without options has one variant so named


def _stable_number(*parts: str | None) -> int:
    """A number derived from catalogue text only (the same in every run and every shop)."""
    return zlib.crc32("\x1f".join(p or "" for p in parts).encode()) % 1_000_000_000


def catalogue_variant(line: LineSpec) -> ProductVariant | None:
    """The catalogue variant `line` was sold as; None once its product was deleted.

    Lines of one product title share one `Product`; each (title, variant title, SKU) is a
    variant. LineItem.product and .variant are null for a deleted product
    (https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem).
    """
    if line.product_deleted:
        return None
    product_legacy = PRODUCT_ID_BASE + _stable_number(line.title)
    product = Product(
        id=gid("Product", product_legacy),
        legacy_resource_id=product_legacy,
        title=line.title,
        vendor=line.vendor,
    )
    variant_legacy = VARIANT_ID_BASE + _stable_number(line.title, line.variant_title, line.sku)
    title = line.variant_title or DEFAULT_VARIANT_TITLE
    return ProductVariant(
        id=gid("ProductVariant", variant_legacy),
        legacy_resource_id=variant_legacy,
        title=title,
        display_name=f"{line.title} - {title}",
        sku=line.sku,
        product=product,
    )


def build_order(spec: OrderSpec, shop_currency: str) -> Order:  # noqa: C901, PLR0915 - one assembly
    """Compute every field of the order described by `spec`.

    Args:
        spec: the order's inputs.
        shop_currency: the shop's currency code.

    Returns:
        The order as the GraphQL Admin API serves it.
    """
    views = _Views(
        shop=price_order(spec, shop_converter(spec.exchange_rate)),
        pres=price_order(spec, presentment_identity),
        shop_currency=shop_currency,
        pres_currency=spec.presentment_currency,
    )
    shop, pres = views.shop, views.pres
    n = spec.number

    applications = tuple(_application(spec, views, k) for k in range(len(spec.discounts)))

    def allocations(
        shop_allocs: tuple[Allocation, ...], pres_allocs: tuple[Allocation, ...]
    ) -> tuple[DiscountAllocation, ...]:
        return tuple(
            DiscountAllocation(views.bag(a.amount, b.amount), applications[a.application_index])
            for a, b in zip(shop_allocs, pres_allocs, strict=True)
        )

    def tax_lines(
        shop_taxes: tuple[Decimal, ...], pres_taxes: tuple[Decimal, ...]
    ) -> tuple[TaxLine, ...]:
        lines = []
        for rate, s_amount, p_amount in zip(spec.tax_rates, shop_taxes, pres_taxes, strict=False):
            if s_amount == 0 and p_amount == 0:
                continue
            lines.append(
                TaxLine(
                    title=rate.title,
                    rate=float(rate.rate),
                    rate_percentage=float(rate.rate * 100),
                    price_set=views.bag(s_amount, p_amount),
                )
            )
        return tuple(lines)

    refunded_qty = [0] * len(spec.lines)
    for refund in spec.refunds:
        for i, quantity in refund.lines:
            refunded_qty[i] += quantity
    fulfilled_qty = [0] * len(spec.lines)
    for fulfillment in spec.fulfillments:
        for i, quantity in fulfillment.lines:
            fulfilled_qty[i] += quantity

    line_items: list[LineItem] = []
    for i, line in enumerate(spec.lines):
        s_line, p_line = shop.lines[i], pres.lines[i]
        current = line.quantity - refunded_qty[i]
        variant = catalogue_variant(line)
        shop_line_disc = s_line.original_total - s_line.line_level_discount
        pres_line_disc = p_line.original_total - p_line.line_level_discount
        line_items.append(
            LineItem(
                id=gid("LineItem", 13_000_000_000_000 + n * 1000 + i),
                name=f"{line.title} - {line.variant_title}" if line.variant_title else line.title,
                title=line.title,
                variant_title=line.variant_title,
                sku=line.sku,
                vendor=line.vendor,
                quantity=line.quantity,
                current_quantity=current,
                refundable_quantity=current,
                unfulfilled_quantity=max(current - fulfilled_qty[i], 0)
                if line.requires_shipping
                else 0,
                taxable=line.taxable,
                requires_shipping=line.requires_shipping,
                is_gift_card=line.is_gift_card,
                original_unit_price_set=views.bag(s_line.unit_price, p_line.unit_price),
                original_total_set=views.bag(s_line.original_total, p_line.original_total),
                discounted_unit_price_set=views.bag(
                    round_money(shop_line_disc / line.quantity),
                    round_money(pres_line_disc / line.quantity),
                ),
                discounted_total_set=views.bag(shop_line_disc, pres_line_disc),
                discounted_unit_price_after_all_discounts_set=views.bag(
                    round_money(s_line.discounted_total / line.quantity),
                    round_money(p_line.discounted_total / line.quantity),
                ),
                total_discount_set=views.bag(s_line.total_discount, p_line.total_discount),
                discount_allocations=allocations(s_line.allocations, p_line.allocations),
                tax_lines=tax_lines(s_line.taxes, p_line.taxes),
                product=variant.product if variant else None,
                variant=variant,
            )
        )

    shipping_lines: list[ShippingLine] = []
    for s, ship in enumerate(spec.shipping_lines):
        s_ship, p_ship = shop.shipping[s], pres.shipping[s]
        refunded = any(r.shipping for r in spec.refunds)
        shipping_lines.append(
            ShippingLine(
                id=gid("ShippingLine", 43_000_000_000_000 + n * 10 + s),
                title=ship.title,
                code=ship.code,
                source=ship.source,
                carrier_identifier=None,
                original_price_set=views.bag(s_ship.original, p_ship.original),
                discounted_price_set=views.bag(s_ship.discounted, p_ship.discounted),
                current_discounted_price_set=views.bag(
                    ZERO if refunded else s_ship.discounted, ZERO if refunded else p_ship.discounted
                ),
                is_removed=False,
                discount_allocations=allocations(s_ship.allocations, p_ship.allocations),
                tax_lines=tax_lines(s_ship.taxes, p_ship.taxes),
            )
        )

    card = "bogus" if spec.test else spec.gateway
    txs = _transactions(spec, views, card)
    transactions = _materialise_transactions(txs, views, spec, n)

    refunds: list[Refund] = []
    refund_positions = iter([i for i, tx in enumerate(txs) if tx.kind == "REFUND"])
    for k, refund_spec in enumerate(spec.refunds):
        s_ref, p_ref = shop.refunds[k], pres.refunds[k]
        refund_txs: tuple[OrderTransaction, ...] = ()
        if s_ref.total != 0 or p_ref.total != 0:
            refund_txs = (transactions[next(refund_positions)],)
        refund_lines = tuple(
            RefundLineItem(
                id=gid("RefundLineItem", 61_000_000_000_000 + n * 100_000 + k * 1000 + j),
                line_item=line_items[s_line.line_index],
                quantity=s_line.quantity,
                restock_type="RETURN" if refund_spec.restock else "NO_RESTOCK",
                restocked=refund_spec.restock,
                price_set=views.bag(
                    shop.lines[s_line.line_index].unit_price,
                    pres.lines[s_line.line_index].unit_price,
                ),
                subtotal_set=views.bag(s_line.subtotal, p_line.subtotal),
                total_tax_set=views.bag(s_line.tax, p_line.tax),
            )
            for j, (s_line, p_line) in enumerate(zip(s_ref.lines, p_ref.lines, strict=True))
        )
        refund_shipping = tuple(
            RefundShippingLine(
                id=gid("RefundShippingLine", 32_000_000_000_000 + n * 100 + k * 10 + j),
                shipping_line=shipping_lines[s_ship.shipping_index],
                subtotal_amount_set=views.bag(s_ship.subtotal, p_ship.subtotal),
                tax_amount_set=views.bag(s_ship.tax, p_ship.tax),
            )
            for j, (s_ship, p_ship) in enumerate(zip(s_ref.shipping, p_ref.shipping, strict=True))
        )
        adjustments: tuple[OrderAdjustment, ...] = ()
        if refund_spec.amount_only is not None:
            adjustments = (
                OrderAdjustment(
                    id=gid("OrderAdjustment", 31_000_000_000_000 + n * 100 + k),
                    amount_set=views.bag(s_ref.adjustment, p_ref.adjustment),
                    tax_amount_set=views.bag(ZERO, ZERO),
                    reason="REFUND_DISCREPANCY",
                ),
            )
        refunds.append(
            Refund(
                id=gid("Refund", 950_000_000_000 + n * 100 + k),
                created_at=refund_spec.created_at,
                updated_at=refund_spec.created_at,
                note=refund_spec.note,
                total_refunded_set=views.bag(s_ref.total, p_ref.total),
                refund_line_items=refund_lines,
                refund_shipping_lines=refund_shipping,
                order_adjustments=adjustments,
                transactions=refund_txs,
            )
        )

    fulfillments = tuple(
        Fulfillment(
            id=gid("Fulfillment", 48_000_000_000_000 + n * 100 + f),
            name=f"#{n}-F{f + 1}",
            status="SUCCESS",
            created_at=fulfillment.created_at,
            updated_at=fulfillment.created_at,
            tracking_info=(
                TrackingInfo(fulfillment.tracking_company, fulfillment.tracking_number, None),
            )
            if fulfillment.tracking_number
            else (),
            fulfillment_line_items=tuple(
                FulfillmentLineItem(
                    id=gid("FulfillmentLineItem", 49_000_000_000_000 + n * 100_000 + f * 1000 + j),
                    line_item=line_items[i],
                    quantity=quantity,
                    original_total_set=views.bag(
                        shop.lines[i].unit_price * quantity, pres.lines[i].unit_price * quantity
                    ),
                    # excludes order-level discounts (FulfillmentLineItem.discountedTotalSet)
                    discounted_total_set=views.bag(
                        _line_level_share(shop.lines[i], quantity, spec.lines[i].quantity),
                        _line_level_share(pres.lines[i], quantity, spec.lines[i].quantity),
                    ),
                )
                for j, (i, quantity) in enumerate(fulfillment.lines)
            ),
        )
        for f, fulfillment in enumerate(spec.fulfillments)
    )

    received = _sum_tx(txs, ("SALE", "CAPTURE"))
    refunded_money = _sum_tx(txs, ("REFUND",))
    net = (received[0] - refunded_money[0], received[1] - refunded_money[1])
    settled = spec.cancelled_at is not None or spec.payment is PaymentPlan.VOIDED
    outstanding = (
        (ZERO, ZERO) if settled else (shop.current_total - net[0], pres.current_total - net[1])
    )
    updated_at = order_updated_at(spec)
    codes = tuple(d.title for d in spec.discounts if d.kind.value == "DiscountCodeApplication")
    legacy = spec.legacy_id
    order_gid = gid("Order", legacy)
    return Order(
        id=order_gid,
        legacy_resource_id=legacy,
        name=f"#{n}",
        email=spec.email,
        phone=spec.customer.phone if spec.customer else None,
        created_at=spec.created_at,
        updated_at=updated_at,
        processed_at=spec.created_at,
        closed_at=spec.cancelled_at,
        cancelled_at=spec.cancelled_at,
        cancel_reason=spec.cancel_reason,
        closed=spec.cancelled_at is not None,
        test=spec.test,
        confirmed=True,
        tags=spec.tags,
        note=spec.note,
        source_name=spec.source_name,
        currency_code=shop_currency,
        presentment_currency_code=spec.presentment_currency,
        taxes_included=spec.taxes_included,
        tax_exempt=False,
        display_financial_status=_financial_status(spec.payment, received, refunded_money),
        display_fulfillment_status=_fulfillment_status(spec, refunded_qty, fulfilled_qty),
        payment_gateway_names=tuple(dict.fromkeys(t.gateway for t in txs if t.kind != "REFUND")),
        discount_codes=codes,
        discount_code=codes[0] if codes else None,
        subtotal_line_items_quantity=sum(line.quantity for line in spec.lines),
        current_subtotal_line_items_quantity=sum(li.current_quantity for li in line_items),
        total_weight=sum(500 * line.quantity for line in spec.lines if line.requires_shipping),
        subtotal_price_set=views.bag(shop.subtotal, pres.subtotal),
        total_discounts_set=views.bag(shop.total_discounts, pres.total_discounts),
        total_shipping_price_set=views.bag(shop.shipping_total, pres.shipping_total),
        total_tax_set=views.bag(shop.total_tax, pres.total_tax),
        total_price_set=views.bag(shop.total, pres.total),
        total_tip_received_set=views.bag(shop.tip, pres.tip),
        total_received_set=views.bag(*received),
        total_refunded_set=views.bag(*refunded_money),
        total_refunded_shipping_set=views.bag(shop.refunded_shipping, pres.refunded_shipping),
        total_outstanding_set=views.bag(*outstanding),
        net_payment_set=views.bag(*net),
        original_total_price_set=views.bag(shop.total, pres.total),
        current_subtotal_price_set=views.bag(shop.current_subtotal, pres.current_subtotal),
        current_total_discounts_set=views.bag(shop.current_discounts, pres.current_discounts),
        current_shipping_price_set=views.bag(shop.current_shipping, pres.current_shipping),
        current_total_tax_set=views.bag(shop.current_tax, pres.current_tax),
        current_total_price_set=views.bag(shop.current_total, pres.current_total),
        tax_lines=tax_lines(shop.tax_amounts, pres.tax_amounts),
        current_tax_lines=tax_lines(shop.current_tax_amounts, pres.current_tax_amounts),
        discount_applications=applications,
        line_items=tuple(line_items),
        shipping_lines=tuple(shipping_lines),
        shipping_line=shipping_lines[0] if shipping_lines else None,
        refunds=tuple(refunds),
        transactions=transactions,
        fulfillments=fulfillments,
        customer=_customer(spec),
        billing_address=_address(spec.billing_address),
        shipping_address=_address(spec.shipping_address),
        events=order_events(spec),
    )


def _line_level_share(line: PricedLine, quantity: int, of: int) -> Decimal:
    """The part of a line's total after line-level discounts that `quantity` units carry."""
    return round_money((line.original_total - line.line_level_discount) * quantity / of)


def _application(spec: OrderSpec, views: _Views, index: int) -> DiscountApplication:
    discount = spec.discounts[index]
    value: MoneyV2 | PricingPercentageValue
    if discount.percentage is not None:
        value = PricingPercentageValue(float(discount.percentage))
    else:
        value = MoneyV2(views.pres.application_values[index] or ZERO, views.pres_currency)
    target = discount.target
    is_code = discount.kind.value == "DiscountCodeApplication"
    return DiscountApplication(
        graphql_type=discount.kind.value,
        index=index,
        allocation_method="ONE" if target is DiscountTarget.LINES else "ACROSS",
        target_selection="EXPLICIT" if target is DiscountTarget.LINES else "ALL",
        target_type="SHIPPING_LINE" if target is DiscountTarget.SHIPPING else "LINE_ITEM",
        value=value,
        code=discount.title if is_code else None,
        title=None if is_code else discount.title,
        description=None,
    )


def _transactions(spec: OrderSpec, views: _Views, card: str) -> list[_Tx]:
    """The order's transactions: its payment, then refunds and edit charges in time order.

    The payment is of the order's total at checkout: what a later edit added is charged by a
    sale of its own (`spec.added_charges`), so the first payment never changes. Each later
    transaction comes after the existing ones (every change is stamped after all the order
    already has), so a transaction keeps its position, hence its id, for good.
    """
    shop, pres = views.shop, views.pres
    at = spec.created_at
    plan = spec.payment
    added_shop = sum((c.shop_amount for c in spec.added_charges), ZERO)
    added_pres = sum((c.presentment_amount for c in spec.added_charges), ZERO)
    paid_shop, paid_pres = shop.total - added_shop, pres.total - added_pres
    txs: list[_Tx] = []
    if plan is PaymentPlan.SALE:
        if spec.gift_card_payment:
            txs.append(
                _Tx(
                    "SALE",
                    "SUCCESS",
                    "gift_card",
                    shop.gift_card_payment,
                    pres.gift_card_payment,
                    at,
                )
            )
        txs.append(
            _Tx(
                "SALE",
                "SUCCESS",
                card,
                paid_shop - shop.gift_card_payment,
                paid_pres - pres.gift_card_payment,
                at,
            )
        )
    elif plan is PaymentPlan.AUTHORIZE_CAPTURE:
        txs.append(_Tx("AUTHORIZATION", "SUCCESS", card, paid_shop, paid_pres, at))
        txs.append(
            _Tx("CAPTURE", "SUCCESS", card, paid_shop, paid_pres, at + timedelta(hours=2), 0)
        )
    elif plan is PaymentPlan.PENDING:
        txs.append(_Tx("SALE", "PENDING", "manual", shop.total, pres.total, at))
    elif plan is PaymentPlan.AUTHORIZED:
        txs.append(_Tx("AUTHORIZATION", "SUCCESS", card, shop.total, pres.total, at))
    elif plan is PaymentPlan.PARTIALLY_PAID:
        txs.append(_Tx("SALE", "SUCCESS", "manual", shop.partial_payment, pres.partial_payment, at))
    else:  # VOIDED
        txs.append(_Tx("AUTHORIZATION", "SUCCESS", card, shop.total, pres.total, at))
        void_at = spec.cancelled_at or at + timedelta(hours=1)
        txs.append(_Tx("VOID", "SUCCESS", card, shop.total, pres.total, void_at, 0))
    parent = len(txs) - 1
    return txs + _later_transactions(spec, views, card, parent, txs[parent].gateway)


def _later_transactions(
    spec: OrderSpec, views: _Views, card: str, parent: int, gateway: str
) -> list[_Tx]:
    """Refunds (children of the payment at `parent`, on its `gateway`) and edit charges."""
    shop, pres = views.shop, views.pres
    later: list[tuple[datetime, int, _Tx]] = []
    for k, refund in enumerate(spec.refunds):
        s_total, p_total = shop.refunds[k].total, pres.refunds[k].total
        if s_total != 0 or p_total != 0:
            tx = _Tx("REFUND", "SUCCESS", gateway, s_total, p_total, refund.created_at, parent)
            later.append((refund.created_at, 1, tx))
    for charge in spec.added_charges:  # an edit's charge before the refund of what it removed
        tx = _Tx(
            "SALE",
            "SUCCESS",
            card,
            charge.shop_amount,
            charge.presentment_amount,
            charge.created_at,
        )
        later.append((charge.created_at, 0, tx))
    later.sort(key=lambda entry: (entry[0], entry[1]))  # stable: refunds keep their order
    return [tx for _, _, tx in later]


def _materialise_transactions(
    txs: list[_Tx], views: _Views, spec: OrderSpec, number: int
) -> tuple[OrderTransaction, ...]:
    built: list[OrderTransaction] = []
    for t, tx in enumerate(txs):
        shop_amount = views.bag(tx.shop, tx.pres).shop_money
        built.append(
            OrderTransaction(
                id=gid("OrderTransaction", 68_000_000_000_000 + number * 100 + t),
                kind=tx.kind,
                status=tx.status,
                gateway=tx.gateway,
                formatted_gateway=_GATEWAY_NAMES.get(tx.gateway, tx.gateway),
                amount_set=views.bag(tx.shop, tx.pres),
                created_at=tx.at,
                processed_at=tx.at,
                test=spec.test,
                parent_transaction=built[tx.parent] if tx.parent is not None else None,
                authorization_code=f"AUTH{number:06d}{t}" if tx.kind == "AUTHORIZATION" else None,
                error_code=None,
                fees=transaction_fees(
                    number * 100 + t, tx.gateway, tx.kind, tx.status, shop_amount
                ),
            )
        )
    return tuple(built)


@dataclass(frozen=True, slots=True)
class MoneyMovement:
    """A successful sale, capture or refund of an order, as `build_order` numbers it."""

    position: int  # among the order's transactions: its id is 68e12 + number x 100 + position
    kind: str  # SALE, CAPTURE or REFUND
    gateway: str
    shop_amount: Decimal
    at: datetime
    refund_index: int | None  # a REFUND's refund in the spec: its id is 950e9 + number x 100 + k


def money_movements(spec: OrderSpec) -> tuple[MoneyMovement, ...]:
    """The order's successful sales, captures and refunds, priced in the shop currency only.

    The transactions `build_order` gives, at the same positions (both come from
    `_transactions`), for a fraction of its cost: what the Shopify Payments ledger reads of an
    order. The presentment view is priced only when it decides something here: whether a
    refund whose shop amount is zero has a transaction.
    """
    shop = price_order(spec, shop_converter(spec.exchange_rate))
    pres = shop  # stands in for amounts nothing here reads
    if spec.exchange_rate != 1 and any(refund.total == 0 for refund in shop.refunds):
        pres = price_order(spec, presentment_identity)
    views = _Views(shop, pres, "", spec.presentment_currency)
    txs = _transactions(spec, views, "bogus" if spec.test else spec.gateway)
    with_transaction = iter(
        k
        for k, (s_ref, p_ref) in enumerate(zip(shop.refunds, pres.refunds, strict=True))
        if s_ref.total != 0 or p_ref.total != 0
    )
    movements: list[MoneyMovement] = []
    for position, tx in enumerate(txs):
        refund_index = next(with_transaction) if tx.kind == "REFUND" else None
        if tx.status == "SUCCESS" and tx.kind in {"SALE", "CAPTURE", "REFUND"}:
            movements.append(
                MoneyMovement(position, tx.kind, tx.gateway, tx.shop, tx.at, refund_index)
            )
    return tuple(movements)


def _sum_tx(txs: list[_Tx], kinds: tuple[str, ...]) -> tuple[Decimal, Decimal]:
    chosen = [t for t in txs if t.kind in kinds and t.status == "SUCCESS"]
    return sum((t.shop for t in chosen), ZERO), sum((t.pres for t in chosen), ZERO)


def _financial_status(
    plan: PaymentPlan, received: tuple[Decimal, Decimal], refunded: tuple[Decimal, Decimal]
) -> str:
    simple = {
        PaymentPlan.VOIDED: "VOIDED",
        PaymentPlan.PENDING: "PENDING",
        PaymentPlan.AUTHORIZED: "AUTHORIZED",
        PaymentPlan.PARTIALLY_PAID: "PARTIALLY_PAID",
    }
    if plan in simple:
        return simple[plan]
    if refunded[1] == 0:
        return "PAID"
    if refunded[1] >= received[1]:
        return "REFUNDED"
    return "PARTIALLY_REFUNDED"


def _fulfillment_status(spec: OrderSpec, refunded_qty: list[int], fulfilled_qty: list[int]) -> str:
    shippable = [
        (line.quantity - refunded_qty[i], fulfilled_qty[i])
        for i, line in enumerate(spec.lines)
        if line.requires_shipping
    ]
    if not any(done for _, done in shippable):
        return "UNFULFILLED"
    if all(done >= remaining for remaining, done in shippable):
        return "FULFILLED"
    return "PARTIALLY_FULFILLED"


def _customer(spec: OrderSpec) -> Customer | None:
    customer = spec.customer
    if customer is None:
        return None
    return Customer(
        id=gid("Customer", customer.legacy_id),
        legacy_resource_id=customer.legacy_id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        display_name=f"{customer.first_name} {customer.last_name}",
        email=customer.email,
        phone=customer.phone,
    )


def _address(address: AddressSpec | None) -> MailingAddress | None:
    if address is None:
        return None
    return MailingAddress(
        first_name=address.first_name,
        last_name=address.last_name,
        name=f"{address.first_name} {address.last_name}",
        company=address.company,
        address1=address.address1,
        address2=address.address2,
        city=address.city,
        province=address.province,
        province_code=address.province_code,
        zip=address.zip,
        country=address.country,
        country_code_v2=address.country_code,
        phone=address.phone,
    )


def order_updated_at(spec: OrderSpec) -> datetime:
    """The order's `updatedAt`: its latest change (creation, edit, refund, fulfilment, cancel)."""
    return max(
        [
            spec.created_at,
            *spec.edited_at,
            *(r.created_at for r in spec.refunds),
            *(f.created_at for f in spec.fulfillments),
            *([spec.cancelled_at] if spec.cancelled_at else []),
        ]
    )


# The actions of an order's timeline events (`order_events`); deletions are the shop's.
ORDER_EVENT_ACTIONS = frozenset(
    {"placed", "edited", "fulfillment_success", "refund_success", "cancelled"}
)


def order_events(spec: OrderSpec) -> tuple[BasicEvent, ...]:
    """The order's timeline events (built from the spec alone, without pricing the order)."""
    order_gid = gid("Order", spec.legacy_id)
    timeline: list[tuple[datetime, str, str]] = [(spec.created_at, "placed", "Order was placed.")]
    timeline += [(at, "edited", "Order was edited.") for at in spec.edited_at]
    timeline += [
        (f.created_at, "fulfillment_success", "Items were fulfilled.") for f in spec.fulfillments
    ]
    timeline += [(r.created_at, "refund_success", "A refund was issued.") for r in spec.refunds]
    if spec.cancelled_at:
        timeline.append((spec.cancelled_at, "cancelled", "Order was cancelled."))
    timeline.sort(key=lambda event: event[0])
    events = []
    for k, (at, action, message) in enumerate(timeline):
        legacy = 90_000_000_000_000 + spec.number * 100 + k
        events.append(
            BasicEvent(
                id=gid("BasicEvent", legacy),
                legacy_id=legacy,
                action=action,
                created_at=at,
                message=message,
                subject_id=order_gid,
                subject_type="ORDER",
            )
        )
    return tuple(events)
