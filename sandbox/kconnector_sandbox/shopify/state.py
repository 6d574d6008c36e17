"""A seeded shop's live state.

Its orders (as specs and as built orders), deletions, scopes,
availability, throttle bucket and bulk operations. All changes go through methods that rebuild the
changed order and report the change (for webhooks).
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

from kconnector_sandbox.shopify.build import build_order
from kconnector_sandbox.shopify.bulk import BulkFailure, BulkOperationRecord
from kconnector_sandbox.shopify.cost import LeakyBucket
from kconnector_sandbox.shopify.generator import REFERENCE_DATE, generate_specs
from kconnector_sandbox.shopify.model import BasicEvent, Order, Refund, gid
from kconnector_sandbox.shopify.node_index import IndexedNode, index_nodes
from kconnector_sandbox.shopify.payments import PaymentsLedger, build_ledger
from kconnector_sandbox.shopify.spec import OrderSpec, PaymentPlan, RefundSpec

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


class OrderNotFoundError(KeyError):
    """No live order with that id."""


class InvalidChangeError(ValueError):
    """An admin change that the order cannot take (the message says why)."""


class ShopClock:
    """The shop's "now": the reference date plus real time elapsed since the emulator started."""

    def __init__(
        self, start: datetime = REFERENCE_DATE, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        """Start at `start`."""
        self._start = start
        self._monotonic = monotonic
        self._t0 = monotonic()

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
    specs: dict[int, OrderSpec] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    deletions: list[BasicEvent] = field(default_factory=list)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    status: ShopStatus = ShopStatus.ACTIVE
    bulk_operations: list[BulkOperationRecord] = field(default_factory=list)
    next_bulk_failure: BulkFailure = BulkFailure.NONE
    listeners: list[ChangeListener] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    bucket: LeakyBucket = field(init=False)
    _nodes: dict[str, IndexedNode] | None = field(default=None, init=False, repr=False)
    # Bumped by every change to the orders; listings computed at an older revision are stale.
    revision: int = field(default=0, init=False)
    _listings: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False)
    _listings_revision: int = field(default=0, init=False, repr=False)
    # The Shopify Payments ledger and the revision it was built at (built on first use).
    _ledger: tuple[int, PaymentsLedger | None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Create the throttle bucket with the run's time scale."""
        self.bucket = LeakyBucket(time_scale=self.time_scale, clock=self.clock.monotonic)

    @classmethod
    def seeded(
        cls, profile: StoreProfile, seed: int, count: int, clock: ShopClock, time_scale: float
    ) -> ShopState:
        """A shop filled with `count` generated orders."""
        shop = cls(profile=profile, clock=clock, time_scale=time_scale, seed=seed)
        for spec in generate_specs(seed, count, profile):
            shop.specs[spec.legacy_id] = spec
            shop.orders[spec.legacy_id] = build_order(spec, profile.currency)
        return shop

    @property
    def tz(self) -> ZoneInfo:
        """The shop's time zone."""
        return ZoneInfo(self.profile.iana_timezone)

    def visible_orders(self) -> list[Order]:
        """Orders the app may read with its scopes (60 days without read_all_orders)."""
        with self.lock:
            orders = list(self.orders.values())
        if "read_all_orders" in self.scopes:
            return orders
        cutoff = self.clock.now() - RECENT_ORDERS_WINDOW
        return [o for o in orders if o.created_at >= cutoff]

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

        Built on first use and kept until the orders change, so a shop that is never asked about
        payouts never pays for them.
        """
        with self.lock:
            if self._ledger is not None and self._ledger[0] == self.revision:
                return self._ledger[1]
            revision = self.revision
            orders = list(self.orders.values())
        ledger = build_ledger(orders, self.profile.currency, self.tz)
        with self.lock:
            if self.revision == revision:
                self._ledger = (revision, ledger)
        return ledger

    def node(self, node_id: str) -> object | None:
        """The object with global id `node_id` the app may read, or None."""
        with self.lock:
            if self._nodes is None:
                self._nodes = index_nodes(self.orders.values(), self.deletions)
            found = self._nodes.get(node_id)
        if found is None:
            return None
        if found.order_id is not None:
            owner = self.orders.get(found.order_id)
            if owner is None or not self._readable(owner):
                return None
        return found.value

    def _readable(self, order: Order) -> bool:
        if "read_all_orders" in self.scopes:
            return True
        return order.created_at >= self.clock.now() - RECENT_ORDERS_WINDOW

    def find(self, legacy_id: int) -> Order:
        """A live order by id."""
        with self.lock:
            if legacy_id not in self.orders:
                raise OrderNotFoundError(legacy_id)
            return self.orders[legacy_id]

    # -- changes (admin) -------------------------------------------------------------------------

    def _stamp(self, spec: OrderSpec) -> datetime:
        """A change time strictly after everything already on the order."""
        current = (
            self.orders[spec.legacy_id].updated_at
            if spec.legacy_id in self.orders
            else spec.created_at
        )
        return max(self.clock.now(), current + timedelta(seconds=1))

    def _store(self, spec: OrderSpec, topic: str, refund_index: int | None = None) -> Order:
        order = build_order(spec, self.profile.currency)
        self.specs[spec.legacy_id] = spec
        self.orders[spec.legacy_id] = order
        self._nodes = None
        self.revision += 1
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
            number = max((s.number for s in self.specs.values()), default=1000) + 1
            now = self.clock.now()
            spec = replace(
                source,
                number=number,
                legacy_id=5_300_000_000_000 + number,
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
        """Edit an order; bumps updatedAt. Quantity changes reprice the order."""
        with self.lock:
            spec = self._spec(legacy_id)
            lines = list(spec.lines)
            taken = _quantities_taken(spec)
            for index, quantity in (quantities or {}).items():
                if not 0 <= index < len(lines) or quantity < max(1, taken.get(index, 0)):
                    msg = f"line {index} cannot take quantity {quantity}"
                    raise InvalidChangeError(msg)
                lines[index] = replace(lines[index], quantity=quantity)
            at = self._stamp(spec)
            spec = replace(
                spec,
                note=spec.note if note is None else note,
                tags=spec.tags if tags is None else tags,
                email=spec.email if email is None else email,
                lines=tuple(lines),
                edited_at=(*spec.edited_at, at),
            )
            return self._store(spec, "orders/updated")

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
            del self.orders[legacy_id]
            del self.specs[legacy_id]
            self._nodes = None
            self.revision += 1
            legacy = 91_000_000_000_000 + len(self.deletions)
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
        if legacy_id not in self.specs:
            raise OrderNotFoundError(legacy_id)
        return self.specs[legacy_id]

    def all_events(self) -> list[BasicEvent]:
        """Order timeline events of live orders plus deletion events."""
        with self.lock:
            events = [e for o in self.orders.values() for e in o.events]
            return [*events, *self.deletions]


def _quantities_taken(spec: OrderSpec) -> dict[int, int]:
    """Per line, the units already refunded or fulfilled (an edit may not go below them)."""
    refunded: dict[int, int] = {}
    for refund in spec.refunds:
        for i, quantity in refund.lines:
            refunded[i] = refunded.get(i, 0) + quantity
    fulfilled: dict[int, int] = {}
    for fulfillment in spec.fulfillments:
        for i, quantity in fulfillment.lines:
            fulfilled[i] = fulfilled.get(i, 0) + quantity
    return {i: max(refunded.get(i, 0), fulfilled.get(i, 0)) for i in {*refunded, *fulfilled}}


def utc_now_iso(clock: ShopClock) -> str:
    """The shop time as an ISO string with Z."""
    return clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z")
