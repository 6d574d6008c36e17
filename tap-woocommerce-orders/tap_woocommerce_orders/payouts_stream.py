"""The `payouts` stream: estimated processor payouts, or a processor report's.

Each run re-reads the orders modified since the earliest day whose payout may still change
(the bookmark minus the payout delay and a margin), with their refunds, and re-emits every
payout of those days: downstream deduplicates by id, and a payout only changes while
`scheduled`. See `payout_estimate` for what the estimate is and is not.

Orders the `orders` stream read in the same run are not read again: their payments and
refunds come from `SettledCache`, and this stream reads only the modification dates before the
orders stream's start (the payout re-read reaches further back), plus the refunds of cached
orders whose refunds the `refunds` stream did not read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from kconnector_canonical import singer_schema
from tap_woocommerce_orders.date_windows import whole_second
from tap_woocommerce_orders.list_paginator import PageToken, WordPressListPaginator
from tap_woocommerce_orders.order_normalizer import normalize_order, skip_reason
from tap_woocommerce_orders.payout_estimate import (
    EstimateSettings,
    SettledMoney,
    estimate_payouts,
    payment_entries,
    refund_entries,
)
from tap_woocommerce_orders.payout_report import report_payouts
from tap_woocommerce_orders.refund_normalizer import (
    RefundParent,
    normalize_refund,
    refund_parent,
)
from tap_woocommerce_orders.settled_cache import SettledCache
from tap_woocommerce_orders.store_errors import ErrorClass, StoreError, StoreObjectGoneError
from tap_woocommerce_orders.streams import REFUNDS_PER_PAGE, UNREADABLE_ORDER, ModifiedOrderReads
from tap_woocommerce_orders.wc_values import SourceValueError, local_and_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_woocommerce_orders.settings import StoreSettings


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PayoutsStream(ModifiedOrderReads):
    """Estimated processor payouts (basis `estimate`), or a processor report's (`processor`)."""

    name = "payouts"
    path = "/orders"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = False
    schema: ClassVar[dict[str, Any]] = singer_schema("payouts")
    margin = timedelta(days=3)

    def __init__(
        self, tap: Tap, settings: StoreSettings, settled: SettledCache | None = None
    ) -> None:
        """Bind to the settings and to what the orders and refunds streams settled."""
        super().__init__(tap=tap, settings=settings)
        self.settled = settled or SettledCache()
        self._query: dict[str, str] = {}
        self.clock: Callable[[], datetime] = _utc_now  # tests set their own

    @property
    def estimates(self) -> bool:
        """Whether this stream estimates payouts from orders (rather than a report, or none)."""
        return self.settings.payout_report_file is None and self.settings.payout_grouping != "none"

    def get_new_paginator(self) -> WordPressListPaginator:
        """Positional pages, as the orders stream."""
        return WordPressListPaginator(self.settings.per_page)

    def get_url_params(
        self,
        context: Context | None,  # noqa: ARG002 - the window is set by get_records
        next_page_token: PageToken | None,
    ) -> dict[str, Any]:
        """Window, every status but trash, modification date ascending."""
        params: dict[str, Any] = {
            "per_page": self.settings.per_page,
            "page": next_page_token.page if next_page_token else 1,
            "orderby": "modified",
            "order": "asc",
            "status": "any",
        }
        params.update(self._query)
        return params

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The payouts of every day from the first one that may still change."""
        if self.settings.payout_report_file is not None:
            yield from report_payouts(self.settings.payout_report_file, self.settings.store)
            return
        if self.settings.payout_grouping == "none":
            return
        now = whole_second(self.clock())
        bookmark = self.get_starting_timestamp(context)
        start = self.settings.start_date
        if bookmark is not None and bookmark > start:
            delay = timedelta(days=self.settings.payout_delay_days)
            start = max(start, bookmark - delay - self.margin)
        entries = self._entries(context, start, now)
        settings = EstimateSettings(
            self.settings.store, self.settings.payout_gateways, self.settings.payout_delay_days
        )
        # The first whole store-local day: days before it may miss payments read earlier.
        first_day = (start + timedelta(days=1)).date()
        yield from estimate_payouts(entries, settings, now=now, first_day=first_day)

    def _entries(
        self, context: Context | None, start: datetime, now: datetime
    ) -> list[SettledMoney]:
        """The settled money of every order modified since `start`: cached, else read."""
        covered = self.settled.covered
        if covered is None or covered.start > now:
            return self._read(context, start, now)
        entries = self._read(context, start, covered.start) if start < covered.start else []
        for order_source_id, order in self.settled.orders_since(start).items():
            entries.extend(order.payments)
            if order.refunds_missing and order.parent is not None:
                entries.extend(self._refunds_of(order_source_id, order.parent))
            else:
                for refund in order.refunds.values():
                    entries.extend(refund)
        return entries

    def _read(
        self, context: Context | None, start: datetime, upper: datetime
    ) -> list[SettledMoney]:
        entries: list[SettledMoney] = []
        for window in self.read_windows(start, upper, ["any"]):
            self._query = window.query()
            for order in self.request_records(context):
                entries.extend(self._settled(order))
        return entries

    def _settled(self, order: dict[str, Any]) -> list[SettledMoney]:
        order_id = str(order.get("id"))
        if skip_reason(order) is not None or order.get("status") == "trash":
            return []
        try:
            record = normalize_order(order, self.settings.store)
            local_paid, utc_paid = local_and_utc(order, "date_paid")
            entries = payment_entries(record, local_paid, utc_paid)
            if order.get("refunds"):
                entries.extend(self._refunds_of(order_id, refund_parent(order)))
        except SourceValueError as exc:
            raise StoreError(
                UNREADABLE_ORDER.format(order_id=order_id, problem=exc),
                error_class=ErrorClass.DATA,
                setting=None,
                code=None,
            ) from exc
        return entries

    def _refunds_of(self, order_id: str, parent: RefundParent) -> list[SettledMoney]:
        """The settled money of an order's refunds, read from the store (one request)."""
        entries: list[SettledMoney] = []
        try:
            refunds = self.get_json(f"/orders/{order_id}/refunds", {"per_page": REFUNDS_PER_PAGE})
        except StoreObjectGoneError:
            return entries  # deleted meanwhile: the next run no longer sees its payments either
        try:
            for refund in refunds if isinstance(refunds, list) else []:
                canonical = normalize_refund(refund, parent, self.settings.store)
                local, utc = local_and_utc(refund, "date_created")
                if local is not None and utc is not None:
                    entries.extend(refund_entries(canonical, local, utc))
        except SourceValueError as exc:
            raise StoreError(
                UNREADABLE_ORDER.format(order_id=order_id, problem=exc),
                error_class=ErrorClass.DATA,
                setting=None,
                code=None,
            ) from exc
        return entries
