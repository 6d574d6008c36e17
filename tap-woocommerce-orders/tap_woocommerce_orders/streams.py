"""The tap's streams: canonical `orders` (incremental) and their `refunds` (child stream).

Orders (`GET /wp-json/wc/v3/orders`, https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders):
from the bookmark minus the lookback window up to the start of the run, in closed windows of
`window_days`, each read with `modified_after`/`modified_before`/`dates_are_gmt=true`,
`orderby=id&order=asc`, page by page (`PageWalk` steps back when an order leaves the window
while it is read; repeats are dropped by id). `status=any` leaves trashed orders out, so when
`statuses` lists `trash` each window is read a second time with `status=trash`; those orders
are emitted with status `deleted`. The bookmark is the largest `updated_at`
(`date_modified_gmt`) emitted.

Refunds (`GET /wp-json/wc/v3/orders/{id}/refunds`): read only for orders emitted in this run
that have refunds (`refunds[]` embedded in the order), i.e. orders that changed: a new refund
changes its order's `date_modified`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from kconnector_canonical import singer_schema
from tap_woocommerce_orders.client import WooCommerceStream
from tap_woocommerce_orders.date_windows import DateWindow, whole_second, windows
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
from tap_woocommerce_orders.refund_normalizer import RefundParent, normalize_refund, refund_parent
from tap_woocommerce_orders.store_errors import ErrorClass, StoreError, StoreObjectGoneError
from tap_woocommerce_orders.tax_rates import rate_ids_without_percent
from tap_woocommerce_orders.wc_values import SourceValueError, gmt_datetime, wc_decimal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_woocommerce_orders.settings import StoreSettings

REFUNDS_PER_PAGE = 100
FILTER_IGNORED = (
    "The store returned order {order_id}, modified outside the requested window: it ignores "
    "modified_after/modified_before/dates_are_gmt. WooCommerce 5.6 or later is needed; update "
    "WooCommerce (or the plugin rewriting the query)."
)
UNREADABLE_ORDER = "Order {order_id} cannot be read: {problem}."
UNREADABLE_REFUND = "Refund {refund_id} of order {order_id} cannot be read: {problem}."


class RefundParents:
    """The facts each refund needs from its order, kept from the order to its refunds.

    Only ids, currency, tax rates and payment references: no customer data, so nothing
    personal reaches the SDK's context logging.
    """

    def __init__(self) -> None:
        """Empty."""
        self._parents: dict[str, RefundParent] = {}

    def keep(self, parent: RefundParent) -> None:
        """Keep an order's facts until its refunds are read."""
        self._parents[parent.order_source_id] = parent

    def get(self, order_source_id: str) -> RefundParent | None:
        """The facts of an order, if kept."""
        return self._parents.get(order_source_id)

    def release(self, order_source_id: str) -> None:
        """Forget an order once its refunds are read."""
        self._parents.pop(order_source_id, None)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OrdersStream(WooCommerceStream):
    """Canonical orders, incremental on `updated_at` (WooCommerce's `date_modified_gmt`)."""

    name = "orders"
    path = "/orders"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = False  # read by id within each window, not by modification date
    schema: ClassVar[dict[str, Any]] = singer_schema("orders")

    def __init__(self, tap: Tap, settings: StoreSettings, parents: RefundParents) -> None:
        """Bind to the settings and to the refunds' shared order facts."""
        super().__init__(tap=tap, settings=settings)
        self.parents = parents
        self.rate_percents: dict[str, Decimal] = {}
        self._paginator: WordPressListPaginator | None = None
        # "Now", the last window's end: injectable, so no test depends on the wall clock.
        self.clock: Callable[[], datetime] = _utc_now

    def get_new_paginator(self) -> WordPressListPaginator:
        """Positional pages that survive orders leaving the window."""
        self._paginator = WordPressListPaginator(self.settings.per_page)
        return self._paginator

    def get_url_params(
        self, context: Context | None, next_page_token: PageToken | None
    ) -> dict[str, Any]:
        """Window, status, order (id ascending) and page."""
        params: dict[str, Any] = {
            "per_page": self.settings.per_page,
            "page": next_page_token.page if next_page_token else 1,
            "orderby": "id",
            "order": "asc",
        }
        if context:
            params.update(
                {k: context[k] for k in ("modified_after", "modified_before", "dates_are_gmt")}
            )
            params["status"] = context["status"]
        return params

    def _read_window_start(self, context: Context | None) -> datetime:
        start = self.get_starting_timestamp(context) or self.settings.start_date
        if start > self.settings.start_date:
            start = max(self.settings.start_date, start - self.settings.lookback)
        return start

    def _status_passes(self) -> list[str]:
        passes = [",".join(self.settings.statuses)] if self.settings.statuses else []
        if self.settings.include_trash:
            passes.append("trash")
        return passes

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every order modified from the bookmark (minus lookback) to now, window by window."""
        upper = whole_second(self.clock())
        for window in windows(self._read_window_start(context), upper, self.settings.window):
            for status in self._status_passes():
                yield from self._window_orders(window, status)

    def _window_orders(self, window: DateWindow, status: str) -> Iterable[dict[str, Any]]:
        seen: set[str] = set()
        for order in self.request_records({**window.query(), "status": status}):
            order_id = str(order.get("id"))
            if order_id in seen:
                continue
            seen.add(order_id)
            modified = gmt_datetime(order.get("date_modified_gmt"), "date_modified_gmt")
            if modified is None or not window.contains(modified):
                raise StoreError(
                    FILTER_IGNORED.format(order_id=order_id),
                    error_class=ErrorClass.SYSTEM,
                    setting=None,
                    code=None,
                )
            yield order
        if self._paginator is not None and self._paginator.without_total:
            self.logger.warning(
                "The store sends no X-WP-Total header (a proxy removes it): pages are followed "
                "without protection against orders changing while they are read; the next "
                "run's lookback window re-reads them."
            )

    def post_process(
        self,
        row: dict[str, Any],
        context: Context | None = None,  # noqa: ARG002 - the SDK's hook signature
    ) -> dict[str, Any] | None:
        """The canonical order; block-checkout drafts are skipped (not orders yet).

        Raises:
            StoreError: when the order cannot be read (names the order and the field).
        """
        order_id = str(row.get("id"))
        reason = skip_reason(row)
        if reason is not None:
            self.logger.info(
                "skipped order id=%s status=%s reason=%s", order_id, row.get("status"), reason
            )
            return None
        try:
            self._learn_missing_rates(row.get("tax_lines") or [])
            record = normalize_order(row, self.settings.store, self.rate_percents)
            if row.get("refunds") and self._refunds_wanted():
                self.parents.keep(refund_parent(row, self.rate_percents))
        except SourceValueError as exc:
            raise StoreError(
                UNREADABLE_ORDER.format(order_id=order_id, problem=exc),
                error_class=ErrorClass.DATA,
                setting=None,
                code=None,
            ) from exc
        return record

    def _refunds_wanted(self) -> bool:
        return any(child.selected for child in self.child_streams)

    def _learn_missing_rates(self, tax_lines: list[dict[str, Any]]) -> None:
        """Read the rates of tax lines without `rate_percent` (WooCommerce before 3.7), once."""
        for rate_id in rate_ids_without_percent(tax_lines):
            if rate_id in self.rate_percents:
                continue
            try:
                tax_rate = self.get_json(f"/taxes/{rate_id}")
            except StoreObjectGoneError:
                continue  # a deleted rate: normalising names the tax line that lacks it
            if isinstance(tax_rate, dict) and tax_rate.get("rate") not in {None, ""}:
                self.rate_percents[rate_id] = wc_decimal(tax_rate["rate"], "taxes.rate")

    def generate_child_contexts(
        self,
        record: dict[str, Any],
        context: Context | None,  # noqa: ARG002 - the SDK's hook signature
    ) -> Iterable[Context | None]:
        """Refunds are read only for orders that have some."""
        if self.parents.get(record["source_id"]) is not None:
            yield {"order_source_id": record["source_id"]}


class RefundsStream(WooCommerceStream):
    """Canonical refunds of the orders read in this run."""

    name = "refunds"
    path = "/orders/{order_source_id}/refunds"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = False
    state_partitioning_keys: ClassVar[list[str]] = []  # one bookmark, not one per order
    parent_stream_type = OrdersStream
    schema: ClassVar[dict[str, Any]] = singer_schema("refunds")

    def __init__(self, tap: Tap, settings: StoreSettings, parents: RefundParents) -> None:
        """Bind to the settings and to the orders' shared facts."""
        super().__init__(tap=tap, settings=settings)
        self.parents = parents

    def get_new_paginator(self) -> WordPressListPaginator:
        """Refund lists are short; they page the same way."""
        return WordPressListPaginator(REFUNDS_PER_PAGE)

    def get_url_params(
        self,
        context: Context | None,  # noqa: ARG002 - the order id is in the path
        next_page_token: PageToken | None,
    ) -> dict[str, Any]:
        """Largest pages, oldest first."""
        return {
            "per_page": REFUNDS_PER_PAGE,
            "page": next_page_token.page if next_page_token else 1,
            "orderby": "id",
            "order": "asc",
        }

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The order's refunds; an order deleted meanwhile has none to read."""
        order_id = str((context or {}).get("order_source_id"))
        try:
            seen: set[str] = set()
            for refund in self.request_records(context):
                refund_id = str(refund.get("id"))
                if refund_id not in seen:
                    seen.add(refund_id)
                    yield refund
        except StoreObjectGoneError:
            self.logger.warning("order id=%s was deleted before its refunds were read", order_id)
        finally:
            self.parents.release(order_id)

    def post_process(
        self, row: dict[str, Any], context: Context | None = None
    ) -> dict[str, Any] | None:
        """The canonical refund, its amount checked against the order's embedded total.

        Raises:
            StoreError: when the refund cannot be read (names the refund and the field).
        """
        order_id = str((context or {}).get("order_source_id"))
        refund_id = str(row.get("id"))
        parent = self.parents.get(order_id)
        if parent is None:
            return None
        try:
            record = normalize_refund(row, parent, self.settings.store)
        except SourceValueError as exc:
            raise StoreError(
                UNREADABLE_REFUND.format(refund_id=refund_id, order_id=order_id, problem=exc),
                error_class=ErrorClass.DATA,
                setting=None,
                code=None,
            ) from exc
        embedded = parent.embedded_totals.get(refund_id)
        if embedded is not None and embedded != Decimal(record["totals"]["total"]["amount"]):
            self.logger.warning(
                "refund id=%s order id=%s: the order's refunds[].total and the refund's amount "
                "differ",
                refund_id,
                order_id,
            )
        return record


