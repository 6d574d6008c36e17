"""The live store behind the emulator: orders, refunds, edits, queued edits, request log.

Thread-safe (one lock): the API, the admin endpoints and the webhook thread share it. Every
change that WooCommerce would announce calls the registered listeners with
(`order.created` | `order.updated` | `order.deleted`, payload).
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.woocommerce.data_generator import REFERENCE_DATE, StoreData, new_order
from kconnector_sandbox.woocommerce.gateway_fees import record_refund_fees
from kconnector_sandbox.woocommerce.order_documents import (
    parse_gmt,
    refresh_status_flags,
    set_dates,
)
from kconnector_sandbox.woocommerce.order_query import select_page
from kconnector_sandbox.woocommerce.refund_documents import apply_refund, build_refund

if TYPE_CHECKING:
    from collections.abc import Callable

    from kconnector_sandbox.woocommerce.order_documents import Document
    from kconnector_sandbox.woocommerce.order_query import OrderQuery
    from kconnector_sandbox.woocommerce.refund_documents import RefundRequest
    from kconnector_sandbox.woocommerce.store_profiles import StoreProfile

    OrderListener = Callable[[str, Document], None]
    Clock = Callable[[], datetime]


class UnknownOrderError(KeyError):
    """No order (or refund) with that id."""


def wall_clock() -> datetime:
    """Now, UTC, to the second (WordPress stores seconds)."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class PendingEdits:
    """Edits queued by `POST /__admin/on-next-page`, applied right after the next list page."""

    modify: list[int] = field(default_factory=list)
    trash: list[int] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    create: int = 0

    def is_empty(self) -> bool:
        """Nothing queued."""
        return not (self.modify or self.trash or self.delete or self.create)


@dataclass(frozen=True)
class LoggedRequest:
    """One API request as the request log keeps it (no credentials, no bodies)."""

    method: str
    path: str
    status: int
    user_agent: str


