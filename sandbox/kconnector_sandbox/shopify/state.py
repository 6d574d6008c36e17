"""A seeded shop's live state.

Its orders (an `OrderBook`: compact, each built when read), deletions, scopes, availability,
throttle bucket and bulk operations. All changes go through methods that rebuild the changed order
and report the change (for webhooks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from kconnector_sandbox.shopify.build import ORDER_EVENT_ACTIONS, build_order
from kconnector_sandbox.shopify.bulk import BulkFailure, BulkOperationRecord
from kconnector_sandbox.shopify.cost import LeakyBucket
from kconnector_sandbox.shopify.generator import ORDER_ID_BASE, REFERENCE_DATE, generate_specs
from kconnector_sandbox.shopify.model import BasicEvent, Order, Refund, gid
from kconnector_sandbox.shopify.node_index import (
    DELETION_EVENT_BASE,
    find_owned,
    find_shop_object,
    owner_order_id,
)
from kconnector_sandbox.shopify.order_book import (
    BuiltOrders,
    OrderBook,
    OrderNotFoundError,
    OrderSummary,
)
from kconnector_sandbox.shopify.order_changes import InvalidChangeError, edited_lines
from kconnector_sandbox.shopify.payments import (
    CARD_RATES,
    PaymentsLedger,
    keep_paid,
    ledger_of_charges,
)
from kconnector_sandbox.shopify.spec import AddedChargeSpec, OrderSpec, PaymentPlan, RefundSpec

if TYPE_CHECKING:
    from decimal import Decimal

    from kconnector_sandbox.shopify.profiles import StoreProfile

# https://shopify.dev/docs/api/admin-graphql/latest/objects/Order: without read_all_orders only
# the last 60 days of orders are accessible.
RECENT_ORDERS_WINDOW = timedelta(days=60)
DEFAULT_SCOPES = (
    "read_orders",
    "read_all_orders",
    "read_customers",
    "read_products",
    "read_shopify_payments_accounts",
    "read_shopify_payments_payouts",
)
# Query results kept between pages (a tap pages through a few queries at a time).
MAX_LISTINGS = 16

T = TypeVar("T")


class ShopStatus(StrEnum):
    """Availability of the shop, set from the admin API."""

    ACTIVE = "active"
    FROZEN = "frozen"  # 402 Payment Required
    LOCKED = "locked"  # 423 Locked
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - a state name, not a secret (answers 401)
    UNAVAILABLE = "unavailable"  # 503
    ERROR = "error"  # 500


__all__ = ["InvalidChangeError", "OrderNotFoundError", "ShopState"]


class ShopClock:
    """The shop's "now": the reference date plus real time elapsed since the emulator started."""

    def __init__(
        self, start: datetime = REFERENCE_DATE, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        """Start at `start`."""
        self._start = start
        self._monotonic = monotonic
        self._t0 = monotonic()

    @property
    def start(self) -> datetime:
        """Where the clock started: the end of the seeded history."""
        return self._start

    def now(self) -> datetime:
        """The current shop time (UTC, whole seconds)."""
        elapsed = self._monotonic() - self._t0
        return (self._start + timedelta(seconds=elapsed)).replace(microsecond=0)

    def monotonic(self) -> float:
        """Monotonic seconds (for durations)."""
        return self._monotonic()


ChangeListener = Callable[["ShopState", str, Order, Refund | None], None]


@dataclass
class ShopState:
    """One shop."""

    profile: StoreProfile
    clock: ShopClock
    time_scale: float
    seed: int = 0
    book: OrderBook | None = None  # the seeded orders (an empty shop when None)
    deletions: list[BasicEvent] = field(default_factory=list)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    status: ShopStatus = ShopStatus.ACTIVE
    bulk_operations: list[BulkOperationRecord] = field(default_factory=list)
    next_bulk_failure: BulkFailure = BulkFailure.NONE
    listeners: list[ChangeListener] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    bucket: LeakyBucket = field(init=False)
    # Bumped by every change to the orders; listings computed at an older revision are stale.
    revision: int = field(default=0, init=False)
    _listings: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False)
    _listings_revision: int = field(default=0, init=False, repr=False)
    # The Shopify Payments ledger and the revision it was built at (built on first use), and
    # when the orders first changed after it was built (its payouts issued before are kept as
    # paid). Deleted orders' money stays in the payouts (the book keeps their charges).
    _ledger: tuple[int, PaymentsLedger | None] | None = field(default=None, init=False, repr=False)
    _changed_since_ledger: datetime | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Create the throttle bucket with the run's time scale."""
        self.bucket = LeakyBucket(time_scale=self.time_scale, clock=self.clock.monotonic)
        if self.book is None:
            self.book = OrderBook(self.profile, self.seed, 0)

    @property
    def orders(self) -> BuiltOrders:
        """The live orders by legacy id, each built when read (a view, not a copy)."""
        return BuiltOrders(self._book)

    @property
    def _book(self) -> OrderBook:
        book = self.book
        if book is None:  # set in __post_init__
            raise OrderNotFoundError(0)
        return book

    @classmethod
    def seeded(
        cls, profile: StoreProfile, seed: int, count: int, clock: ShopClock, time_scale: float
    ) -> ShopState:
        """A shop filled with `count` generated orders."""
        book = OrderBook.seeded(profile, seed, count)
        return cls(profile=profile, clock=clock, time_scale=time_scale, seed=seed, book=book)

    @property
    def tz(self) -> ZoneInfo:
        """The shop's time zone."""
        return ZoneInfo(self.profile.iana_timezone)

    def visible_summaries(self) -> list[OrderSummary]:
        """Orders the app may read with its scopes (60 days without read_all_orders), summarised.

        What searches and sorts read: no order is built.
        """
        with self.lock:
            summaries = self._book.summaries()
        if "read_all_orders" in self.scopes:
            return summaries
        cutoff = self.clock.now() - RECENT_ORDERS_WINDOW
        return [o for o in summaries if o.created_at >= cutoff]

    def visible_orders(self) -> list[Order]:
        """Orders the app may read with its scopes, built (every one: for small shops and tests)."""
        return [self._book.order(o.legacy_resource_id) for o in self.visible_summaries()]

    def listing(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()` computed once per `key` until the orders change (a query's sorted matches).

        Paging through a query re-runs it for every page; keeping its sorted result until the next
        change makes each page cost its own size instead of the whole shop's.
        """
        with self.lock:
            if self._listings_revision != self.revision:
                self._listings.clear()
                self._listings_revision = self.revision
            if key in self._listings:
                cached: T = self._listings[key]
                return cached
            revision = self.revision
        value = build()
        with self.lock:
            if self.revision == revision:
                if len(self._listings) >= MAX_LISTINGS:
                    self._listings.pop(next(iter(self._listings)))
                self._listings[key] = value
        return value

    def payments_ledger(self) -> PaymentsLedger | None:
        """The Shopify Payments payouts of the current orders; None without Shopify Payments.

        Written on first use from what each order moved through Shopify Payments (kept by the
        book since seeding, `OrderBook.charges`: no order is built) and kept until the orders
        change.
        """
        currency = self.profile.currency
        with self.lock:
            if self._ledger is not None and self._ledger[0] == self.revision:
                return self._ledger[1]
            revision = self.revision
            charges = self._book.charges()
            previous = self._ledger[1] if self._ledger is not None else None
            changed_at = self._changed_since_ledger
        ledger = (
            ledger_of_charges(charges, currency, self.tz, self.clock.start)
            if currency in CARD_RATES
            else None
        )
        if ledger is not None and previous is not None and changed_at is not None:
            ledger = keep_paid(previous, ledger, changed_at, self.tz)
        with self.lock:
            if self.revision == revision:
                self._ledger = (revision, ledger)
                self._changed_since_ledger = None
        return ledger

    def _changed(self) -> None:
        """Note a change to the orders (under the lock)."""
        self.revision += 1
        if self._ledger is not None and self._changed_since_ledger is None:
            self._changed_since_ledger = self.clock.now()

    def node(self, node_id: str) -> object | None:
        """The object with global id `node_id` the app may read, or None.

        The owning order is computed from the id (`node_index.py`) and built; customers,
        products and variants are found through an order that refers to them.
        """
        kind, _, number = node_id.removeprefix("gid://shopify/").partition("/")
        if not number.isdigit():
            return None
        legacy = int(number)
        if kind == "BasicEvent" and legacy >= DELETION_EVENT_BASE:
            with self.lock:
                return next((e for e in self.deletions if e.id == node_id), None)
        owner_id = owner_order_id(kind, legacy)
        shop_wide = owner_id is None
        with self.lock:
            if owner_id is None:
                owner_id = self._book.shop_object_owner(node_id)
            live = owner_id is not None and owner_id in self._book
            owner = self._book.order(owner_id) if live and owner_id is not None else None
        if owner is None or (not shop_wide and not self._readable(owner)):
            return None
        return find_shop_object(owner, node_id) if shop_wide else find_owned(owner, node_id)

    def _readable(self, order: Order | OrderSummary) -> bool:
        if "read_all_orders" in self.scopes:
            return True
        return order.created_at >= self.clock.now() - RECENT_ORDERS_WINDOW

    def is_live(self, legacy_id: int) -> bool:
        """Whether the order exists (not deleted)."""
        return legacy_id in self._book

    def find(self, legacy_id: int) -> Order:
        """A live order by id."""
        return self._book.order(legacy_id)

    # -- changes (admin) -------------------------------------------------------------------------

    def _stamp(self, spec: OrderSpec) -> datetime:
        """A change time strictly after everything already on the order."""
        current = (
            self._book.summary(spec.legacy_id).updated_at
            if spec.legacy_id in self._book
            else spec.created_at
        )
        return max(self.clock.now(), current + timedelta(seconds=1))

    def _store(self, spec: OrderSpec, topic: str, refund_index: int | None = None) -> Order:
        order = self._book.put(spec)
        self._changed()
        refund = order.refunds[refund_index] if refund_index is not None else None
        for listener in self.listeners:
            listener(self, topic, order, refund)
        return order

    def create_order(self, template_index: int = 0) -> Order:
        """A new order placed now, shaped like generator case `template_index` (0: paid)."""
        with self.lock:
            # the n-th case of a store seeded differently from the run's (so it is a new order)
            source = generate_specs(self.seed + 10_000, template_index + 1, self.profile)[
                template_index
            ]
            number = self._book.max_number + 1
            now = self.clock.now()
            spec = replace(
                source,
                number=number,
                legacy_id=ORDER_ID_BASE + number,
                created_at=now,
                refunds=(),
                fulfillments=(),
                edited_at=(),
                cancelled_at=None,
                cancel_reason=None,
            )
            return self._store(spec, "orders/create")

    def edit_order(
        self,
        legacy_id: int,
        *,
        note: str | None = None,
        tags: tuple[str, ...] | None = None,
        email: str | None = None,
        quantities: dict[int, int] | None = None,
    ) -> Order:
        """Edit an order; bumps updatedAt. Quantity changes reprice the order.

        On a paid order, money already taken never changes (a paid payout keeps its charges;
        "if an edit changes the total order value, then the customer might need to pay a
        balance or receive a refund", https://shopify.dev/docs/api/admin-graphql/latest/mutations/orderEditCommit):
        `quantities` set each line's current quantity; units added are charged as a new sale of
        the difference, units removed are refunded (a refund of those units, so
        `LineItem.quantity` keeps them and `currentQuantity` drops, as Shopify counts removed
        units). On an unpaid order they set the line's quantity.
        """
        with self.lock:
            spec = self._spec(legacy_id)
            paid = spec.payment in {PaymentPlan.SALE, PaymentPlan.AUTHORIZE_CAPTURE}
            lines, removed = edited_lines(spec, quantities or {}, paid=paid)
            at = self._stamp(spec)
            edited = replace(
                spec,
                note=spec.note if note is None else note,
                tags=spec.tags if tags is None else tags,
                email=spec.email if email is None else email,
                lines=lines,
                edited_at=(*spec.edited_at, at),
            )
            if not paid:
                return self._store(edited, "orders/updated")
            before = self._book.order(legacy_id).total_price_set
            after = build_order(edited, self.profile.currency).total_price_set
            shop_delta = after.shop_money.amount - before.shop_money.amount
            presentment_delta = after.presentment_money.amount - before.presentment_money.amount
            if shop_delta > 0 or presentment_delta > 0:
                charge = AddedChargeSpec(at, shop_delta, presentment_delta)
                edited = replace(edited, added_charges=(*spec.added_charges, charge))
            if not removed:
                return self._store(edited, "orders/updated")
            refund = RefundSpec(at, removed, note="Removed by an order edit", restock=True)
            edited = replace(edited, refunds=(*edited.refunds, refund))
            return self._store(edited, "refunds/create", refund_index=len(edited.refunds) - 1)

    def refund_order(
        self,
        legacy_id: int,
        *,
        lines: tuple[tuple[int, int], ...] = (),
        shipping: bool = False,
        amount: Decimal | None = None,
        note: str | None = None,
    ) -> Order:
        """Refund line quantities, the shipping, and/or an amount with no lines."""
        with self.lock:
            spec = self._spec(legacy_id)
            if spec.payment not in {PaymentPlan.SALE, PaymentPlan.AUTHORIZE_CAPTURE}:
                msg = "only paid orders can be refunded in the sandbox"
                raise InvalidChangeError(msg)
            refunded = dict.fromkeys(range(len(spec.lines)), 0)
            for refund in spec.refunds:
                for i, q in refund.lines:
                    refunded[i] += q
            for i, q in lines:
                if i not in refunded or q < 1 or refunded[i] + q > spec.lines[i].quantity:
                    msg = f"line {i} has no {q} refundable units left"
                    raise InvalidChangeError(msg)
            at = self._stamp(spec)
            refund = RefundSpec(at, lines, shipping=shipping, amount_only=amount, note=note)
            spec = replace(spec, refunds=(*spec.refunds, refund))
            candidate = build_order(spec, self.profile.currency)
            refunded_total = candidate.total_refunded_set.presentment_money.amount
            if refunded_total > candidate.total_received_set.presentment_money.amount:
                msg = "the refund would return more than the order received"
                raise InvalidChangeError(msg)
            return self._store(spec, "refunds/create", refund_index=len(spec.refunds) - 1)

    def cancel_order(self, legacy_id: int, reason: str = "CUSTOMER") -> Order:
        """Cancel: void an authorization, or refund everything left on a paid order."""
        with self.lock:
            spec = self._spec(legacy_id)
            if spec.cancelled_at is not None:
                msg = "order is already cancelled"
                raise InvalidChangeError(msg)
            at = self._stamp(spec)
            if spec.payment in {PaymentPlan.AUTHORIZED, PaymentPlan.VOIDED}:
                spec = replace(
                    spec, payment=PaymentPlan.VOIDED, cancelled_at=at, cancel_reason=reason
                )
            elif spec.payment in {PaymentPlan.SALE, PaymentPlan.AUTHORIZE_CAPTURE}:
                refunded = dict.fromkeys(range(len(spec.lines)), 0)
                for refund in spec.refunds:
                    for i, q in refund.lines:
                        refunded[i] += q
                remaining = tuple(
                    (i, line.quantity - refunded[i])
                    for i, line in enumerate(spec.lines)
                    if line.quantity > refunded[i]
                )
                refund = RefundSpec(at, remaining, shipping=bool(spec.shipping_lines))
                spec = replace(
                    spec,
                    refunds=(*spec.refunds, refund),
                    cancelled_at=at,
                    cancel_reason=reason,
                )
            else:
                spec = replace(spec, cancelled_at=at, cancel_reason=reason)
            return self._store(spec, "orders/cancelled")

    def delete_order(self, legacy_id: int) -> BasicEvent:
        """Delete: the order disappears; an ``action: destroy`` event records it."""
        with self.lock:
            order = self.find(legacy_id)
            self._book.remove(legacy_id)  # its charges and refunds stay in the payouts
            self._changed()
            legacy = DELETION_EVENT_BASE + len(self.deletions)
            event = BasicEvent(
                id=gid("BasicEvent", legacy),
                legacy_id=legacy,
                action="destroy",
                created_at=max(self.clock.now(), order.updated_at),
                message=f"Order {order.name} was deleted.",
                subject_id=order.id,
                subject_type="ORDER",
            )
            self.deletions.append(event)
            for listener in self.listeners:
                listener(self, "orders/delete", order, None)
            return event

    def _spec(self, legacy_id: int) -> OrderSpec:
        return self._book.spec(legacy_id)

    def all_events(self, action: str | None = None) -> list[BasicEvent]:
        """Order timeline events of live orders plus deletion events (only `action`'s if given).

        An action no order timeline has (``destroy``) reads no order at all.
        """
        with self.lock:
            ids = self._book.ids() if action is None or action in ORDER_EVENT_ACTIONS else []
            deletions = list(self.deletions)
        events = [e for legacy_id in ids for e in self._events_of(legacy_id)]
        found = [*events, *deletions]
        return found if action is None else [e for e in found if e.action == action]

    def _events_of(self, legacy_id: int) -> tuple[BasicEvent, ...]:
        try:
            return self._book.events(legacy_id)
        except OrderNotFoundError:
            return ()


def utc_now_iso(clock: ShopClock) -> str:
    """The shop time as an ISO string with Z."""
    return clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z")
