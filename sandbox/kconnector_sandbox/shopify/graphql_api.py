"""The GraphQL Admin schema subset, executed with graphql-core against a shop's state.

Resolution maps a GraphQL field (``totalPriceSet``) to the model attribute (``total_price_set``);
connections (``*Connection``) are paginated here with opaque cursors. Limits follow Shopify:
``first``/``last`` at most 250 and required on connections
(https://shopify.dev/docs/api/usage/pagination-graphql), at most 25,000 objects reachable by
paging (https://shopify.dev/docs/api/usage/limits).
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, overload

from graphql import (
    GraphQLError,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    get_named_type,
)

from kconnector_sandbox.shopify.bulk import view
from kconnector_sandbox.shopify.model import Order
from kconnector_sandbox.shopify.payments_api import wire_payments
from kconnector_sandbox.shopify.search_syntax import compare, compile_query, parse_time
from kconnector_sandbox.shopify.versions import public_versions

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence

    from kconnector_sandbox.shopify.bulk import BulkOperationRecord, BulkOperationView
    from kconnector_sandbox.shopify.order_book import OrderSummary
    from kconnector_sandbox.shopify.state import ShopState

MAX_PAGE_SIZE = 250
PAGINATION_CAP = 25_000
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_DOCS_PAGINATION = "https://shopify.dev/api/usage/pagination-graphql"


@dataclass
class RequestContext:
    """What resolvers need for one request."""

    shop: ShopState
    api_version: str
    download_base: str
    bulk: bool = False  # a bulk run: connections ignore first/after and return everything
    warnings: list[dict[str, Any]] = field(default_factory=list)
    run_bulk: Callable[[str], dict[str, Any]] | None = None
    # A bulk run over many orders is executed a slice of the root `orders` at a time (so that
    # the result of a 100,000-order shop is never all in memory): the slice asked for, and how
    # many orders matched (set by the resolver; None when the query has no root `orders`).
    bulk_slice: tuple[int, int] | None = None
    bulk_matched: int | None = None
    # A bulk run's listings, fixed by its first slice: the later slices (run while the orders may
    # change) cut the same sorted matches. None outside bulk runs.
    pinned_listings: dict[Hashable, _Listing] | None = None


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _encode_cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> Any:  # noqa: ANN401 - cursors hold JSON
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError):
        msg = f"Invalid cursor for current pagination sort: {cursor}"
        raise GraphQLError(msg, extensions={"code": "BAD_REQUEST"}) from None


def _check_page_args(args: dict[str, Any], *, bulk: bool) -> None:
    if bulk:
        return
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        msg = "you must provide one of first or last"
        raise GraphQLError(
            msg, extensions={"code": "BAD_REQUEST", "documentation": _DOCS_PAGINATION}
        )
    for name, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE_SIZE:
            msg = (
                f"{name} cannot exceed {MAX_PAGE_SIZE}. To query larger amounts of data with fewer "
                "limits, bulk operations should be used instead."
            )
            raise GraphQLError(
                msg, extensions={"code": "BAD_REQUEST", "documentation": _DOCS_PAGINATION}
            )


class _Picked(SequenceABC[Any]):
    """The items at `positions`, each made when read.

    A bulk run reads a whole shop's orders: they are built one at a time, never all held at once.
    """

    def __init__(self, positions: list[int], make: Callable[[int], Any]) -> None:
        self._positions = positions
        self._make = make

    def __len__(self) -> int:
        return len(self._positions)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same items (it is one, made lazily)."""
        if not isinstance(other, SequenceABC):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable-like: a sequence value

    @overload
    def __getitem__(self, index: int) -> Any: ...  # noqa: ANN401 - any node
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._make(i) for i in self._positions[index]]
        return self._make(self._positions[index])


