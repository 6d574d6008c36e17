"""The seeded store: a pure function of (seed, order count, store profile).

Orders are spread over the 90 days before a fixed reference date (no wall clock), ids increase
with creation time, and refunds created later get later ids (orders and refunds share WordPress's
post ids). Every status appears in the first nine orders; the rest follow a realistic mix.
Also covered: guest checkouts, lines with and without SKU, the three coupon types, shipping with
and without tax, fees, several tax rates per line, compound rates (ca store), tax-inclusive
prices (eu store), non-ASCII names and addresses, a few very large orders (hundreds of lines),
orders edited after creation, refunds of lines, of shipping and of a bare amount, trashed orders.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from kconnector_sandbox.woocommerce.gateway_fees import record_payment_fees, record_refund_fees
from kconnector_sandbox.woocommerce.order_documents import (
    Document,
    IdSequence,
    OrderFacts,
    build_order_document,
    parse_gmt,
    refunded_amount,
    set_dates,
)
from kconnector_sandbox.woocommerce.order_math import (
    CartSpec,
    CouponKind,
    CouponSpec,
    FeeSpec,
    LineSpec,
    compute_order,
)
from kconnector_sandbox.woocommerce.people import empty_address, person
from kconnector_sandbox.woocommerce.refund_documents import (
    RefundError,
    RefundLine,
    RefundRequest,
    apply_refund,
    build_refund,
)
from kconnector_sandbox.woocommerce.tax_math import round_cents

if TYPE_CHECKING:
    from kconnector_sandbox.woocommerce.store_profiles import StoreProfile

REFERENCE_DATE = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
HISTORY_DAYS = 90
ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
    "checkout-draft",
)
_STATUS_WEIGHTS = (5, 15, 5, 55, 5, 4, 4, 3, 4)
_LARGE_ORDER_EVERY = 333
_PAID_STATUSES = frozenset({"processing", "completed", "refunded"})
_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)
_COUPON_KINDS: tuple[CouponKind, ...] = ("percent", "fixed_cart", "fixed_product")
_REFUND_REASONS = (
    "",
    "Damaged in transit",
    "Customer changed mind",
    "Größe passt nicht",
    "Doublon",
)


@dataclass
class StoreData:
    """A generated store: orders (by id), refunds per order (newest first), the id counters."""

    profile: StoreProfile
    orders: dict[int, Document]
    refunds: dict[int, list[Document]]
    ids: IdSequence
    seed: int
    customers: dict[int, tuple[dict[str, str], dict[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _RefundPlan:
    order_id: int
    when: datetime
    request: RefundRequest
    full: bool = False


def _token(
    rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits
) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _cart(rng: random.Random, profile: StoreProfile, index: int) -> CartSpec:
    region = rng.choice(profile.regions)
    large = index % _LARGE_ORDER_EVERY == _LARGE_ORDER_EVERY - 1
    line_count = (
        rng.randint(150, 320) if large else rng.choices((1, 2, 3, 4, 6), (40, 30, 15, 10, 5))[0]
    )
    if large:
        products = [profile.catalog[n % len(profile.catalog)] for n in range(line_count)]
    else:
        products = rng.sample(list(profile.catalog), min(line_count, len(profile.catalog)))
    lines = tuple(
        LineSpec(product, rng.choices((1, 2, 3, 5, 12), (60, 25, 8, 5, 2))[0])
        for product in products
    )
    coupon = None
    if rng.random() < 0.2:  # noqa: PLR2004 - share of orders with a coupon
        kind: CouponKind = rng.choice(_COUPON_KINDS)
        amounts = {
            "percent": ("10", "15", "20"),
            "fixed_cart": ("5.00", "10.00", "25.00"),
            "fixed_product": ("1.50", "2.00", "3.00"),
        }[kind]
        amount = Decimal(rng.choice(amounts))
        code = {"percent": "SAVE", "fixed_cart": "TAKE", "fixed_product": "ITEM"}[kind]
        coupon = CouponSpec(f"{code.lower()}{amount.normalize():f}".replace(".", ""), kind, amount)
    shipping = rng.choice(profile.shipping_methods) if rng.random() < 0.85 else None  # noqa: PLR2004
    fees: tuple[FeeSpec, ...] = ()
    if rng.random() < 0.08:  # noqa: PLR2004 - share of orders with a fee
        fees = (
            rng.choice(
                (
                    FeeSpec("Gift wrap", Decimal("4.95"), taxable=True),
                    FeeSpec("Payment surcharge", Decimal("2.50"), taxable=False),
                )
            ),
        )
    return CartSpec(lines=lines, region=region, shipping=shipping, coupon=coupon, fees=fees)


def _timeline(
    rng: random.Random, status: str, created: datetime
) -> tuple[datetime | None, datetime | None, datetime]:
    paid = completed = None
    if status in _PAID_STATUSES or status == "trash":
        paid = created + timedelta(seconds=rng.randint(3, 90))
    if status in {"completed", "refunded", "trash"} and paid is not None:
        completed = max(paid, min(paid + timedelta(hours=rng.randint(1, 72)), REFERENCE_DATE))
    modified = max(moment for moment in (created, paid, completed) if moment is not None)
    if rng.random() < 0.25:  # noqa: PLR2004 - share of orders edited later
        modified = max(
            modified, min(modified + timedelta(days=rng.uniform(0.5, 20)), REFERENCE_DATE)
        )
    return paid, completed, modified


def _payment(rng: random.Random, profile: StoreProfile, status: str) -> tuple[str, str, str]:
    if status == "checkout-draft":
        return "", "", ""
    if status == "on-hold":
        method = next(
            (m for m in profile.payment_methods if m[0] == "bacs"), profile.payment_methods[0]
        )
    else:
        method = rng.choice(profile.payment_methods)
    transaction = ""
    if status in _PAID_STATUSES or status == "trash":
        if method[0] == "stripe":
            transaction = "ch_3" + _token(rng, 21)
        elif method[0] == "ppcp-gateway":
            transaction = _token(rng, 17, string.ascii_uppercase + string.digits)
    return method[0], method[1], transaction


def _order(  # noqa: PLR0913 - generation context
    rng: random.Random,
    data: StoreData,
    index: int,
    created: datetime,
    plans: list[_RefundPlan],
    *,
    status: str | None = None,
) -> Document:
    profile = data.profile
    if status is None:
        status = (
            ORDER_STATUSES[index]
            if index < len(ORDER_STATUSES)
            else rng.choices(ORDER_STATUSES, _STATUS_WEIGHTS)[0]
        )
    cart = _cart(rng, profile, index)
    order_id = data.ids.post()
    guest = rng.random() < 0.3 or status == "checkout-draft"  # noqa: PLR2004 - guest share
    customer_id = 0 if guest else rng.randint(2, 400)
    if guest:
        billing, shipping = person(rng, cart.region, order_id)
    else:
        if customer_id not in data.customers:
            customer_rng = random.Random(f"{data.seed}:{profile.key}:customer:{customer_id}")  # noqa: S311
            data.customers[customer_id] = person(customer_rng, cart.region, customer_id)
        billing, shipping = (dict(part) for part in data.customers[customer_id])
    if status == "checkout-draft":
        billing, shipping = empty_address(with_email=True), empty_address(with_email=False)
    if cart.shipping is None:
        shipping = empty_address(with_email=False)
    method, title, transaction = _payment(rng, profile, status)
    paid, completed, modified = _timeline(rng, status, created)
    facts = OrderFacts(
        order_id=order_id,
        status="completed" if status == "refunded" else status,
        created=created,
        modified=modified,
        paid=paid,
        completed=completed,
        customer_id=customer_id,
        billing=billing,
        shipping=shipping,
        payment_method=method,
        payment_method_title=title,
        transaction_id=transaction,
        order_key="wc_order_" + _token(rng, 13),
        created_via="store-api" if status == "checkout-draft" else "checkout",
        customer_note=rng.choice(("", "", "", "Bitte nicht klingeln.", "Leave at the back door ☺")),
        customer_ip_address=f"203.0.113.{rng.randint(1, 254)}",
        customer_user_agent=_USER_AGENT,
        meta_data=[
            {"id": data.ids.meta(), "key": "is_vat_exempt", "value": "no"},
            {
                "id": data.ids.meta(),
                "key": "_wc_order_attribution_source_type",
                "value": rng.choice(("organic", "typein", "utm", "referral")),
            },
        ],
    )
    document = build_order_document(facts, cart, compute_order(cart, profile), profile, data.ids)
    record_payment_fees(document, data.ids)
    if status == "trash":
        document["status"] = "trash"
        document["meta_data"].extend(
            [
                {"id": data.ids.meta(), "key": "_wp_trash_meta_status", "value": "wc-completed"},
                {
                    "id": data.ids.meta(),
                    "key": "_wp_trash_meta_time",
                    "value": str(int(modified.timestamp())),
                },
            ]
        )
    plans.extend(_refund_plans(rng, document, status, paid or created))
    return document


def _refund_plans(
    rng: random.Random, order: Document, status: str, since: datetime
) -> list[_RefundPlan]:
    order_id = int(order["id"])
    when = max(since, min(since + timedelta(days=rng.uniform(0.2, 20)), REFERENCE_DATE))
    reason = rng.choice(_REFUND_REASONS)
    if status == "refunded":
        full = RefundRequest(
            reason=reason,
            lines=tuple(
                RefundLine(int(line["id"]), int(line["quantity"])) for line in order["line_items"]
            ),
            refund_shipping=True,
        )
        return [_RefundPlan(order_id, when, full, full=True)]
    if status not in {"completed", "processing", "trash"} or rng.random() >= 0.12:  # noqa: PLR2004
        return []
    kind = rng.choice(("line", "shipping", "amount"))
    if kind == "shipping" and order["shipping_lines"] and order["shipping_total"] != "0.00":
        return [_RefundPlan(order_id, when, RefundRequest(reason=reason, refund_shipping=True))]
    if kind == "line":
        line = rng.choice(order["line_items"])
        quantity = rng.randint(1, int(line["quantity"]))
        request = RefundRequest(reason=reason, lines=(RefundLine(int(line["id"]), quantity),))
        return [_RefundPlan(order_id, when, request)]
    amount = max(round_cents(Decimal(order["total"]) * Decimal("0.1")), Decimal("0.01"))
    return [_RefundPlan(order_id, when, RefundRequest(reason=reason or "Goodwill", amount=amount))]


def _try_refund(data: StoreData, order: Document, request: RefundRequest, when: datetime) -> bool:
    timezone = data.profile.timezone
    try:
        refund = build_refund(
            order, request, refund_id=data.ids.post(), created=when, timezone=timezone, ids=data.ids
        )
    except RefundError:
        return False
    trashed = order["status"] == "trash"
    modified = max(when, parse_gmt(order["date_modified_gmt"]))
    apply_refund(order, refund, modified=modified, timezone=timezone)
    record_refund_fees(order, refund, data.ids)
    if trashed:
        order["status"] = "trash"
    data.refunds.setdefault(int(order["id"]), []).insert(0, refund)
    return True


def _apply_plans(data: StoreData, plans: list[_RefundPlan]) -> None:
    """Create the planned refunds in time order, so refund ids follow their dates."""
    for plan in sorted(plans, key=lambda p: (p.when, p.order_id)):
        order = data.orders[plan.order_id]
        _try_refund(data, order, plan.request, plan.when)
        remaining = Decimal(order["total"]) - refunded_amount(order)
        if plan.full and remaining > 0:
            # Lines and shipping refunded in full can leave cents behind (fees, per-line
            # rounding); the rest goes back as an amount-only refund, as a merchant would do it.
            later = min(plan.when + timedelta(minutes=1), REFERENCE_DATE)
            request = RefundRequest(reason="Remaining balance", amount=remaining)
            _try_refund(data, order, request, later)


def generate_store(
    seed: int, order_count: int, profile: StoreProfile, *, refunds: bool = True
) -> StoreData:
    """The seeded store: same (seed, order_count, profile), same orders, byte for byte.

    `refunds=False` is the same store as if nothing was ever refunded (benchmarks of a store
    without refunds): the orders that would have been refunded stay as they were.
    """
    rng = random.Random(f"woocommerce:{seed}:{profile.key}")  # noqa: S311 - reproducible test data
    start = REFERENCE_DATE - timedelta(days=HISTORY_DAYS)
    span = int(timedelta(days=HISTORY_DAYS).total_seconds())
    offsets = sorted(rng.randrange(span) for _ in range(order_count))
    data = StoreData(profile=profile, orders={}, refunds={}, ids=IdSequence(), seed=seed)
    plans: list[_RefundPlan] = []
    for index, offset in enumerate(offsets):
        created = start + timedelta(seconds=offset)
        document = _order(rng, data, index, created, plans)
        data.orders[int(document["id"])] = document
    if refunds:
        _apply_plans(data, plans)
    return data


def new_order(data: StoreData, created: datetime, status: str = "processing") -> Document:
    """One more order placed at `created` (admin API); paid at once when its status says so.

    Deterministic for a given store and number of orders already in it.
    """
    rng = random.Random(f"woocommerce:{data.seed}:{data.profile.key}:admin:{data.ids.next_post_id}")  # noqa: S311
    document = _order(rng, data, len(ORDER_STATUSES) + len(data.orders), created, [], status=status)
    timezone = data.profile.timezone
    set_dates(document, "date_modified", created, timezone)
    for name in ("date_paid", "date_completed"):
        if document[name] is not None:
            set_dates(document, name, created, timezone)
    if status == "trash":
        document["status"] = "trash"
    data.orders[int(document["id"])] = document
    return document