class StoreState:
    """The emulated store's mutable state."""

    def __init__(self, data: StoreData, clock: Clock = wall_clock) -> None:
        """Wrap generated store data."""
        self._data = data
        self._clock = clock
        self._lock = threading.RLock()
        self._listeners: list[OrderListener] = []
        self.pending = PendingEdits()
        self.request_log: list[LoggedRequest] = []

    @property
    def profile(self) -> StoreProfile:
        """The store profile."""
        return self._data.profile

    def add_listener(self, listener: OrderListener) -> None:
        """Call `listener(topic, payload)` after each created/updated/deleted order."""
        self._listeners.append(listener)

    def _emit(self, topic: str, payload: Document) -> None:
        for listener in self._listeners:
            listener(topic, copy.deepcopy(payload))

    # -- reads ---------------------------------------------------------------------------------

    def list_orders(self, query: OrderQuery) -> tuple[list[Document], int]:
        """A page of orders (copies) and the total matching."""
        with self._lock:
            page, total = select_page(self._data.orders.values(), query)
            return copy.deepcopy(page), total

    def order(self, order_id: int) -> Document | None:
        """One order (a copy), or None."""
        with self._lock:
            found = self._data.orders.get(order_id)
            return copy.deepcopy(found) if found is not None else None

    def refunds(self, order_id: int) -> list[Document]:
        """An order's refunds, newest first (copies)."""
        with self._lock:
            return copy.deepcopy(self._data.refunds.get(order_id, []))

    def refund_parent(self, refund_id: int) -> int | None:
        """The order a refund belongs to, or None when no refund has that id."""
        with self._lock:
            for order_id, refunds in self._data.refunds.items():
                if any(refund["id"] == refund_id for refund in refunds):
                    return order_id
            return None

    def status_counts(self) -> Counter[str]:
        """Orders per status (`wp_count_posts('shop_order')`), trash included."""
        with self._lock:
            return Counter(order["status"] for order in self._data.orders.values())

    def all_orders(self) -> list[Document]:
        """Every order, trash included (copies), by id."""
        with self._lock:
            return copy.deepcopy(sorted(self._data.orders.values(), key=lambda o: o["id"]))

    # -- writes --------------------------------------------------------------------------------

    def _now_for(self, order: Document | None) -> datetime:
        # Never before the generated history ends, so an edit always lands after it.
        now = max(self._clock(), REFERENCE_DATE + timedelta(minutes=1))
        if order is not None:
            now = max(now, parse_gmt(order["date_modified_gmt"]))
        return now

    def _get(self, order_id: int) -> Document:
        order = self._data.orders.get(order_id)
        if order is None:
            msg = f"no order {order_id}"
            raise UnknownOrderError(msg)
        return order

    def create_order(self, status: str = "processing") -> Document:
        """A new order placed now."""
        with self._lock:
            document = new_order(self._data, self._now_for(None), status)
            self._emit("order.created", document)
            return copy.deepcopy(document)

    def modify_order(self, order_id: int, changes: dict[str, Any] | None = None) -> Document:
        """Edit an order (status, customer note, billing/shipping fields); bumps date_modified."""
        with self._lock:
            order = self._get(order_id)
            changes = changes or {}
            if "status" in changes:
                order["status"] = str(changes["status"])
            if "customer_note" in changes:
                order["customer_note"] = str(changes["customer_note"])
            for part in ("billing", "shipping"):
                for key, value in dict(changes.get(part, {})).items():
                    if key in order[part]:
                        order[part][key] = str(value)
            set_dates(order, "date_modified", self._now_for(order), self.profile.timezone)
            refresh_status_flags(order)
            self._emit("order.updated", order)
            return copy.deepcopy(order)

    def refund_order(self, order_id: int, request: RefundRequest) -> Document:
        """Create a refund and update its order as WooCommerce does.

        Raises:
            UnknownOrderError: no such order.
            RefundError: WooCommerce would refuse the refund.
        """
        with self._lock:
            order = self._get(order_id)
            now = self._now_for(order)
            refund = build_refund(
                order,
                request,
                refund_id=self._data.ids.post(),
                created=now,
                timezone=self.profile.timezone,
                ids=self._data.ids,
            )
            apply_refund(order, refund, modified=now, timezone=self.profile.timezone)
            record_refund_fees(order, refund, self._data.ids)
            self._data.refunds.setdefault(order_id, []).insert(0, refund)
            self._emit("order.updated", order)
            return copy.deepcopy(refund)

    def trash_order(self, order_id: int) -> Document:
        """Move an order to the trash (status "trash"), keeping the status it had in meta."""
        with self._lock:
            order = self._get(order_id)
            if order["status"] != "trash":
                now = self._now_for(order)
                order["meta_data"].append(
                    {
                        "id": self._data.ids.meta(),
                        "key": "_wp_trash_meta_status",
                        "value": "wc-" + order["status"],
                    }
                )
                order["status"] = "trash"
                set_dates(order, "date_modified", now, self.profile.timezone)
                refresh_status_flags(order)
            self._emit("order.deleted", {"id": order_id})
            return copy.deepcopy(order)

    def delete_order(self, order_id: int) -> None:
        """Delete an order and its refunds for good."""
        with self._lock:
            self._get(order_id)
            del self._data.orders[order_id]
            self._data.refunds.pop(order_id, None)
            self._emit("order.deleted", {"id": order_id})

    def apply_pending_edits(self) -> None:
        """Apply and clear the edits queued for "after the next page"."""
        with self._lock:
            pending, self.pending = self.pending, PendingEdits()
            for order_id in pending.modify:
                if order_id in self._data.orders:
                    self.modify_order(order_id)
            for order_id in pending.trash:
                if order_id in self._data.orders:
                    self.trash_order(order_id)
            for order_id in pending.delete:
                if order_id in self._data.orders:
                    self.delete_order(order_id)
            for _ in range(pending.create):
                self.create_order()

    # -- request log ---------------------------------------------------------------------------

    def log_request(self, entry: LoggedRequest) -> None:
        """Record one API request."""
        with self._lock:
            self.request_log.append(entry)

    def request_counts(self) -> dict[str, int]:
        """Requests per HTTP status."""
        with self._lock:
            return {
                str(status): count
                for status, count in sorted(Counter(e.status for e in self.request_log).items())
            }