def paginate(
    items: Sequence[Any],
    keys: Sequence[Any],
    args: dict[str, Any],
    *,
    bulk: bool,
    cap: int | None = None,
) -> dict[str, Any]:
    """Relay-style page of `items` (sorted so that `keys`, item i's cursor value, ascend).

    Positions count in the requested direction (`reverse` walks the keys backwards); a cursor is
    found by bisection, so a page costs O(log n + page size) however large the shop. A cursor
    whose object is gone (deleted, or no longer matching the query) resumes at the first key
    past it, as Shopify's cursors (sort values, not offsets) do.
    """
    _check_page_args(args, bulk=bulk)
    size = len(items)
    reverse = bool(args.get("reverse"))

    def item_at(pos: int) -> int:
        return size - 1 - pos if reverse else pos

    start, end = 0, size
    if not bulk and args.get("after"):
        after = _decode_cursor(args["after"])
        # forward: first key > after; reverse: first key < after.
        start = size - bisect_left(keys, after) if reverse else bisect_right(keys, after)
    if not bulk and args.get("before"):
        before = _decode_cursor(args["before"])
        found = bisect_left(keys, before)
        if found < size and keys[found] == before:
            end = item_at(found)
    bound = end  # the `before` cursor's position (or the end)
    end = max(end, start)
    if not bulk:
        if args.get("first") is not None:
            end = min(end, start + args["first"])
        elif args.get("last") is not None:
            start = max(start, end - args["last"]) if args["last"] else end
    if cap is not None and not bulk and end > start and end - 1 >= cap:
        msg = f"Pagination is limited to {cap} objects; narrow the query with search filters."
        raise GraphQLError(
            msg, extensions={"code": "BAD_REQUEST", "documentation": _DOCS_PAGINATION}
        )
    window = [item_at(pos) for pos in range(start, end)]
    edges: Sequence[dict[str, Any]] = _Picked(
        window, lambda i: {"cursor": _encode_cursor(keys[i]), "node": items[i]}
    )
    nodes: Sequence[Any] = _Picked(window, items.__getitem__)
    if not bulk:  # a page (at most 250): plain lists
        edges, nodes = list(edges), list(nodes)
    return {
        "edges": edges,
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": end < size and (bound == size or end < bound),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


# Sort keys read an `OrderSummary` (or an `Order`: the same attributes).
_ORDER_SORT: dict[str, Callable[[Any], Any]] = {
    "UPDATED_AT": lambda o: [o.updated_at.isoformat(), o.legacy_resource_id],
    "CREATED_AT": lambda o: [o.created_at.isoformat(), o.legacy_resource_id],
    "PROCESSED_AT": lambda o: [o.processed_at.isoformat(), o.legacy_resource_id],
    "ORDER_NUMBER": lambda o: [int(o.name.lstrip("#")), o.legacy_resource_id],
    "TOTAL_PRICE": lambda o: [
        str(o.total_price_set.shop_money.amount.normalize()).zfill(20),
        o.legacy_resource_id,
    ],
}


def _context(info: GraphQLResolveInfo) -> RequestContext:
    context: RequestContext = info.context
    return context


def _require_scope(context: RequestContext, field_name: str, scope: str = "read_orders") -> None:
    if scope not in context.shop.scopes:
        msg = f"Access denied for {field_name} field. Required access: `{scope}` access scope."
        raise GraphQLError(
            msg,
            extensions={
                "code": "ACCESS_DENIED",
                "documentation": "https://shopify.dev/api/usage/access-scopes",
                "requiredAccess": f"`{scope}` access scope.",
            },
        )


def _require_orders_scope(context: RequestContext, field_name: str) -> None:
    _require_scope(context, field_name, "read_orders")


class _SortKeys(SequenceABC[Any]):
    """The cursor keys of sorted summaries, computed when read (bisection reads a few)."""

    def __init__(self, summaries: list[OrderSummary], sort: Callable[[Any], Any]) -> None:
        self._summaries = summaries
        self.sort = sort

    def __len__(self) -> int:
        return len(self._summaries)

    def part(self, start: int, stop: int) -> _SortKeys:
        """Keys `start` to `stop`."""
        return _SortKeys(self._summaries[start:stop], self.sort)

    @overload
    def __getitem__(self, index: int) -> Any: ...  # noqa: ANN401 - a sort key
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self.sort(o) for o in self._summaries[index]]
        return self.sort(self._summaries[index])


