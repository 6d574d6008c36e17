"""Seeded order generator: a pure function of (seed, order count, store profile).

Every case the connector must handle appears in the first orders of each shop (see `CASES`), then
orders are drawn from weighted scenarios. Each order has its own random stream (derived from the
seed, the shop and the order's index), so a bigger store contains a smaller one's orders. Orders
are spread over the 90 days before `REFERENCE_DATE`; nothing reads the wall clock.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from kconnector_sandbox.shopify.pricing import presentment_identity, price_order, round_money
from kconnector_sandbox.shopify.profiles import GIFT_CARD, Place, Product, StoreProfile
from kconnector_sandbox.shopify.spec import (
    AddressSpec,
    CustomerSpec,
    DiscountKind,
    DiscountSpec,
    DiscountTarget,
    FulfillmentSpec,
    LineSpec,
    OrderSpec,
    PaymentPlan,
    RefundSpec,
    ShippingSpec,
)

REFERENCE_DATE = datetime(2026, 3, 31, 12, 0, 0, tzinfo=UTC)
SPAN = timedelta(days=90)
FIRST_ORDER_NUMBER = 1001
ORDER_ID_BASE = 5_300_000_000_000

# The cases guaranteed to appear (in this order) in the first orders of every shop.
CASES: tuple[str, ...] = (
    "paid",
    "multi_line_mixed_sku",
    "line_discount",
    "order_discount_code",
    "order_fixed_discount",
    "free_shipping_code",
    "shipping_discount",
    "pending",
    "authorized",
    "partially_paid",
    "refunded",
    "partially_refunded",
    "refund_shipping",
    "refund_amount_only",
    "voided",
    "cancelled",
    "gift_card_sold",
    "gift_card_payment",
    "guest",
    "tip",
    "presentment",
    "edited",
    "partial_fulfillment",
    "test",
    "large",
    "authorize_capture",
    "multi_refund",
    "digital_only",
)

_WEIGHTED: tuple[tuple[str, int], ...] = (
    ("paid", 40),
    ("multi_line_mixed_sku", 8),
    ("line_discount", 5),
    ("order_discount_code", 6),
    ("order_fixed_discount", 3),
    ("free_shipping_code", 3),
    ("shipping_discount", 2),
    ("pending", 3),
    ("authorized", 3),
    ("partially_paid", 1),
    ("refunded", 3),
    ("partially_refunded", 4),
    ("refund_shipping", 1),
    ("refund_amount_only", 1),
    ("voided", 1),
    ("cancelled", 2),
    ("gift_card_sold", 1),
    ("gift_card_payment", 2),
    ("guest", 5),
    ("tip", 2),
    ("presentment", 4),
    ("edited", 5),
    ("partial_fulfillment", 3),
    ("test", 1),
    ("authorize_capture", 4),
    ("multi_refund", 1),
    ("digital_only", 2),
)
_LARGE_ORDER_CHANCE = 0.002
_FULFILLED_SHARE = 0.7

_FIRST = (
    "Ana", "José", "Zoë", "Łukasz", "Siobhán", "François", "Mei", "Aarav", "Olivia", "Noah",
    "Chloé", "Björn", "Anaïs", "Dmitri", "Yuki", "Fatima", "Søren", "Renée", "Mateo", "Émile",
)  # fmt: skip
_LAST = (
    "López", "Ødegaard", "Wąsik", "Ní Bhriain", "Lefèvre", "田中", "Patel", "Smith", "Nguyễn",
    "Müller", "Johnson", "O'Brien", "García", "Kowalczyk", "Дмитриев", "Brown",
)  # fmt: skip
_STREETS = (
    "1 Main St", "742 Evergreen Terrace", "221B Baker Street", "12 Rue de la Paix",
    "Königstraße 5", "58 Ørstedsvej", "9 Calle Núñez", "3-1 Jingūmae",
    "77 Chemin Côte-Sainte-Catherine",
)  # fmt: skip
_NO_REFUND = frozenset({"pending", "authorized", "partially_paid", "voided", "gift_card_payment"})


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _customer(seed: int, profile: StoreProfile, index: int) -> CustomerSpec:
    rng = random.Random(f"kconnector-shopify:{seed}:{profile.key}:customer:{index}")  # noqa: S311
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = f"{_ascii(first) or 'buyer'}.{_ascii(last) or 'customer'}{index}"
    return CustomerSpec(
        legacy_id=7_000_000_000_000 + index,
        first_name=first,
        last_name=last,
        email=f"{local}@example.com",
        phone=f"+1555{rng.randrange(10**6, 10**7)}" if rng.random() < 0.6 else None,  # noqa: PLR2004
    )


def _address(rng: random.Random, first: str, last: str, place: Place) -> AddressSpec:
    return AddressSpec(
        first_name=first,
        last_name=last,
        address1=rng.choice(_STREETS),
        address2="Apt 4B" if rng.random() < 0.2 else None,  # noqa: PLR2004
        city=place.city,
        province=place.province,
        province_code=place.province_code,
        zip=place.zip,
        country=place.country,
        country_code=place.country_code,
        phone=None,
    )


def _line(product: Product, quantity: int, rate: Decimal) -> LineSpec:
    return LineSpec(
        title=product.title,
        variant_title=product.variant_title,
        sku=product.sku,
        vendor=product.vendor,
        unit_price=round_money(product.price * rate),
        quantity=quantity,
        taxable=not product.is_gift_card,
        requires_shipping=product.requires_shipping,
        is_gift_card=product.is_gift_card,
        product_deleted=product.deleted,
    )


def _later(rng: random.Random, start: datetime, max_days: float) -> datetime:
    """A second-precision instant after `start`, never after the reference date."""
    room = max((REFERENCE_DATE - start).total_seconds() - 1, 1)
    seconds = rng.uniform(60, max(60.0, min(room, max_days * 86_400)))
    return min(start + timedelta(seconds=int(seconds)), REFERENCE_DATE)


def _scenario(rng: random.Random, index: int) -> str:
    if index < len(CASES):
        return CASES[index]
    if rng.random() < _LARGE_ORDER_CHANCE:
        return "large"
    names = [name for name, _ in _WEIGHTED]
    return rng.choices(names, weights=[w for _, w in _WEIGHTED])[0]


def _order_spec(  # noqa: C901, PLR0912, PLR0915 - one scenario table, read top to bottom
    seed: int, profile: StoreProfile, index: int, customers: int
) -> OrderSpec:
    rng = random.Random(f"kconnector-shopify:{seed}:{profile.key}:order:{index}")  # noqa: S311
    scenario = _scenario(rng, index)
    place = rng.choice(profile.places)
    if scenario == "presentment":
        currency, rate, _ = rng.choice(
            [p for p in profile.presentments if p[0] != profile.currency]
        )
    else:
        currency, rate, _ = rng.choices(
            profile.presentments, weights=[w for *_, w in profile.presentments]
        )[0]
    physical = [p for p in profile.products if p.requires_shipping]
    catalogue = list(profile.products)

    if scenario == "large":
        count = rng.randint(150, 300)
        lines = [_line(rng.choice(catalogue), rng.randint(1, 3), rate) for _ in range(count)]
    elif scenario == "digital_only":
        digital = [p for p in catalogue if not p.requires_shipping]
        lines = [_line(rng.choice(digital), rng.randint(1, 2), rate)]
    else:
        count = rng.choices([1, 2, 3, 4, 6], weights=[35, 30, 18, 12, 5])[0]
        if scenario in {"multi_line_mixed_sku", "partial_fulfillment", "partially_refunded"}:
            count = max(count, 3)
        lines = [_line(rng.choice(physical), rng.randint(1, 3), rate) for _ in range(count)]
        if scenario == "multi_line_mixed_sku":
            no_sku = [p for p in catalogue if p.sku is None and p.requires_shipping]
            lines.append(_line(rng.choice(no_sku), 1, rate))
    if scenario == "gift_card_sold":
        lines.append(_line(GIFT_CARD, 1, rate))

    discounts: list[DiscountSpec] = []
    if scenario == "line_discount" or (scenario == "paid" and rng.random() < 0.1):  # noqa: PLR2004
        target = rng.randrange(len(lines))
        discounts.append(
            DiscountSpec(
                DiscountKind.AUTOMATIC,
                "Spring sale",
                DiscountTarget.LINES,
                percentage=Decimal(rng.choice([10, 15, 20])),
                line_indexes=(target,),
            )
        )
    if scenario == "order_discount_code" or (scenario == "paid" and rng.random() < 0.1):  # noqa: PLR2004
        discounts.append(
            DiscountSpec(
                DiscountKind.CODE, "WELCOME10", DiscountTarget.ORDER, percentage=Decimal(10)
            )
        )
    eligible = sum(
        (line.unit_price * line.quantity for line in lines if not line.is_gift_card), Decimal(0)
    )
    if scenario == "order_fixed_discount":
        amount = round_money(Decimal(5) * rate)
        if eligible > amount * 2:
            kind = rng.choice([DiscountKind.CODE, DiscountKind.MANUAL])
            title = "SAVE5" if kind is DiscountKind.CODE else "Staff courtesy"
            discounts.append(DiscountSpec(kind, title, DiscountTarget.ORDER, amount=amount))

    shippable = any(line.requires_shipping for line in lines)
    shipping: list[ShippingSpec] = []
    if shippable:
        price = round_money(Decimal(rng.choice(["6.95", "9.99", "14.00"])) * rate)
        shipping.append(ShippingSpec("Standard Shipping", "STANDARD", price))
        if scenario == "free_shipping_code":
            discounts.append(
                DiscountSpec(
                    DiscountKind.CODE, "FREESHIP", DiscountTarget.SHIPPING, percentage=Decimal(100)
                )
            )
        elif scenario == "shipping_discount":
            off = round_money(Decimal(3) * rate)
            if price > off:
                discounts.append(
                    DiscountSpec(
                        DiscountKind.AUTOMATIC,
                        "Shipping promo",
                        DiscountTarget.SHIPPING,
                        amount=off,
                    )
                )

    guest = scenario == "guest" or rng.random() < 0.05  # noqa: PLR2004
    customer = None if guest else _customer(seed, profile, rng.randrange(customers))
    first = customer.first_name if customer else rng.choice(_FIRST)
    last = customer.last_name if customer else rng.choice(_LAST)
    email = customer.email if customer else f"guest.{index}@example.net"
    address = _address(rng, first, last, place)

    created = REFERENCE_DATE - timedelta(seconds=int(rng.uniform(3600, SPAN.total_seconds())))
    payment = PaymentPlan.SALE
    if scenario == "authorize_capture" or rng.random() < 0.05:  # noqa: PLR2004
        payment = PaymentPlan.AUTHORIZE_CAPTURE
    payment = {
        "pending": PaymentPlan.PENDING,
        "authorized": PaymentPlan.AUTHORIZED,
        "partially_paid": PaymentPlan.PARTIALLY_PAID,
        "voided": PaymentPlan.VOIDED,
    }.get(scenario, payment)
    tip = Decimal(0)
    if scenario == "tip":
        tip = round_money(Decimal(rng.choice(["2.00", "5.00"])) * rate)

    spec = OrderSpec(
        legacy_id=0,
        number=0,
        created_at=created,
        presentment_currency=currency,
        exchange_rate=rate,
        taxes_included=profile.taxes_included,
        tax_rates=place.tax_rates,
        lines=tuple(lines),
        payment=payment,
        email=email,
        customer=customer,
        billing_address=address,
        shipping_address=address if shippable else None,
        discounts=tuple(discounts),
        shipping_lines=tuple(shipping),
        tip=tip,
        test=scenario == "test",
        tags=("sandbox", scenario) if rng.random() < 0.3 else (),  # noqa: PLR2004
        source_name=rng.choices(["web", "pos", "shopify_draft_order"], weights=[90, 5, 5])[0],
        gateway=profile.card_gateway,
    )
    # Priced only where the total matters (pricing is most of a spec's cost; it draws nothing).
    if scenario == "gift_card_payment":
        total = price_order(spec, presentment_identity).total
        spec = replace(
            spec, gift_card_payment=min(round_money(Decimal(25) * rate), round_money(total / 2))
        )
    if scenario == "partially_paid":
        total = price_order(spec, presentment_identity).total
        spec = replace(spec, partial_payment=round_money(total / 2))

    everything = tuple((i, line.quantity) for i, line in enumerate(lines))
    refunds: list[RefundSpec] = []
    fulfillments: list[FulfillmentSpec] = []
    cancelled_at = None
    cancel_reason = None
    paid = payment in {PaymentPlan.SALE, PaymentPlan.AUTHORIZE_CAPTURE}
    shippable_lines = tuple(
        (i, line.quantity) for i, line in enumerate(lines) if line.requires_shipping
    )
    if scenario == "partial_fulfillment":
        fulfillments.append(
            FulfillmentSpec(_later(rng, created, 3), shippable_lines[:1], "UPS", f"1Z{index:012d}")
        )
    elif (
        paid
        and shippable_lines
        and scenario not in {"cancelled", "refunded"}
        and rng.random() < _FULFILLED_SHARE
    ):
        fulfillments.append(
            FulfillmentSpec(
                _later(rng, created, 4), shippable_lines, "Canada Post", f"CP{index:010d}"
            )
        )
    after_fulfilment = fulfillments[-1].created_at if fulfillments else created
    if scenario not in _NO_REFUND:
        if scenario == "refunded":
            refunds.append(
                RefundSpec(
                    _later(rng, after_fulfilment, 10),
                    everything,
                    shipping=True,
                    note="Customer returned everything",
                )
            )
        elif scenario == "partially_refunded":
            line_index = rng.randrange(len(lines))
            refunds.append(
                RefundSpec(
                    _later(rng, after_fulfilment, 10), ((line_index, 1),), note="Damaged item"
                )
            )
        elif scenario == "refund_shipping" and shipping:
            refunds.append(
                RefundSpec(_later(rng, after_fulfilment, 10), shipping=True, note="Late delivery")
            )
        elif scenario == "refund_amount_only":
            amount = round_money(lines[0].unit_price / 10) or Decimal("0.50")
            refunds.append(
                RefundSpec(_later(rng, after_fulfilment, 10), amount_only=amount, note="Goodwill")
            )
        elif scenario == "multi_refund":
            first_refund = _later(rng, after_fulfilment, 5)
            refunds.append(RefundSpec(first_refund, ((0, 1),), note="Wrong size"))
            refunds.append(
                RefundSpec(
                    _later(rng, first_refund, 5),
                    shipping=bool(shipping),
                    # goodwill only while something is left unrefunded, never over-refunding
                    amount_only=round_money(Decimal(1) * rate)
                    if len(lines) > 1 or lines[0].quantity > 1
                    else None,
                    note="Shipping and goodwill",
                )
            )
        elif scenario == "cancelled":
            cancelled_at = _later(rng, created, 2)
            cancel_reason = rng.choice(["CUSTOMER", "INVENTORY", "FRAUD"])
            refunds.append(
                RefundSpec(
                    cancelled_at, everything, shipping=bool(shipping), note=None, restock=True
                )
            )
    if scenario == "voided":
        cancelled_at = _later(rng, created, 1)
        cancel_reason = "DECLINED"
    if scenario in {"refunded", "cancelled"}:
        spec = replace(spec, tip=Decimal(0))
    edited: list[datetime] = []
    if scenario == "edited" or rng.random() < 0.05:  # noqa: PLR2004
        edited.append(_later(rng, created, 15))
    return replace(
        spec,
        refunds=tuple(refunds),
        fulfillments=tuple(fulfillments),
        cancelled_at=cancelled_at,
        cancel_reason=cancel_reason,
        edited_at=tuple(edited),
        note="Leave at the side door, s'il vous plaît" if edited else None,
    )


def customer_count(count: int) -> int:
    """How many customers a shop of `count` orders draws its buyers from."""
    return max(5, count // 3)


def unnumbered_spec(seed: int, profile: StoreProfile, index: int, count: int) -> OrderSpec:
    """Order `index` of a shop of `count` orders, before it is numbered (a pure function)."""
    return _order_spec(seed, profile, index, customer_count(count))


def creation_key(spec: OrderSpec) -> tuple[datetime, str, int]:
    """Orders are numbered in this order (ties keep their generator index order)."""
    return (spec.created_at, spec.lines[0].title, len(spec.lines))


def numbered(spec: OrderSpec, rank: int) -> OrderSpec:
    """The spec numbered as the shop's `rank`-th order (#1001 first)."""
    number = FIRST_ORDER_NUMBER + rank
    return replace(spec, number=number, legacy_id=ORDER_ID_BASE + number)


def generate_specs(seed: int, count: int, profile: StoreProfile) -> list[OrderSpec]:
    """The shop's orders as specs, numbered #1001.. in creation order.

    Args:
        seed: the run's seed.
        count: how many orders.
        profile: which shop.

    Returns:
        `count` order specs, sorted by creation time.
    """
    specs = [unnumbered_spec(seed, profile, index, count) for index in range(count)]
    specs.sort(key=creation_key)
    return [numbered(spec, rank) for rank, spec in enumerate(specs)]
