"""The canonical `orders` and `refunds` streams, read from the Shopify orders that changed.

- Incremental on `updated_at`: a run reads orders updated from (bookmark - lookback) to now,
  sorted by `UPDATED_AT` (https://shopify.dev/docs/api/admin-graphql/latest/queries/orders), so
  the bookmark advances record by record and a crashed run resumes from what it emitted. The
  bookmark is inclusive; an order read twice in a run (window boundaries) is emitted once.
- History older than `bulk_threshold_days` is read with one bulk operation whose id is kept in
  the state, so an interrupted run resumes waiting for it instead of starting another. So is a
  newer range holding `bulk_min_orders` orders or more (a first run over a busy shop's last
  month, a catch-up after a long pause): paged, each order costs about 180 points of Shopify's
  throttle, in bulk about 10.
- An interrupted run resumes where it stopped: every page (`page_size` orders, in a bulk result
  as in paged reads) a STATE message carries the run's position (`resume.py`), and the next run
  skips what came before it: at most one page is emitted again.
- Newer history is cut into windows small enough to page through (`windows.py`).
- Deleted orders come from `events` with `action:destroy` on subject type ORDER
  (https://shopify.dev/docs/api/admin-graphql/latest/queries/events) as `deleted` tombstones.
- Refunds are read inside their order (a refund updates the order's `updated_at`) and emitted
  by the child stream right after it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, cast

from kconnector_canonical import singer_schema
from kconnector_canonical.http_session import GuardedSession
from tap_shopify_orders.bulk import FINISHED_BAD, BulkRunner, group_rows, read_lines
from tap_shopify_orders.client import SCOPE_FIX, ShopifyStream
from tap_shopify_orders.connections import complete_order
from tap_shopify_orders.errors import (
    BulkOperationError,
    QueryCostTooHighError,
    ShopifyFatalError,
    ShopifyRetriableError,
)
from tap_shopify_orders.normalise import Normalised, Store, normalise_order
from tap_shopify_orders.queries import (
    DELETED_ORDERS,
    LIST_BY_FIELD,
    ORDER_REFUNDS,
    ORDERS_COUNT,
    ORDERS_PAGE,
    SHOP_ACCESS,
    nodes_query,
)
from tap_shopify_orders.resume import RESUME_STATE_KEY, ResumeCursor
from tap_shopify_orders.shopify_values import legacy_id, timestamp
from tap_shopify_orders.tombstones import deleted_order
from tap_shopify_orders.windows import WINDOW_TARGET, Window, plan_windows, utc_z

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk.helpers.types import Context

JSON = dict[str, Any]

# Without read_all_orders Shopify returns only the last 60 days of orders
# (https://shopify.dev/docs/api/usage/access-scopes#orders-permissions).
DEFAULT_ORDER_HISTORY = timedelta(days=60)
BULK_STATE_KEY = "bulk_operation"
DOWNLOAD_TIMEOUT_SECONDS = 300  # one wait for bytes of a bulk result
# The whole bulk result: an hour reads well over a gigabyte even on a slow line.
BULK_DOWNLOAD_DEADLINE_SECONDS = 3600.0
HYDRATE_BATCH = 5  # orders per `nodes(ids:)` query when reading their refunds
# A range of at least this many orders is read in bulk whatever its age. Paged, an order costs
# about 180 points (its nested connections), so 1,000 orders take 30 minutes of the Standard
# plan's 100 points/s; in bulk about 10 (refunds and fulfillments read by id, bench/RESULTS.md,
# "Backfill at QuickBooks' limits"). Fewer are paged: no operation to wait for, records as they
# come (scheduled polls and real-time windows hold a few orders).
BULK_MIN_ORDERS = 1000
FULFILLMENT_BATCH = 25  # fulfillments (each with 10 line items) per `nodes(ids:)` query


def wall_clock() -> datetime:
    """The current time in UTC (the stream's default clock; tests inject their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ShopAccess:
    """What the shop and the token allow, read once at the start of a run."""

    currency: str
    timezone: str | None
    scopes: frozenset[str]
    domain: str | None = None


def read_shop_access(graphql: Callable[[str, str, dict[str, Any]], JSON]) -> ShopAccess:
    """Ask Shopify for the shop's currency, zone and domain and the token's access scopes."""
    data = graphql("ShopAccess", SHOP_ACCESS, {})
    shop = data.get("shop") or {}
    installation = data.get("currentAppInstallation") or {}
    scopes = frozenset(str(scope.get("handle")) for scope in installation.get("accessScopes") or [])
    return ShopAccess(
        str(shop.get("currencyCode")), shop.get("ianaTimezone"), scopes, shop.get("myshopifyDomain")
    )


class OrdersStream(ShopifyStream):
    """Canonical orders (and, through `RefundsStream`, their refunds)."""

    name = "orders"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = True
    schema = singer_schema("orders")

    window_target = WINDOW_TARGET
    bulk_min_orders = BULK_MIN_ORDERS
    # Orders between two checkpoints; None: one page (`page_size`).
    checkpoint_records: int | None = None
    bulk_poll_seconds = 5.0
    bulk_timeout_seconds = 6 * 3600.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        """Prepare the per-run buffers."""
        super().__init__(*args, **kwargs)
        self._pending_refunds: dict[str, list[JSON]] = {}
        # The page size Shopify accepted (lowered from `page_size` on MAX_COST_EXCEEDED), kept
        # for the rest of the run so that only one query per run is refused, not one per window.
        self._accepted_page_size: int | None = None
        self._access: ShopAccess | None = None
        # "Now" for the run's upper bound and the bulk threshold: injectable, so that no test
        # depends on the wall clock (a fixed start date would otherwise age into the bulk path).
        self.clock: Callable[[], datetime] = wall_clock

    @property
    def check_sorted(self) -> bool:
        """Off: lookback re-reads start below the bookmark on purpose.

        The SDK then keeps the highest `updated_at` emitted; the API's sort order is what makes
        it safe to resume from (checked per run in `get_records`).
        """
        return False

    # --- Singer hooks ---------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterable[JSON]:
        """Orders changed since the bookmark minus the lookback, deletions merged in by time.

        A run interrupted before it ended left its position in the state: this run starts there
        (no lookback: the interrupted run read everything before it) and skips what it emitted.
        """
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        cursor = ResumeCursor.read(self.stream_state.get(RESUME_STATE_KEY))
        since = self._since(context) if cursor is None else _moment(cursor.updated_at)
        if cursor is not None:
            self.logger.info("resuming an interrupted run after updated_at=%s", cursor.updated_at)
        access = self._shop_access(since, now)
        store = Store(self.settings.shop, access.timezone)
        deletions = self._deletions(Window(since, now), store, access.currency)
        # Records arrive sorted by updated_at, so a repeat (window or page overlap) carries the
        # current timestamp: remembering only the ids seen at that timestamp keeps memory flat.
        seen: set[str] = set(cursor.ids) if cursor else set()
        latest = cursor.updated_at if cursor else ""
        unsaved = 0  # records emitted since the last checkpoint
        every = self.checkpoint_records or self.settings.page_size
        for item in heapq.merge(
            deletions,
            self._changed_orders(Window(since, now), store, cursor),
            key=lambda n: str(n.order["updated_at"]),
        ):
            order = item.order
            order_id, updated_at = str(order["id"]), str(order["updated_at"])
            if cursor is not None and cursor.emitted(updated_at, order_id):
                continue
            if latest:
                # Everything yielded so far is written (the SDK writes a record, and its
                # children, before asking for the next one): this position covers it, in any
                # STATE message written from now on (the SDK writes one after each order's
                # refunds too), and in ours after every page.
                self.stream_state[RESUME_STATE_KEY] = ResumeCursor(latest, frozenset(seen)).state()
            if unsaved >= every:
                self._write_state_message()
                unsaved = 0
            if updated_at > latest:
                seen.clear()
                latest = updated_at
            elif updated_at < latest:
                self.logger.warning("orders out of updated_at order: id=%s", order["source_id"])
            if order_id in seen and updated_at == latest:
                continue
            seen.add(order_id)
            unsaved += 1
            self._pending_refunds = {order["source_id"]: item.refunds} if item.refunds else {}
            yield order
        self.stream_state.pop(RESUME_STATE_KEY, None)

    def generate_child_contexts(
        self, record: JSON, context: Context | None
    ) -> Iterable[Context | None]:
        """A context only for orders that have refunds (just the order id: no PII in logs)."""
        del context
        if record["source_id"] in self._pending_refunds:
            yield {"order_source_id": record["source_id"]}

    def take_refunds(self, order_source_id: str) -> list[JSON]:
        """The canonical refunds of the order just emitted."""
        return self._pending_refunds.pop(order_source_id, [])

    # --- the run's range and the shop -----------------------------------------------------

    def _since(self, context: Context | None) -> datetime:
        start = self.settings.start_date
        bookmark = self.get_starting_replication_key_value(context)
        if not bookmark:
            return start
        moment = datetime.fromisoformat(str(bookmark)).astimezone(UTC)
        rewound = moment - timedelta(minutes=self.settings.lookback_window_minutes)
        return max(rewound, start)

    def shop_access(self) -> ShopAccess:
        """The shop and the token's scopes, read once per run (the payouts stream asks too)."""
        if self._access is None:
            self._access = read_shop_access(self.graphql)
        return self._access

    def _shop_access(self, since: datetime, now: datetime) -> ShopAccess:
        access = self.shop_access()
        scopes = access.scopes
        if not scopes & {"read_orders", "write_orders"}:
            raise ShopifyFatalError(
                403,
                "the access token lacks the read_orders scope",
                SCOPE_FIX,
            )
        if "read_all_orders" not in scopes and since < now - DEFAULT_ORDER_HISTORY:
            self.logger.warning(
                "MISSING HISTORY: the token lacks the read_all_orders scope, so Shopify returns "
                "only orders of the last 60 days; orders updated between %s and %s will NOT be "
                "read. Grant read_all_orders to the custom app to read them.",
                utc_z(since),
                utc_z(now - DEFAULT_ORDER_HISTORY),
            )
        if access.domain and access.domain != self.settings.shop:
            self.logger.warning("shop=%s answers as %s", self.settings.shop, access.domain)
        return access

    # --- changed orders -------------------------------------------------------------------

    def _changed_orders(
        self, window: Window, store: Store, cursor: ResumeCursor | None
    ) -> Iterator[Normalised]:
        cutoff = window.end - timedelta(days=self.settings.bulk_threshold_days)
        saved = self.stream_state.get(BULK_STATE_KEY)
        start = window.start
        recent = Window(max(start, cutoff), window.end)
        # Counted once: the paging plan starts from the same range (no request more when paged).
        recent_count = self._count(recent, self.window_target)
        if not isinstance(saved, dict) and recent_count >= self.bulk_min_orders:
            self.logger.info(
                "%s orders or more updated since %s: read in bulk, not paged",
                self.bulk_min_orders,
                utc_z(recent.start),
            )
            cutoff = window.end
        if isinstance(saved, dict) or start < cutoff:
            bulk_window = self._bulk_window(saved, Window(start, cutoff))
            yield from self._bulk_orders(bulk_window, store, cursor)
            start = max(start, bulk_window.end)

        def count(part: Window, limit: int) -> int:
            if part == recent and limit <= self.window_target:
                return min(recent_count, limit)
            return self._count(part, limit)

        for part in plan_windows(Window(start, window.end), count, self.window_target):
            yield from self._paged_orders(part, store)

    def _count(self, window: Window, limit: int) -> int:
        search = window.search(include_test_orders=self.settings.include_test_orders)
        data = self.graphql("OrdersCount", ORDERS_COUNT, {"query": search, "limit": limit})
        return int((data.get("ordersCount") or {}).get("count") or 0)

    def _paged_orders(self, window: Window, store: Store) -> Iterator[Normalised]:
        search = window.search(include_test_orders=self.settings.include_test_orders)
        first = self._accepted_page_size or self.settings.page_size
        after: str | None = None
        while True:
            variables = {"first": first, "after": after, "query": search}
            try:
                data = self.graphql("OrdersPage", ORDERS_PAGE, variables)
            except QueryCostTooHighError as exc:
                first = _smaller_page(first, exc)
                self.logger.info(
                    "query cost %s over %s: page_size=%s", exc.cost, exc.max_cost, first
                )
                continue
            self._accepted_page_size = first
            page = data.get("orders") or {}
            for raw in page.get("nodes") or []:
                converted = self._normalise(raw, store)
                if converted is not None:
                    yield converted
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")

    def _normalise(self, raw: JSON, store: Store) -> Normalised | None:
        if raw.get("test") and not self.settings.include_test_orders:
            return None
        complete_order(raw, self.graphql)
        result = normalise_order(raw, store)
        for note in result.notes:
            self.logger.warning("explicit difference mapping: %s", note)
        return result

    # --- bulk -----------------------------------------------------------------------------

    def _bulk_window(self, saved: object, planned: Window) -> Window:
        if isinstance(saved, dict) and saved.get("start") and saved.get("end"):
            return Window(
                datetime.fromisoformat(str(saved["start"])),
                datetime.fromisoformat(str(saved["end"])),
            )
        return planned

    def _bulk_orders(
        self, window: Window, store: Store, cursor: ResumeCursor | None
    ) -> Iterator[Normalised]:
        """The orders of the bulk result, after `cursor` when resuming an interrupted run.

        A resumed run reads the kept operation's result again and skips what came before the
        cursor. When that operation can no longer deliver (failed, or its URL expired after
        seven days), a new one reads from the cursor's second on.
        """
        runner = BulkRunner(
            self.graphql,
            poll_seconds=self.bulk_poll_seconds,
            timeout_seconds=self.bulk_timeout_seconds,
        )
        if cursor is not None:
            window = Window(max(window.start, _moment(cursor.updated_at)), window.end)
        saved = self.stream_state.get(BULK_STATE_KEY)
        operation_id = saved.get("id") if isinstance(saved, dict) else None
        if operation_id and not self._resumable(runner, str(operation_id)):
            operation_id = None
        url = self._bulk_result_url(runner, operation_id and str(operation_id), window)
        lines = self._download(url) if url else []
        if url and lines is None:
            self.logger.warning(
                "bulk operation=%s: its result can no longer be downloaded (the URL expires "
                "seven days after the operation completes): starting a new one",
                legacy_id(str(self.stream_state[BULK_STATE_KEY]["id"])),
            )
            url = self._bulk_result_url(runner, None, window)
            lines = self._download(url) if url else []
            if url and lines is None:
                msg = "the result of a bulk operation just completed could not be downloaded"
                raise BulkOperationError(msg)
        orders = group_rows(lines or [])
        if cursor is not None:
            # Only what the interrupted run had not emitted is completed and normalised again.
            orders = [o for o in orders if str(timestamp(o["updatedAt"])) >= cursor.updated_at]
        self._hydrate(orders)
        for raw in orders:
            converted = self._normalise(raw, store)
            if converted is not None:
                yield converted
        self.stream_state.pop(BULK_STATE_KEY, None)

    def _bulk_result_url(
        self, runner: BulkRunner, operation_id: str | None, window: Window
    ) -> str | None:
        """Wait for the kept operation, or start one for `window`; its result URL."""
        if not operation_id:
            search = window.search(include_test_orders=self.settings.include_test_orders)
            operation_id = runner.start(search)
            self.stream_state[BULK_STATE_KEY] = {
                "id": operation_id,
                "start": utc_z(window.start),
                "end": utc_z(window.end),
            }
            # The id must survive a crash while Shopify works: write it now.
            self._write_state_message()
        self.logger.info(
            "bulk operation=%s window=%s..%s",
            legacy_id(operation_id),
            utc_z(window.start),
            utc_z(window.end),
        )
        return runner.wait(operation_id)

    def _resumable(self, runner: BulkRunner, operation_id: str) -> bool:
        """Whether a bulk operation kept in the state can still deliver its result."""
        try:
            status = runner.status(operation_id).status
        except BulkOperationError:
            status = "UNKNOWN"
        if status in FINISHED_BAD or status == "UNKNOWN":
            self.logger.warning(
                "bulk operation=%s from the state ended %s: starting a new one",
                legacy_id(operation_id),
                status,
            )
            return False
        return True

    def _download(self, url: str) -> list[str] | None:
        """The JSONL lines of a bulk result, retried like every request of the tap.

        None when the URL answers a client error (expired: the caller starts a new operation).
        """
        fetch = cast(
            "Callable[[str], list[str] | None]", self.request_decorator(cast("Any", _fetch_lines))
        )
        return fetch(url)

    def _hydrate(self, orders: list[JSON]) -> None:
        """Bulk results carry only the ids of refunds and the headers of fulfillments.

        Refunds are read again through their orders, fulfillments (with the first page of their
        line items) by their own ids; `complete_order` reads any further page.

        Raises:
            BulkOperationError: when Shopify no longer returns an object of the bulk result.
        """
        refunded = [order["id"] for order in orders if order.get("refunds")]
        found = self._nodes_by_id(refunded, "Order", ORDER_REFUNDS, HYDRATE_BATCH)
        shipped = [f["id"] for order in orders for f in order.get("fulfillments") or []]
        fulfillments = self._nodes_by_id(
            shipped, "Fulfillment", LIST_BY_FIELD["fulfillments"].item_fields, FULFILLMENT_BATCH
        )
        for order in orders:
            if order.get("refunds"):
                order["refunds"] = _found(found, order["id"])["refunds"]
            if order.get("fulfillments"):
                order["fulfillments"] = [
                    _found(fulfillments, f["id"]) for f in order["fulfillments"]
                ]

    def _nodes_by_id(self, ids: list[str], owner: str, fields: str, batch: int) -> dict[str, JSON]:
        found: dict[str, JSON] = {}
        for offset in range(0, len(ids), batch):
            chunk = ids[offset : offset + batch]
            data = self.graphql("Hydrate", nodes_query(owner, fields), {"ids": chunk})
            found.update({n["id"]: n for n in data.get("nodes") or [] if isinstance(n, dict)})
        return found

    # --- deletions ------------------------------------------------------------------------

    def _deletions(self, window: Window, store: Store, currency: str) -> list[Normalised]:
        search = (
            f"subject_type:ORDER AND action:destroy AND created_at:>='{utc_z(window.start)}'"
            f" AND created_at:<='{utc_z(window.end)}'"
        )
        tombstones: list[Normalised] = []
        after: str | None = None
        while True:
            data = self.graphql(
                "DeletedOrders", DELETED_ORDERS, {"first": 250, "after": after, "query": search}
            )
            events = data.get("events") or {}
            for event in events.get("nodes") or []:
                order_id = legacy_id(event.get("subjectId"))
                deleted_at = timestamp(event.get("createdAt"))
                if event.get("action") != "destroy" or not order_id or not deleted_at:
                    continue
                tombstones.append(
                    Normalised(deleted_order(order_id, deleted_at, currency, store), [])
                )
            info = events.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                break
            after = info.get("endCursor")
        return sorted(tombstones, key=lambda n: str(n.order["updated_at"]))


def _found(found: dict[str, JSON], node_id: str) -> JSON:
    if node_id not in found:
        msg = f"{node_id} of the bulk result could not be read again"
        raise BulkOperationError(msg)
    return found[node_id]


def _moment(text: str) -> datetime:
    """A timestamp the tap wrote (RFC 3339, Z) as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _fetch_lines(url: str) -> list[str] | None:
    # A signed URL on Shopify's storage: the access token is not sent there. The whole result
    # must arrive within its deadline (a stalled download is retried, never waited on forever).
    with GuardedSession(total_timeout=BULK_DOWNLOAD_DEADLINE_SECONDS) as session:
        response = session.get(url, timeout=DOWNLOAD_TIMEOUT_SECONDS)
        if response.status_code >= 500:  # noqa: PLR2004 - the server error range
            msg = f"bulk result download answered {response.status_code}"
            raise ShopifyRetriableError(msg)
        if response.status_code >= 400:  # noqa: PLR2004 - e.g. an expired URL (kept 7 days)
            return None
        return list(read_lines([response.content]))


def _smaller_page(first: int, exc: QueryCostTooHighError) -> int:
    if first <= 1:
        raise exc
    return max(1, min(first - 1, first * exc.max_cost // max(exc.cost, 1)))


class RefundsStream(ShopifyStream):
    """Canonical refunds, one per Shopify refund, read from the orders that changed."""

    name = "refunds"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = True
    parent_stream_type = OrdersStream
    state_partitioning_keys: ClassVar[list[str]] = []
    schema = singer_schema("refunds")

    @property
    def check_sorted(self) -> bool:
        """Off, as for orders: lookback re-reads start below the bookmark on purpose."""
        return False

    def get_records(self, context: Context | None) -> Iterable[JSON]:
        """The refunds of the order the parent stream just emitted."""
        if not context:
            return
        orders = self._tap.streams["orders"]
        if isinstance(orders, OrdersStream):
            yield from orders.take_refunds(str(context["order_source_id"]))
