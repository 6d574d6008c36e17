"""A shop's orders, kept compactly: a seeded order is its generator index, a changed one its spec.

An `Order` (every amount, line, transaction, refund and event of the API) is about 35 KB of
Python objects: a 100,000-order shop built up front took about 12 GB for its three shops. Here
an order is built when it is read (`build_order` of its spec; the generator is a pure function
of (seed, shop, index), so a seeded spec is generated again when needed) and the most recently
read ones are kept in a small cache. What searches and sorts read is an `OrderSummary` of a few
hundred bytes per order; the fields that need the order priced (financial and fulfilment status,
total price) are computed the first time a query asks for them and kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kconnector_sandbox.shopify.build import (
    build_order,
    catalogue_variant,
    money_movements,
    order_events,
    order_updated_at,
)
from kconnector_sandbox.shopify.generator import (
    FIRST_ORDER_NUMBER,
    ORDER_ID_BASE,
    creation_key,
    numbered,
    unnumbered_spec,
)
from kconnector_sandbox.shopify.model import gid
from kconnector_sandbox.shopify.payments import CARD_RATES, moves_card_money, order_charges

if TYPE_CHECKING:
    from datetime import datetime

    from kconnector_sandbox.shopify.build import MoneyMovement
    from kconnector_sandbox.shopify.model import BasicEvent, MoneyBag, Order
    from kconnector_sandbox.shopify.payments import BalanceTransaction
    from kconnector_sandbox.shopify.profiles import StoreProfile
    from kconnector_sandbox.shopify.spec import LineSpec, OrderSpec

# Built orders kept per shop (about 70 MB): the pages being read and the orders a client reads
# again right after (refunds and fulfilments by id after a bulk result of up to 2,048 orders).
ORDER_CACHE_SIZE = 2048


class OrderNotFoundError(KeyError):
    """No live order with that id."""


@dataclass(frozen=True, slots=True)
class _Priced:
    display_financial_status: str
    display_fulfillment_status: str
    total_price_set: MoneyBag


@dataclass(slots=True, eq=False)
class OrderSummary:
    """What a search filter or a sort key reads of an order, without building it."""

    legacy_resource_id: int
    name: str
    email: str | None
    tags: tuple[str, ...]
    source_name: str
    test: bool
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    book: OrderBook
    priced: _Priced | None = None

    @classmethod
    def of(cls, spec: OrderSpec, book: OrderBook) -> OrderSummary:
        """The summary of the order `spec` describes (the same values `build_order` gives)."""
        return cls(
            legacy_resource_id=spec.legacy_id,
            name=f"#{spec.number}",
            email=spec.email,
            tags=spec.tags,
            source_name=spec.source_name,
            test=spec.test,
            created_at=spec.created_at,
            updated_at=order_updated_at(spec),
            cancelled_at=spec.cancelled_at,
            book=book,
        )

    @property
    def processed_at(self) -> datetime:
        """As on the order: the creation time."""
        return self.created_at

    @property
    def closed(self) -> bool:
        """As on the order: closed when cancelled."""
        return self.cancelled_at is not None

    @property
    def display_financial_status(self) -> str:
        """The order's financial status (prices the order the first time)."""
        return self._priced().display_financial_status

    @property
    def display_fulfillment_status(self) -> str:
        """The order's fulfilment status (prices the order the first time)."""
        return self._priced().display_fulfillment_status

    @property
    def total_price_set(self) -> MoneyBag:
        """The order's total (prices the order the first time)."""
        return self._priced().total_price_set

    def _priced(self) -> _Priced:
        if self.priced is None:
            self.priced = _priced(self.book.order(self.legacy_resource_id))
        return self.priced


def _priced(order: Order) -> _Priced:
    return _Priced(
        order.display_financial_status, order.display_fulfillment_status, order.total_price_set
    )