def _local_and_utc(document: dict[str, Any], name: str) -> tuple[datetime | None, datetime | None]:
    """WooCommerce's site-time `<name>` (naive) and `<name>_gmt` (aware UTC)."""
    local_text = document.get(name)
    utc = gmt_datetime(document.get(f"{name}_gmt"), f"{name}_gmt")
    if not isinstance(local_text, str) or not local_text or utc is None:
        return None, utc
    try:
        local = datetime.fromisoformat(local_text).replace(tzinfo=None)
    except ValueError as exc:
        msg = f"{name} is not a date like 2026-02-10T13:03:11"
        raise SourceValueError(msg) from exc
    return local, utc


class PayoutsStream(WooCommerceStream):
    """Estimated processor payouts (basis `estimate`), or a processor report's (`processor`).

    Each run re-reads the orders modified since the earliest day whose payout may still change
    (the bookmark minus the payout delay and a margin), with their refunds, and re-emits every
    payout of those days: downstream deduplicates by id, and a payout only changes while
    `scheduled`. See `payout_estimate` for what the estimate is and is not.
    """

    name = "payouts"
    path = "/orders"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = False
    schema: ClassVar[dict[str, Any]] = singer_schema("payouts")
    margin = timedelta(days=3)

    def __init__(self, tap: Tap, settings: StoreSettings) -> None:
        """Bind to the settings."""
        super().__init__(tap=tap, settings=settings)
        self._query: dict[str, str] = {}
        self.clock: Callable[[], datetime] = _utc_now  # tests set their own

    def get_new_paginator(self) -> WordPressListPaginator:
        """Positional pages, as the orders stream."""
        return WordPressListPaginator(self.settings.per_page)

    def get_url_params(
        self,
        context: Context | None,  # noqa: ARG002 - the window is set by get_records
        next_page_token: PageToken | None,
    ) -> dict[str, Any]:
        """Window, every status but drafts, id ascending."""
        params: dict[str, Any] = {
            "per_page": self.settings.per_page,
            "page": next_page_token.page if next_page_token else 1,
            "orderby": "id",
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
        entries: list[SettledMoney] = []
        for window in windows(start, now, self.settings.window):
            self._query = window.query()
            for order in self.request_records(context):
                entries.extend(self._settled(order))
        settings = EstimateSettings(
            self.settings.store, self.settings.payout_gateways, self.settings.payout_delay_days
        )
        # The first whole store-local day: days before it may miss payments read earlier.
        first_day = (start + timedelta(days=1)).date()
        yield from estimate_payouts(entries, settings, now=now, first_day=first_day)

    def _settled(self, order: dict[str, Any]) -> list[SettledMoney]:
        order_id = str(order.get("id"))
        if skip_reason(order) is not None or order.get("status") == "trash":
            return []
        try:
            record = normalize_order(order, self.settings.store)
            local_paid, utc_paid = _local_and_utc(order, "date_paid")
            entries = payment_entries(record, local_paid, utc_paid)
            if order.get("refunds"):
                parent = refund_parent(order)
                for refund in self.get_json(
                    f"/orders/{order_id}/refunds?per_page={REFUNDS_PER_PAGE}"
                ):
                    canonical = normalize_refund(refund, parent, self.settings.store)
                    local, utc = _local_and_utc(refund, "date_created")
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