class _BuiltOrders(SequenceABC[Order]):
    """The orders of sorted summaries, each built when read."""

    def __init__(self, shop: ShopState, summaries: list[OrderSummary]) -> None:
        self._shop = shop
        self._summaries = summaries

    def __len__(self) -> int:
        return len(self._summaries)

    def part(self, start: int, stop: int) -> _BuiltOrders:
        """Orders `start` to `stop`."""
        return _BuiltOrders(self._shop, self._summaries[start:stop])

    def live(self) -> _BuiltOrders:
        """Without the orders deleted since the listing was made."""
        alive = self._shop.is_live
        return _BuiltOrders(self._shop, [o for o in self._summaries if alive(o.legacy_resource_id)])

    @property
    def summaries(self) -> list[OrderSummary]:
        """The orders' summaries, in order."""
        return self._summaries

    @overload
    def __getitem__(self, index: int) -> Order: ...
    @overload
    def __getitem__(self, index: slice) -> list[Order]: ...
    def __getitem__(self, index: int | slice) -> Order | list[Order]:
        if isinstance(index, slice):
            return [self._shop.find(o.legacy_resource_id) for o in self._summaries[index]]
        return self._shop.find(self._summaries[index].legacy_resource_id)


@dataclass(frozen=True)
class _Listing:
    """A query's matching orders in sort order, with their cursor keys (both built when read).

    Only the matching summaries are kept (a pointer each), so a listing of a 100,000-order shop
    costs under a megabyte.
    """

    orders: _BuiltOrders
    keys: _SortKeys

    def part(self, start: int, stop: int) -> _Listing:
        """Orders `start` to `stop` of the listing (a bulk run's slice), those still live."""
        orders = self.orders.part(start, stop).live()
        return _Listing(orders, _SortKeys(orders.summaries, self.keys.sort))


def _order_listing(context: RequestContext, query: str | None, sort_key: str) -> _Listing:
    """The orders matching `query`, sorted by `sort_key`; kept by the shop until it changes."""
    shop = context.shop
    now = shop.clock.now()
    search = compile_query(query, tz=shop.tz, now=now)
    if search.warnings:
        context.warnings.append(
            {
                "path": ["orders"],
                "query": query,
                "warnings": [{"field": None, "message": w} for w in search.warnings],
            }
        )
    # What the answer depends on besides the orders: the scopes, and the clock when the 60-day
    # window (no read_all_orders) or a relative `now` in the query moves with it.
    moving = "read_all_orders" not in shop.scopes or "now" in (query or "")
    key = ("orders", query, sort_key, shop.scopes, now if moving else None)

    sort: Callable[[Any], Any] = _ORDER_SORT.get(sort_key, lambda o: [o.legacy_resource_id])

    def build() -> _Listing:
        summaries = [o for o in shop.visible_summaries() if search.predicate(o)]
        summaries.sort(key=sort)
        return _Listing(_BuiltOrders(shop, summaries), _SortKeys(summaries, sort))

    pinned = context.pinned_listings
    if pinned is None:
        return shop.listing(key, build)
    pin = ("orders", query, sort_key)
    if pin not in pinned:
        pinned[pin] = shop.listing(key, build)
    return pinned[pin]