class OrderBook:
    """The live orders of one shop, in number order.

    Not locked for changes: the shop changes it under its own lock. Reads may run beside a
    change (the cache has its own lock).
    """

    def __init__(self, profile: StoreProfile, seed: int, count: int) -> None:
        """An empty book for a shop seeded with `seed` and `count` orders."""
        self.profile = profile
        self.seed = seed
        self.count = count
        self._seeded: dict[int, int] = {}  # legacy id -> generator index (unchanged orders)
        self._changed: dict[int, OrderSpec] = {}  # legacy id -> spec (changed or created)
        self._summaries: dict[int, OrderSummary] = {}  # every live order, in number order
        # customers, products and variants (by global id) -> an order that refers to them
        self._shop_objects: dict[str, int] | None = {}
        self._cache: OrderedDict[int, Order] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.max_number = 1000
        # What each live order moved through Shopify Payments (orders that moved nothing are
        # left out), and what deleted orders had moved (their money stays in the payouts): the
        # ledger is written from these, never by building the orders. Kept up to date by every
        # change, so a change recomputes its own order only.
        self._takes_cards = profile.currency in CARD_RATES
        self._tz = ZoneInfo(profile.iana_timezone)
        self._charges: dict[int, tuple[BalanceTransaction, ...]] = {}
        self._deleted_charges: list[tuple[BalanceTransaction, ...]] = []

    @classmethod
    def seeded(cls, profile: StoreProfile, seed: int, count: int) -> OrderBook:
        """The `count` generated orders of `profile` for `seed`, numbered in creation order.

        Generates each order's spec once (to number them, summarise them and note what they
        moved through Shopify Payments) and keeps none.
        """
        book = cls(profile, seed, count)
        keyed: list[tuple[tuple[datetime, str, int], int, OrderSummary]] = []
        owners: dict[str, int] = {}  # shop-wide object -> generator index of an order using it
        moved: dict[int, tuple[bool, tuple[MoneyMovement, ...]]] = {}  # generator index -> money
        for index in range(count):
            spec = unnumbered_spec(seed, profile, index, count)
            keyed.append((creation_key(spec), index, OrderSummary.of(spec, book)))
            for node_id in _shop_object_ids(spec):
                owners.setdefault(node_id, index)
            if book._takes_cards and moves_card_money(spec):  # the movements ignore the number
                moved[index] = (spec.test, money_movements(spec))
        keyed.sort(key=lambda entry: (entry[0], entry[1]))
        legacy_of_index: dict[int, int] = {}
        for rank, (_, index, summary) in enumerate(keyed):
            number = FIRST_ORDER_NUMBER + rank
            summary.legacy_resource_id = ORDER_ID_BASE + number
            summary.name = f"#{number}"
            book._seeded[summary.legacy_resource_id] = index
            book._summaries[summary.legacy_resource_id] = summary
            book.max_number = number
            legacy_of_index[index] = summary.legacy_resource_id
            if index in moved:
                test, movements = moved.pop(index)
                book._note_charges(
                    summary.legacy_resource_id, number, test=test, movements=movements
                )
        book._shop_objects = {node_id: legacy_of_index[i] for node_id, i in owners.items()}
        return book

    # --- reads ------------------------------------------------------------------------------

    def __contains__(self, legacy_id: object) -> bool:
        """Whether the order is live."""
        return legacy_id in self._summaries

    def __len__(self) -> int:
        """How many live orders."""
        return len(self._summaries)

    def ids(self) -> list[int]:
        """The live orders' ids, in number order (a snapshot)."""
        return list(self._summaries)

    def summaries(self) -> list[OrderSummary]:
        """The live orders' summaries, in number order (a snapshot)."""
        return list(self._summaries.values())

    def summary(self, legacy_id: int) -> OrderSummary:
        """One live order's summary.

        Raises:
            OrderNotFoundError: when no live order has that id.
        """
        try:
            return self._summaries[legacy_id]
        except KeyError:
            raise OrderNotFoundError(legacy_id) from None

    def spec(self, legacy_id: int) -> OrderSpec:
        """One live order's spec (generated again for a seeded order).

        Raises:
            OrderNotFoundError: when no live order has that id.
        """
        changed = self._changed.get(legacy_id)
        if changed is not None:
            return changed
        index = self._seeded.get(legacy_id)
        if index is None:
            raise OrderNotFoundError(legacy_id)
        summary = self._summaries[legacy_id]
        spec = unnumbered_spec(self.seed, self.profile, index, self.count)
        return numbered(spec, int(summary.name.lstrip("#")) - FIRST_ORDER_NUMBER)

    def order(self, legacy_id: int) -> Order:
        """One live order, built (or taken from the cache of recently read orders).

        Raises:
            OrderNotFoundError: when no live order has that id.
        """
        with self._cache_lock:
            cached = self._cache.get(legacy_id)
            if cached is not None:
                self._cache.move_to_end(legacy_id)
                return cached
        built = build_order(self.spec(legacy_id), self.profile.currency)
        with self._cache_lock:
            self._cache[legacy_id] = built
            while len(self._cache) > ORDER_CACHE_SIZE:
                self._cache.popitem(last=False)
        return built

    def events(self, legacy_id: int) -> tuple[BasicEvent, ...]:
        """One live order's timeline events (from its spec; the order is not priced)."""
        with self._cache_lock:
            cached = self._cache.get(legacy_id)
        return cached.events if cached is not None else order_events(self.spec(legacy_id))

    def charges(self) -> list[BalanceTransaction]:
        """The Shopify Payments charges and refunds of the live and the deleted orders (a copy)."""
        return [t for order in (*self._charges.values(), *self._deleted_charges) for t in order]

    def shop_object_owner(self, node_id: str) -> int | None:
        """An order that refers to the customer, product or variant `node_id`, if any."""
        if self._shop_objects is None:
            self._shop_objects = {}
            for legacy_id in self.ids():
                self._note_shop_objects(self.spec(legacy_id))
        return self._shop_objects.get(node_id)

    # --- changes ----------------------------------------------------------------------------

    def put(self, spec: OrderSpec) -> Order:
        """Store a changed or new order; returns it built."""
        order = build_order(spec, self.profile.currency)
        self._seeded.pop(spec.legacy_id, None)
        self._changed[spec.legacy_id] = spec
        summary = OrderSummary.of(spec, self)
        summary.priced = _priced(order)
        self._summaries[spec.legacy_id] = summary
        self.max_number = max(self.max_number, spec.number)
        if self._shop_objects is not None:
            self._note_shop_objects(spec)
        self._charges.pop(spec.legacy_id, None)
        if self._takes_cards and moves_card_money(spec):
            self._note_charges(
                spec.legacy_id, spec.number, test=spec.test, movements=money_movements(spec)
            )
        with self._cache_lock:
            self._cache[spec.legacy_id] = order
            self._cache.move_to_end(spec.legacy_id)
            while len(self._cache) > ORDER_CACHE_SIZE:
                self._cache.popitem(last=False)
        return order

    def remove(self, legacy_id: int) -> None:
        """Forget a deleted order (the shop-wide objects it referred to are indexed again)."""
        self._seeded.pop(legacy_id, None)
        self._changed.pop(legacy_id, None)
        self._summaries.pop(legacy_id, None)
        charges = self._charges.pop(legacy_id, None)
        if charges:
            self._deleted_charges.append(charges)
        with self._cache_lock:
            self._cache.pop(legacy_id, None)
        if self._shop_objects is not None and legacy_id in self._shop_objects.values():
            self._shop_objects = None  # rebuilt on the next lookup, from the live orders

    def _note_charges(
        self, legacy_id: int, number: int, *, test: bool, movements: tuple[MoneyMovement, ...]
    ) -> None:
        currency, tz = self.profile.currency, self._tz
        charges = order_charges(
            legacy_id, number, test=test, movements=movements, currency=currency, tz=tz
        )
        if charges:
            self._charges[legacy_id] = charges

    def _note_shop_objects(self, spec: OrderSpec) -> None:
        objects = self._shop_objects
        if objects is None:
            return
        for node_id in _shop_object_ids(spec):
            objects.setdefault(node_id, spec.legacy_id)


@lru_cache(maxsize=4096)
def _variant_ids(line: LineSpec) -> tuple[str, ...]:
    variant = catalogue_variant(line)
    return () if variant is None else (variant.id, variant.product.id)


def _shop_object_ids(spec: OrderSpec) -> Iterator[str]:
    """The global ids of the customer, products and variants an order refers to."""
    if spec.customer is not None:
        yield gid("Customer", spec.customer.legacy_id)
    for line in spec.lines:
        yield from _variant_ids(line)


class BuiltOrders(Mapping[int, "Order"]):
    """The live orders by legacy id, each built when read (``shop.orders``)."""

    def __init__(self, book: OrderBook) -> None:
        """A view of `book`."""
        self._book = book

    def __getitem__(self, legacy_id: int) -> Order:
        """The order, built."""
        return self._book.order(legacy_id)

    def __iter__(self) -> Iterator[int]:
        """The live ids, in number order."""
        return iter(self._book.ids())

    def __len__(self) -> int:
        """How many live orders."""
        return len(self._book)

    def __contains__(self, legacy_id: object) -> bool:
        """Whether the order is live (without building it)."""
        return legacy_id in self._book
