"""`GET /wc/v3/orders` parameters: validation, filtering, ordering, paging (pure).

Parameters and defaults are WooCommerce's `WC_REST_CRUD_Controller::get_collection_params()`
and `WC_REST_Orders_Controller::get_collection_params()` (v3): `page` (>= 1, default 1),
`per_page` (1..100, default 10), `offset`, `after`/`before` (created), `modified_after`/
`modified_before`, `dates_are_gmt` (default false), `order` (asc|desc, default desc), `orderby`
(date, id, include, title, slug, modified; default date; date and modified get ID as tie-break),
`status` (array of any, trash and the order statuses; default any), `include`, `exclude`,
`customer`. Validation errors are WordPress's (`rest_validate_value_from_schema`).
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/rest-api/Controllers/Version3/class-wc-rest-crud-controller.php
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/rest-api/Controllers/Version3/class-wc-rest-orders-controller.php

Date filters follow `WP_Date_Query` (what the controller's `date_query` becomes): a value with
a UTC offset is first converted to the site timezone, a value without one is taken as is, and
the result is compared, exclusive, with the local column or (`dates_are_gmt`) the GMT column.
https://developer.wordpress.org/reference/classes/wp_date_query/build_mysql_datetime/
`status=any` maps to WordPress's post_status "any", which leaves out trash.
https://developer.wordpress.org/reference/classes/wp_query/#status-parameters
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kconnector_sandbox.woocommerce.order_documents import WP_DATE_FORMAT
from kconnector_sandbox.woocommerce.wp_json import invalid_params

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from kconnector_sandbox.woocommerce.order_documents import Document

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
STATUS_ENUM = ("any", "trash", *ORDER_STATUSES)
ORDERBY_ENUM = ("date", "id", "include", "title", "slug", "modified")
ORDER_ENUM = ("asc", "desc")
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}(:\d{2})?)?$"
)
_INTEGER = re.compile(r"^-?\d+$")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})
_DATE_PARAMS = ("after", "before", "modified_after", "modified_before")


@dataclass(frozen=True)
class OrderQuery:
    """A validated orders query (date bounds already in the compared column's time space)."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    offset: int | None = None
    after: str | None = None
    before: str | None = None
    modified_after: str | None = None
    modified_before: str | None = None
    dates_are_gmt: bool = False
    orderby: str = "date"
    order: str = "desc"
    statuses: frozenset[str] | None = None  # None: any (everything but trash)
    include: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    customer: int | None = None


def wp_list(items: Sequence[str]) -> str:
    """`wp_sprintf( '%l', ... )`: "a", "a and b", "a, b, and c"."""
    if len(items) <= 2:  # noqa: PLR2004 - the two-item form
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _values(params: Sequence[tuple[str, str]], name: str) -> list[str]:
    """All values of `name` or `name[]`, comma lists split (`wp_parse_list`)."""
    found: list[str] = []
    for key, value in params:
        if key in {name, f"{name}[]"}:
            found.extend(part.strip() for part in value.split(",") if part.strip())
    return found


def _last(params: Sequence[tuple[str, str]], name: str) -> str | None:
    value = None
    for key, raw in params:
        if key == name:
            value = raw
    return value


def _site_datetime(value: str, timezone: str) -> str:
    """`WP_Date_Query::build_mysql_datetime` for a full date-time string."""
    normalized = value.replace("t", "T").replace(" ", "T").replace("z", "Z")
    moment = datetime.fromisoformat(normalized)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    return moment.strftime(WP_DATE_FORMAT)


def _integer(
    raw: str | None,
    name: str,
    problems: dict[str, tuple[str, str]],
    *,
    bounds: tuple[int, int | None],
) -> int | None:
    if raw is None:
        return None
    if not _INTEGER.match(raw.strip()):
        problems[name] = ("rest_invalid_type", f"{name} is not of type integer.")
        return None
    value = int(raw)
    low, high = bounds
    if high is not None and not low <= value <= high:
        message = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
        problems[name] = ("rest_out_of_bounds", message)
    elif high is None and value < low:
        problems[name] = ("rest_out_of_bounds", f"{name} must be greater than or equal to {low}")
    return value


def _enum(
    raw: str | None, name: str, allowed: Sequence[str], problems: dict[str, tuple[str, str]]
) -> str | None:
    if raw is not None and raw not in allowed:
        problems[name] = ("rest_not_in_enum", f"{name} is not one of {wp_list(list(allowed))}.")
        return None
    return raw


def _ids(params: Sequence[tuple[str, str]], name: str) -> tuple[int, ...]:
    """`wp_parse_id_list`: absint of each item, duplicates dropped."""
    ids: list[int] = []
    for value in _values(params, name):
        number = abs(int(value)) if _INTEGER.match(value) else 0
        if number not in ids:
            ids.append(number)
    return tuple(ids)


def parse_order_query(params: Sequence[tuple[str, str]], timezone: str) -> OrderQuery:
    """Validate the list parameters the way WordPress and WooCommerce do.

    Raises:
        WPError: `rest_invalid_param` naming every invalid parameter.
    """
    problems: dict[str, tuple[str, str]] = {}
    page = _integer(_last(params, "page"), "page", problems, bounds=(1, None))
    per_page = _integer(_last(params, "per_page"), "per_page", problems, bounds=(1, MAX_PER_PAGE))
    offset = _integer(_last(params, "offset"), "offset", problems, bounds=(-(2**63), None))
    dates: dict[str, str | None] = {}
    for name in _DATE_PARAMS:
        raw = _last(params, name)
        if raw is not None and not _RFC3339.match(raw):
            problems[name] = ("rest_invalid_date", "Invalid date.")
            raw = None
        dates[name] = _site_datetime(raw, timezone) if raw is not None else None
    gmt_raw = _last(params, "dates_are_gmt")
    if gmt_raw is not None and gmt_raw.lower() not in _TRUE | _FALSE:
        problems["dates_are_gmt"] = ("rest_invalid_type", "dates_are_gmt is not of type boolean.")
    orderby = _enum(_last(params, "orderby"), "orderby", ORDERBY_ENUM, problems)
    order = _enum(_last(params, "order"), "order", ORDER_ENUM, problems)
    statuses = _values(params, "status") or ["any"]
    for index, status in enumerate(statuses):
        if status not in STATUS_ENUM:
            message = f"status[{index}] is not one of {wp_list(list(STATUS_ENUM))}."
            problems["status"] = ("rest_not_in_enum", message)
            break
    customer = _integer(_last(params, "customer"), "customer", problems, bounds=(-(2**63), None))
    if problems:
        raise invalid_params(problems)
    return OrderQuery(
        page=page or 1,
        per_page=per_page or DEFAULT_PER_PAGE,
        offset=abs(offset) if offset is not None else None,
        after=dates["after"],
        before=dates["before"],
        modified_after=dates["modified_after"],
        modified_before=dates["modified_before"],
        dates_are_gmt=gmt_raw is not None and gmt_raw.lower() in _TRUE,
        orderby=orderby or "date",
        order=order or "desc",
        statuses=None if "any" in statuses else frozenset(statuses),
        include=_ids(params, "include"),
        exclude=_ids(params, "exclude"),
        customer=abs(customer) if customer is not None else None,
    )


def _matches(order: Document, query: OrderQuery) -> bool:
    status = order["status"]
    if query.statuses is None:
        if status == "trash":
            return False
    elif status not in query.statuses:
        return False
    if query.include and order["id"] not in query.include:
        return False
    if order["id"] in query.exclude:
        return False
    if query.customer is not None and order["customer_id"] != query.customer:
        return False
    suffix = "_gmt" if query.dates_are_gmt else ""
    created = order[f"date_created{suffix}"]
    modified = order[f"date_modified{suffix}"]
    return (
        (query.after is None or created > query.after)
        and (query.before is None or created < query.before)
        and (query.modified_after is None or modified > query.modified_after)
        and (query.modified_before is None or modified < query.modified_before)
    )


def post_title(order: Document) -> str:
    """The order post's title, e.g. "Order &ndash; November 2, 2026 @ 10:15 AM"."""
    moment = datetime.fromisoformat(order["date_created"])
    hour = moment.strftime("%I").lstrip("0") or "12"
    stamp = f"{moment:%B} {moment.day}, {moment.year} @ {hour}:{moment:%M %p}"
    return f"Order &ndash; {stamp}"


def post_slug(order: Document) -> str:
    """The order post's slug, e.g. "order-nov-02-2026-1015-am"."""
    moment = datetime.fromisoformat(order["date_created"])
    return f"order-{moment:%b-%d-%Y-%I%M-%p}".lower()


def _sort_key(order: Document, query: OrderQuery) -> tuple[str | int, int]:
    order_id = int(order["id"])
    if query.orderby == "date":
        return order["date_created"], order_id
    if query.orderby == "modified":
        return order["date_modified"], order_id
    if query.orderby == "include":
        position = (
            query.include.index(order_id) if order_id in query.include else len(query.include)
        )
        return position, order_id
    if query.orderby == "title":
        return post_title(order), order_id
    if query.orderby == "slug":
        return post_slug(order), order_id
    return order_id, order_id


def select_page(orders: Iterable[Document], query: OrderQuery) -> tuple[list[Document], int]:
    """(this page's orders, total matching) — `offset`, when given, overrides `page`."""
    matched = [order for order in orders if _matches(order, query)]
    # `orderby=include` is WP_Query's `post__in` order, which ignores `order`.
    descending = query.order == "desc" and query.orderby != "include"
    matched.sort(key=lambda order: _sort_key(order, query), reverse=descending)
    start = query.offset if query.offset is not None else (query.page - 1) * query.per_page
    return matched[start : start + query.per_page], len(matched)


def total_pages(total: int, per_page: int) -> int:
    """`ceil(total / per_page)` as the controller sends in X-WP-TotalPages."""
    return -(-total // per_page)
