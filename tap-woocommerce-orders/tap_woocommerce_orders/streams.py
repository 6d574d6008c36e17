"""The tap's streams: canonical `orders` (incremental) and their `refunds` (child stream).

Orders (`GET /wp-json/wc/v3/orders`, https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders):
from the bookmark minus the lookback window up to the start of the run, in closed windows of at
most `window_days`, each read with `modified_after`/`modified_before`/`dates_are_gmt=true`,
`orderby=modified&order=asc`, page by page (`PageWalk` steps back when an order leaves the
window while it is read; repeats are dropped by id). When more than one window is left, one
request of one order finds where the next orders are (`read_plan`): empty stretches are skipped.

Statuses: `status=any` leaves trashed orders out, and `any` in a list wins over everything else
in it (`WC_REST_Orders_Controller::prepare_objects_query` stops at `any`), so `any,trash` is
not all orders. With `statuses` = any + trash the tap asks the store for its registered order
statuses once (`reports/orders/totals`) and reads `<every status>,trash` in one pass; only
when that list is unavailable is trash read in a second pass. Trashed orders are emitted with
status `deleted`.

State: the bookmark is the largest `updated_at` (`date_modified_gmt`) emitted. Because the
reads are sorted by modification date, a STATE is also written after every page's worth of
records, carrying `resume_from`: the moment before which every order was emitted. A run
restarted from such a STATE (interrupted, killed) reads from there (minus the lookback window)
instead of from the last completed run's bookmark, so it re-emits about one page; a run that
completes drops `resume_from`.

Refunds (`GET /wp-json/wc/v3/orders/{id}/refunds`): read only for orders emitted in this run
that have refunds (`refunds[]` embedded in the order), i.e. orders that changed: a new refund
changes its order's `date_modified`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from kconnector_canonical import singer_schema
from tap_woocommerce_orders.client import WooCommerceStream
from tap_woocommerce_orders.date_windows import DateWindow, whole_second
from tap_woocommerce_orders.list_paginator import PageToken, WordPressListPaginator
from tap_woocommerce_orders.order_normalizer import normalize_order, skip_reason
from tap_woocommerce_orders.payout_estimate import payment_entries, refund_entries
from tap_woocommerce_orders.read_plan import needs_probe, next_window, resume_point
from tap_woocommerce_orders.refund_normalizer import RefundParent, normalize_refund, refund_parent
from tap_woocommerce_orders.settled_cache import SettledCache, SettledOrder
from tap_woocommerce_orders.store_errors import ErrorClass, StoreError, StoreObjectGoneError
from tap_woocommerce_orders.tax_rates import rate_ids_without_percent
from tap_woocommerce_orders.wc_values import (
    SourceValueError,
    gmt_datetime,
    local_and_utc,
    wc_decimal,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_woocommerce_orders.settings import StoreSettings

REFUNDS_PER_PAGE = 100
# The state key of the moment before which every order was emitted (an unfinished run's).
RESUME_KEY = "resume_from"
# Block-checkout drafts are not orders yet: never asked for when the statuses are listed.
NOT_ORDERS = frozenset({"checkout-draft"})
# Walks of one window while orders keep moving inside it (see `_window_orders`).
MAX_WINDOW_WALKS = 3
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


class ModifiedOrderReads(WooCommerceStream):
    """Orders read window by window in modification order, skipping empty stretches."""

    def read_windows(
        self, start: datetime, upper: datetime, statuses: list[str]
    ) -> Iterable[DateWindow]:
        """The windows of [start, upper) that may hold orders, one after another.

        The caller reads each window completely before asking for the next one.
        """
        cursor = start
        while True:
            first: datetime | None = None
            if needs_probe(cursor, upper, self.settings.window):
                found = [
                    moment
                    for status in statuses
                    if (moment := self.first_modified(DateWindow(cursor, upper).query(), status))
                    is not None
                ]
                if not found:
                    return
                first = min(found)
            window = next_window(cursor, upper, self.settings.window, first)
            if window is None:
                return
            yield window
            cursor = window.end


class OrdersStream(ModifiedOrderReads):
    """Canonical orders, incremental on `updated_at` (WooCommerce's `date_modified_gmt`)."""

    name = "orders"
    path = "/orders"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    # The bookmark is the largest `updated_at` emitted; the store's sort (site-local time) may
    # differ from it for an hour a year, so resumability is `resume_from` (see the module).
    is_sorted = False
    schema: ClassVar[dict[str, Any]] = singer_schema("orders")

    def __init__(
        self,
        tap: Tap,
        settings: StoreSettings,
        parents: RefundParents,
        settled: SettledCache | None = None,
    ) -> None:
        """Bind to the settings, the refunds' shared order facts and the payouts' cache."""
        super().__init__(tap=tap, settings=settings)
        self.parents = parents
        self.settled = settled or SettledCache()
        self.rate_percents: dict[str, Decimal] = {}
        self._paginator: WordPressListPaginator | None = None
        self._status_plan: list[str] | None = None
        self.window_disturbed = False
        # A STATE after every page's worth of records: a resumed run re-emits about one page.
        self.STATE_MSG_FREQUENCY = settings.per_page
        # "Now", the last window's end: injectable, so no test depends on the wall clock.
        self.clock: Callable[[], datetime] = _utc_now

    def get_new_paginator(self) -> WordPressListPaginator:
        """Positional pages that survive orders leaving the window."""
        self._paginator = WordPressListPaginator(self.settings.per_page)
        return self._paginator

    def get_url_params(
        self, context: Context | None, next_page_token: PageToken | None
    ) -> dict[str, Any]:
        """Window, status, order (modification date ascending) and page."""
        params: dict[str, Any] = {
            "per_page": self.settings.per_page,
            "page": next_page_token.page if next_page_token else 1,
            "orderby": "modified",
            "order": "asc",
        }
        if context:
            params.update(
                {k: context[k] for k in ("modified_after", "modified_before", "dates_are_gmt")}
            )
            params["status"] = context["status"]
        return params

    def _read_window_start(self, context: Context | None) -> datetime:
        resume = self.get_context_state(context).get(RESUME_KEY)
        start = self.get_starting_timestamp(context) or self.settings.start_date
        if isinstance(resume, str) and resume:
            try:
                moment = datetime.fromisoformat(resume)
                start = (
                    moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
                )
            except ValueError:
                self.logger.warning(
                    "state: %s is not a date; the run starts from the bookmark", RESUME_KEY
                )
        if start > self.settings.start_date:
            start = max(self.settings.start_date, start - self.settings.lookback)
        return start

    def _status_passes(self) -> list[str]:
        """The `status` value of each pass over a window (one, unless trash must go alone)."""
        if self._status_plan is None:
            listed = list(self.settings.statuses)
            if not self.settings.include_trash:
                self._status_plan = [",".join(listed)]
            elif listed != ["any"]:
                self._status_plan = [",".join([*listed, "trash"])]
            else:
                registered = [s for s in self.registered_statuses() or [] if s not in NOT_ORDERS]
                self._status_plan = (
                    [",".join([*registered, "trash"])] if registered else ["any", "trash"]
                )
        return self._status_plan

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every order modified from the bookmark (minus lookback) to now, window by window."""
        upper = whole_second(self.clock())
        start = self._read_window_start(context)
        passes = self._status_passes()
        state = self.get_context_state(context)
        for window in self.read_windows(start, upper, passes):
            for status in passes:
                for order, modified in self._window_orders(window, status):
                    # Set before the record goes out: the STATE that follows it covers it.
                    # Two passes, or orders moving inside the window: only its start is safe.
                    exact = len(passes) == 1 and not self.window_disturbed
                    resume = resume_point(modified, window) if exact else window.start
                    state[RESUME_KEY] = resume.isoformat()
                    yield order
        state.pop(RESUME_KEY, None)
        # Payouts need every status but trash: a narrower `statuses` leaves them to read alone.
        if "any" in self.settings.statuses:
            self.settled.mark_covered(start, upper)

    def _window_orders(
        self, window: DateWindow, status: str
    ) -> Iterable[tuple[dict[str, Any], datetime]]:
        """Every order of the window, each version once; read again if orders moved inside it.

        An order edited while the window is read normally leaves it (edits are stamped after
        the run's start). With the store's clock behind the tap's, the edit can land INSIDE
        the window: the order moves to the end of the modification order, every order after
        its old position moves up one, and the next page passes over one of them without the
        total changing. A moved order shows up again with a new `date_modified_gmt`: the
        window is then walked once more (repeats dropped), until a walk sees no move.
        """
        seen: set[tuple[str, datetime]] = set()
        seen_ids: set[str] = set()
        self.window_disturbed = False
        for walk in range(MAX_WINDOW_WALKS):
            moved = False
            for order, modified in self._walk(window, status):
                order_id = str(order.get("id"))
                if (order_id, modified) in seen:
                    continue
                if order_id in seen_ids:
                    moved = self.window_disturbed = True
                seen.add((order_id, modified))
                seen_ids.add(order_id)
                yield order, modified
            if not moved:
                return
            if walk + 1 < MAX_WINDOW_WALKS:
                self.logger.warning(
                    "orders moved inside window %s..%s while it was read (the store's clock "
                    "runs behind): the window is read again",
                    window.start.isoformat(),
                    window.end.isoformat(),
                )
        self.logger.warning(
            "orders kept moving inside window %s..%s: the next run's lookback window re-reads it",
            window.start.isoformat(),
            window.end.isoformat(),
        )

    def _walk(self, window: DateWindow, status: str) -> Iterable[tuple[dict[str, Any], datetime]]:
        """One page walk over the window: each order with its modification moment."""
        for order in self.request_records({**window.query(), "status": status}):
            order_id = str(order.get("id"))
            modified = gmt_datetime(order.get("date_modified_gmt"), "date_modified_gmt")
            if modified is None or not window.contains(modified):
                raise StoreError(
                    FILTER_IGNORED.format(order_id=order_id),
                    error_class=ErrorClass.SYSTEM,
                    setting=None,
                    code=None,
                )
            yield order, modified
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
            if self.settled.wanted() and row.get("status") != "trash":
                self._keep_settled(row, record)
        except SourceValueError as exc:
            raise StoreError(
                UNREADABLE_ORDER.format(order_id=order_id, problem=exc),
                error_class=ErrorClass.DATA,
                setting=None,
                code=None,
            ) from exc
        return record

    def _keep_settled(self, row: dict[str, Any], record: dict[str, Any]) -> None:
        """Leave the order's payments (and which refunds it has) for the payouts stream."""
        modified = gmt_datetime(row.get("date_modified_gmt"), "date_modified_gmt")
        if modified is None:
            return
        local_paid, utc_paid = local_and_utc(row, "date_paid")
        refund_ids = frozenset(str(refund.get("id")) for refund in row.get("refunds") or [])
        self.settled.keep_order(
            record["source_id"],
            SettledOrder(
                modified=modified,
                payments=payment_entries(record, local_paid, utc_paid),
                parent=refund_parent(row, self.rate_percents) if refund_ids else None,
                refunds_expected=refund_ids,
            ),
        )

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

    def __init__(
        self,
        tap: Tap,
        settings: StoreSettings,
        parents: RefundParents,
        settled: SettledCache | None = None,
    ) -> None:
        """Bind to the settings, the orders' shared facts and the payouts' cache."""
        super().__init__(tap=tap, settings=settings)
        self.parents = parents
        self.settled = settled or SettledCache()

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
            if self.settled.wanted():
                local, utc = local_and_utc(row, "date_created")
                settled = [] if local is None or utc is None else refund_entries(record, local, utc)
                self.settled.keep_refund(order_id, refund_id, settled)
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