def _resolve_orders(_root: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:  # noqa: ANN401
    context = _context(info)
    _require_orders_scope(context, "orders")
    listing = _order_listing(context, args.get("query"), args.get("sortKey") or "ID")
    if context.bulk and context.bulk_slice is not None:
        context.bulk_matched = len(listing.keys)
        start, stop = context.bulk_slice
        listing = listing.part(start, stop)
    return paginate(listing.orders, listing.keys, args, bulk=context.bulk, cap=PAGINATION_CAP)


def _resolve_orders_count(_root: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:  # noqa: ANN401
    context = _context(info)
    _require_orders_scope(context, "ordersCount")
    count = len(_order_listing(context, args.get("query"), "ID").orders)
    limit = args.get("limit") or 10_000
    return {"count": min(count, limit), "precision": "AT_LEAST" if count > limit else "EXACT"}


def _parse_gid(value: str) -> tuple[str, int] | None:
    match = re.fullmatch(r"gid://shopify/(\w+)/(\d+)", value)
    return (match[1], int(match[2])) if match else None


# The access scope each kind of node needs (https://shopify.dev/docs/api/usage/access-scopes);
# every object inside an order needs the order's.
_NODE_SCOPES = {
    "Customer": "read_customers",
    "Product": "read_products",
    "ProductVariant": "read_products",
}


def _find_node(context: RequestContext, node_id: str) -> object | None:
    """Any object implementing Node, by its global id.

    https://shopify.dev/docs/api/admin-graphql/latest/queries/node: orders and everything with an
    id inside them (line items, transactions, refunds, refund shipping lines, order adjustments,
    fulfillments and their line items, events), customers, products, variants, bulk operations.
    """
    parsed = _parse_gid(node_id)
    if parsed is None:
        msg = f"Invalid global id '{node_id}'"
        raise GraphQLError(msg, extensions={"code": "argumentLiteralsIncompatible"})
    kind, legacy = parsed
    shop = context.shop
    if kind == "BulkOperation":
        for record in shop.bulk_operations:
            if record.legacy_id == legacy:
                return _bulk_view(context, record)
        return None
    _require_scope(context, "node", _NODE_SCOPES.get(kind, "read_orders"))
    found = shop.node(node_id)
    if found is None or getattr(found, "graphql_type", None) != kind:
        return None
    return found


def _bulk_view(context: RequestContext, record: BulkOperationRecord) -> BulkOperationView:
    shop = context.shop
    return view(record, shop.clock.monotonic(), context.download_base, shop.clock.now())


def _resolve_node(_root: object, info: GraphQLResolveInfo, **args: Any) -> object | None:  # noqa: ANN401
    return _find_node(_context(info), args["id"])


def _resolve_nodes(_root: object, info: GraphQLResolveInfo, **args: Any) -> list[object | None]:  # noqa: ANN401
    return [_find_node(_context(info), node_id) for node_id in args["ids"]]


def _resolve_order(_root: object, info: GraphQLResolveInfo, **args: Any) -> object | None:  # noqa: ANN401
    node = _find_node(_context(info), args["id"])
    return node if isinstance(node, Order) else None


def _resolve_events(_root: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:  # noqa: ANN401
    context = _context(info)
    shop = context.shop
    events = shop.all_events(_wanted_action(args.get("query")))
    predicate = _event_filter(args.get("query"), shop)
    events = [e for e in events if predicate(e)]
    if args.get("sortKey") == "CREATED_AT":
        events.sort(key=lambda e: (e.created_at, e.legacy_id))
        keys: list[Any] = [[e.created_at.isoformat(), e.legacy_id] for e in events]
    else:
        events.sort(key=lambda e: e.legacy_id)
        keys = [e.legacy_id for e in events]
    return paginate(events, keys, args, bulk=context.bulk)


def _wanted_action(query: str | None) -> str | None:
    """The single `action:` an events query asks for (None without one)."""
    actions = {
        token.partition(":")[2].strip("'\"")
        for token in (query or "").replace(" AND ", " ").split()
        if token.startswith("action:")
    }
    return actions.pop() if len(actions) == 1 else None


def _event_filter(query: str | None, shop: ShopState) -> Callable[[Any], bool]:
    """Event filters: action, subject_type, created_at (https://shopify.dev/docs/api/admin-graphql/2025-10/queries/events)."""
    wanted: dict[str, str] = {}
    times: list[tuple[str, datetime]] = []
    for token in (query or "").replace(" AND ", " ").split():
        name, _, value = token.partition(":")
        value = value.strip("'\"")
        if name in {"action", "subject_type"}:
            wanted[name] = value.upper() if name == "subject_type" else value
        elif name == "created_at":
            op = next((p for p in ("<=", ">=", "<", ">") if value.startswith(p)), "=")
            times.append((op, parse_time(value[len(op) if op != "=" else 0 :], shop.tz)))

    def matches(event: Any) -> bool:  # noqa: ANN401 - BasicEvent
        if "action" in wanted and event.action != wanted["action"]:
            return False
        if "subject_type" in wanted and event.subject_type != wanted["subject_type"]:
            return False
        return all(compare(op, event.created_at, moment) for op, moment in times)

    return matches


def _resolve_shop(_root: object, info: GraphQLResolveInfo) -> dict[str, Any]:
    profile = _context(info).shop.profile
    return {
        "id": f"gid://shopify/Shop/{zlib.crc32(profile.domain.encode())}",
        "name": profile.shop_name,
        "email": f"owner@{profile.domain}",
        "myshopify_domain": profile.domain,
        "currency_code": profile.currency,
        "iana_timezone": profile.iana_timezone,
        "taxes_included": profile.taxes_included,
        "plan": {"display_name": "Basic", "partner_development": False, "shopify_plus": False},
    }


def _resolve_installation(_root: object, info: GraphQLResolveInfo) -> dict[str, Any]:
    scopes = _context(info).shop.scopes
    return {
        "id": "gid://shopify/AppInstallation/1",
        "access_scopes": [{"handle": s, "description": s.replace("_", " ")} for s in scopes],
    }


def _resolve_current_bulk(_root: object, info: GraphQLResolveInfo, **args: Any) -> object | None:  # noqa: ANN401
    context = _context(info)
    if args.get("type", "QUERY") != "QUERY" or not context.shop.bulk_operations:
        return None
    return _bulk_view(context, context.shop.bulk_operations[-1])


def _resolve_versions(_root: object, _info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    return public_versions()


def _resolve_bulk_run(_root: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:  # noqa: ANN401
    context = _context(info)
    if context.run_bulk is None:
        msg = "bulk operations are not available here"
        raise GraphQLError(msg)
    return context.run_bulk(args["query"])


@lru_cache(maxsize=4096)
def field_resolver_for(name: str, return_type: GraphQLOutputType) -> Callable[..., Any]:
    """The default resolver of field `name` (of type `return_type`), made once per field.

    Dicts are read by key (camel or snake), objects by snake_case attribute; a list or tuple
    read for a ``*Connection`` is paginated; a tuple given ``first`` is truncated (not in bulk).
    """
    snake = _snake(name)
    connection = get_named_type(return_type).name.endswith("Connection")

    def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:  # noqa: ANN401
        if isinstance(source, dict):
            value = source[name] if name in source else source.get(snake)
        else:
            value = getattr(source, snake, None)
        if connection and isinstance(value, tuple | list):
            context = _context(info)
            return paginate(list(value), list(range(len(value))), args, bulk=context.bulk)
        if isinstance(value, tuple) and args.get("first") is not None and not _context(info).bulk:
            return list(value[: args["first"]])
        return value

    return resolve


def _field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:  # noqa: ANN401
    """Default resolver: `field_resolver_for` the field being resolved."""
    return field_resolver_for(info.field_name, info.return_type)(source, info, **args)


def _type_resolver(value: Any, _info: GraphQLResolveInfo, _abstract: Any) -> str | None:  # noqa: ANN401
    if isinstance(value, dict):
        return value.get("__typename")
    type_name: str | None = getattr(value, "graphql_type", None)
    if type_name is None and type(value).__name__ == "MoneyV2":
        return "MoneyV2"
    return type_name


def _serialize_decimal(value: Any) -> str:  # noqa: ANN401
    return str(value) if isinstance(value, Decimal) else str(Decimal(str(value)))


def _serialize_datetime(value: Any) -> str:  # noqa: ANN401
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def load_schema() -> GraphQLSchema:
    """Build the executable schema from ``schema.graphql`` and wire the resolvers."""
    sdl = resources.files("kconnector_sandbox.shopify").joinpath("schema.graphql").read_text()
    schema = build_schema(sdl)
    roots: dict[str, Callable[..., Any]] = {
        "orders": _resolve_orders,
        "ordersCount": _resolve_orders_count,
        "order": _resolve_order,
        "node": _resolve_node,
        "nodes": _resolve_nodes,
        "events": _resolve_events,
        "shop": _resolve_shop,
        "currentAppInstallation": _resolve_installation,
        "currentBulkOperation": _resolve_current_bulk,
        "publicApiVersions": _resolve_versions,
    }
    query_type = schema.query_type
    mutation_type = schema.mutation_type
    if query_type is None or mutation_type is None:
        msg = "schema.graphql must define the query and mutation roots"
        raise RuntimeError(msg)
    for name, resolver in roots.items():
        query_type.fields[name].resolve = resolver
    mutation_type.fields["bulkOperationRunQuery"].resolve = _resolve_bulk_run
    for type_name in ("Node", "DiscountApplication", "Event", "PricingValue"):
        abstract = schema.get_type(type_name)
        abstract.resolve_type = _type_resolver  # type: ignore[union-attr]
    schema.get_type("Decimal").serialize = _serialize_decimal  # type: ignore[union-attr]
    schema.get_type("DateTime").serialize = _serialize_datetime  # type: ignore[union-attr]
    schema.get_type("UnsignedInt64").serialize = str  # type: ignore[union-attr]
    wire_payments(schema, paginate)
    return schema


FIELD_RESOLVER = _field_resolver
