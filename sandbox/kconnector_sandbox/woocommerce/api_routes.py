"""The vendor-facing side: `/wp-json/wc/v3/...` (or `/?rest_route=...`) as WordPress serves it.

Request pipeline, in the order a real stack applies it: injected network/server faults, the
host's WAF, the host's rate limit, WordPress routing (plain permalinks), a page cache, a
security plugin, WooCommerce authentication (`rest_authentication_errors`, key permissions in
`rest_pre_dispatch`, both before route matching), route matching (`rest_no_route`), parameter
validation (before the permission check, as `WP_REST_Server::respond_to_request` does), the
endpoint's permission check, then the endpoint.
https://developer.wordpress.org/reference/classes/wp_rest_server/
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.responses import Response

from kconnector_sandbox.faults import FaultKind
from kconnector_sandbox.runner import abort_connection
from kconnector_sandbox.woocommerce.api_keys import authenticate, cannot_view
from kconnector_sandbox.woocommerce.host_switches import (
    HTML_CONTENT_TYPE,
    front_page,
    gateway_page,
    is_scripted_agent,
    not_found_page,
    too_many_requests_page,
    waf_block_page,
)
from kconnector_sandbox.woocommerce.order_query import OrderQuery, parse_order_query, total_pages
from kconnector_sandbox.woocommerce.presentation import order_notes, present_order, present_refund
from kconnector_sandbox.woocommerce.store_state import LoggedRequest
from kconnector_sandbox.woocommerce.webhook_routes import serve_webhooks
from kconnector_sandbox.woocommerce.wp_json import WPError, json_response, no_route

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from starlette.requests import Request

    from kconnector_sandbox.woocommerce.emulator import WooCommerceEmulator
    from kconnector_sandbox.woocommerce.order_documents import Document

READ_FAULTS = frozenset(
    {
        FaultKind.THROTTLE,
        FaultKind.SERVER_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.UNAVAILABLE,
        FaultKind.RESET,
        FaultKind.SLOW,
    }
)
_ORDERS = re.compile(r"^/wc/v3/orders/?$")
_ORDER = re.compile(r"^/wc/v3/orders/(\d+)/?$")
_REFUNDS = re.compile(r"^/wc/v3/orders/(\d+)/refunds/?$")
_REFUND = re.compile(r"^/wc/v3/orders/(\d+)/refunds/(\d+)/?$")
_NOTES = re.compile(r"^/wc/v3/orders/(\d+)/notes/?$")
_ORDER_TOTALS = re.compile(r"^/wc/v3/reports/orders/totals/?$")
# `wc_get_order_statuses()`: the registered order statuses and their labels (trash is not one).
# https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/wc-order-functions.php
_STATUS_NAMES = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "checkout-draft": "Draft",
}
_ORDER_INVALID_ID = ("woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
_NOTES_ORDER_INVALID_ID = ("woocommerce_rest_shop_order_invalid_id", "Invalid order ID.")
_REFUND_INVALID_ID = ("woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.")
_INVALID_ORDER_ID = ("woocommerce_rest_invalid_order_id", "Invalid order ID.")
_INVALID_ORDER_REFUND_ID = ("woocommerce_rest_invalid_order_refund_id", "Invalid order refund ID.")
# WordPress's fatal-error handler answers REST requests with this JSON (wp_die in JSON mode).
_CRITICAL_ERROR = WPError(
    "internal_server_error",
    "<p>There has been a critical error on this website.</p>"
    '<p><a href="https://wordpress.org/documentation/article/faq-troubleshooting/">'
    "Learn more about troubleshooting WordPress.</a></p>",
    500,
    extra={},
)


@dataclass(frozen=True)
class RestCall:
    """One REST request, resolved: route, method, parameters, how it was addressed."""

    route: str
    method: str
    params: Sequence[tuple[str, str]]
    pretty_url: bool


def _html(body: bytes, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=HTML_CONTENT_TYPE, headers=headers)


def site_url_of(request: Request) -> str:
    """`http://host:port` of the request, no trailing slash."""
    return str(request.base_url).rstrip("/")


def rest_call_of(request: Request) -> RestCall | None:
    """The REST call a request addresses, or None when it is not a REST request."""
    path = request.url.path
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "rest_route"]
    if path == "/wp-json" or path.startswith("/wp-json/"):
        return RestCall(path[len("/wp-json") :] or "/", request.method, params, pretty_url=True)
    rest_route = request.query_params.get("rest_route")
    if path in {"/", "/index.php"} and rest_route is not None:
        return RestCall(rest_route or "/", request.method, params, pretty_url=False)
    return None


async def serve_site(emulator: WooCommerceEmulator, request: Request) -> Response:
    """Entry point for every non-admin request."""
    emulator.site_url = site_url_of(request)
    call = rest_call_of(request)
    name = emulator.profile.store_name
    if call is None:
        if request.url.path in {"/", "/index.php"}:
            return _html(front_page(name), 200)
        return _html(not_found_page(name), 404)
    response = await _serve_rest(emulator, request, call)
    emulator.state.log_request(
        LoggedRequest(
            call.method, call.route, response.status_code, request.headers.get("user-agent", "")
        )
    )
    return response


async def _fault_response(emulator: WooCommerceEmulator, request: Request) -> Response | None:
    fault = emulator.faults.draw(allowed=READ_FAULTS)
    if fault is FaultKind.SLOW:
        await asyncio.sleep(emulator.faults.plan.slow_seconds)
        return None
    if fault is FaultKind.RESET:
        abort_connection(request.scope)
        return Response(status_code=500)
    if fault is FaultKind.THROTTLE:
        return _html(too_many_requests_page(), 429, {"Retry-After": "1"})
    if fault is FaultKind.SERVER_ERROR:
        return _CRITICAL_ERROR.response()
    if fault in {FaultKind.BAD_GATEWAY, FaultKind.UNAVAILABLE}:
        status = int(fault.value)
        return _html(gateway_page(status), status)
    return None


def _host_response(
    emulator: WooCommerceEmulator, request: Request, call: RestCall
) -> Response | None:
    switches = emulator.switches
    name = emulator.profile.store_name
    if switches.waf_block_scripts and is_scripted_agent(request.headers.get("user-agent", "")):
        return _html(waf_block_page(), 403)
    if switches.rate_limit_per_minute > 0:
        wait = emulator.rate_limiter.retry_after(switches.rate_limit_per_minute)
        if wait is not None:
            return _html(too_many_requests_page(), 429, {"Retry-After": str(wait)})
    if switches.plain_permalinks and call.pretty_url:
        return _html(not_found_page(name), 404)
    if switches.html_cache:
        return _html(front_page(name), 200)
    if switches.rest_api_disabled:
        return WPError(
            "rest_login_required", "REST API restricted to authenticated users.", 401
        ).response()
    return None


async def _serve_rest(emulator: WooCommerceEmulator, request: Request, call: RestCall) -> Response:
    fault = await _fault_response(emulator, request)
    if fault is not None:
        return fault
    host = _host_response(emulator, request, call)
    if host is not None:
        return host
    authorization = (
        None if emulator.switches.strip_authorization else request.headers.get("authorization")
    )
    try:
        key = authenticate(emulator.keys, call.method, call.params, authorization)
        webhooks = await serve_webhooks(emulator, request, call.route, key)
        if webhooks is not None:  # /wc/v3/webhooks (webhook_routes.py)
            return webhooks
        if call.method not in {"GET", "HEAD"}:
            raise no_route()
        return _dispatch(emulator, call, authenticated=key is not None)
    except WPError as error:
        return error.response()


def _dispatch(emulator: WooCommerceEmulator, call: RestCall, *, authenticated: bool) -> Response:
    for pattern, collection, handler in _ROUTES:
        match = pattern.match(call.route)
        if match is None:
            continue
        query = parse_order_query(call.params, emulator.profile.timezone) if collection else None
        if not authenticated:
            raise cannot_view(collection=collection)
        return handler(emulator, call, [int(group) for group in match.groups()], query)
    raise no_route()


def rest_url(
    emulator: WooCommerceEmulator, route: str, params: Sequence[tuple[str, str]] = ()
) -> str:
    """`rest_url()` for this site: `/wp-json/...`, or `/?rest_route=...` with plain permalinks."""
    if emulator.switches.plain_permalinks:
        return f"{emulator.site_url}/?{urlencode([('rest_route', route), *params], safe='/')}"
    query = f"?{urlencode(list(params), safe='/')}" if params else ""
    return f"{emulator.site_url}/wp-json{route}{query}"


def _page_link(emulator: WooCommerceEmulator, call: RestCall, page: int) -> str:
    """`add_query_arg( 'page', $page, $base )` over the request's own query parameters."""
    params: list[tuple[str, str]] = []
    replaced = False
    for key, value in call.params:
        if key == "page":
            if not replaced:
                params.append(("page", str(page)))
                replaced = True
            continue
        params.append((key, value))
    if not replaced:
        params.append(("page", str(page)))
    return rest_url(emulator, call.route.rstrip("/"), params)


def _paged_response(
    emulator: WooCommerceEmulator,
    call: RestCall,
    items: list[Document],
    total: int,
    query: OrderQuery,
) -> Response:
    """The collection response with X-WP-Total, X-WP-TotalPages and Link (prev/next)."""
    max_pages = total_pages(total, query.per_page)
    links = []
    if query.page > 1:
        links.append(f'<{_page_link(emulator, call, min(query.page - 1, max_pages))}>; rel="prev"')
    if max_pages > query.page:
        links.append(f'<{_page_link(emulator, call, query.page + 1)}>; rel="next"')
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(max_pages)}
    if links:
        headers["Link"] = ", ".join(links)
    return json_response(items, headers=headers)


def _render(emulator: WooCommerceEmulator, order: Document) -> Document:
    return present_order(order, lambda route: rest_url(emulator, route), emulator.site_url)


def _list_orders(
    emulator: WooCommerceEmulator, call: RestCall, _ids: list[int], query: OrderQuery | None
) -> Response:
    query = query or OrderQuery()
    page, total = emulator.state.list_orders(query)
    response = _paged_response(emulator, call, [_render(emulator, o) for o in page], total, query)
    if not emulator.state.pending.is_empty():
        emulator.state.apply_pending_edits()
    return response


def _get_order(
    emulator: WooCommerceEmulator, _call: RestCall, ids: list[int], _query: OrderQuery | None
) -> Response:
    order = emulator.state.order(ids[0])
    if order is None:
        raise _error(*_ORDER_INVALID_ID, 404)
    return json_response(_render(emulator, order))


def _list_refunds(
    emulator: WooCommerceEmulator, call: RestCall, ids: list[int], query: OrderQuery | None
) -> Response:
    query = query or OrderQuery()
    order_id = ids[0]
    refunds = sorted(
        emulator.state.refunds(order_id),
        key=lambda r: (r["date_created"], r["id"]),
        reverse=query.order == "desc",
    )
    start = query.offset if query.offset is not None else (query.page - 1) * query.per_page
    page = refunds[start : start + query.per_page]
    served = [present_refund(r, order_id, lambda route: rest_url(emulator, route)) for r in page]
    return _paged_response(emulator, call, served, len(refunds), query)


def _get_refund(
    emulator: WooCommerceEmulator, _call: RestCall, ids: list[int], _query: OrderQuery | None
) -> Response:
    order_id, refund_id = ids
    parent = emulator.state.refund_parent(refund_id)
    if parent is None:
        raise _error(*_REFUND_INVALID_ID, 404)
    # The refunds controller passes a bare 404 as error data; WordPress then answers 500.
    if emulator.state.order(order_id) is None:
        raise _error(*_INVALID_ORDER_ID, 500, bare_404=True)
    if parent != order_id:
        raise _error(*_INVALID_ORDER_REFUND_ID, 500, bare_404=True)
    refund = next(r for r in emulator.state.refunds(order_id) if r["id"] == refund_id)
    return json_response(present_refund(refund, order_id, lambda route: rest_url(emulator, route)))


def _list_notes(
    emulator: WooCommerceEmulator, _call: RestCall, ids: list[int], _query: OrderQuery | None
) -> Response:
    order = emulator.state.order(ids[0])
    if order is None:
        raise _error(*_NOTES_ORDER_INVALID_ID, 404)
    notes = order_notes(order, emulator.profile.timezone, lambda route: rest_url(emulator, route))
    return json_response(notes)


def _order_totals(
    emulator: WooCommerceEmulator, _call: RestCall, _ids: list[int], _query: OrderQuery | None
) -> Response:
    """`GET /wc/v3/reports/orders/totals`: one row per registered order status, with its count.

    `WC_REST_Report_Orders_Totals_Controller::get_reports()`: slug (no `wc-`), name, total, for
    every status of `wc_get_order_statuses()` (so never trash).
    """
    counts = emulator.state.status_counts()
    rows = [
        {"slug": slug, "name": name, "total": counts.get(slug, 0)}
        for slug, name in _STATUS_NAMES.items()
    ]
    return json_response(rows)


def _error(code: str, message: str, status: int, *, bare_404: bool = False) -> WPError:
    return WPError(code, message, status, data_override=404 if bare_404 else None)


_ROUTES: tuple[tuple[re.Pattern[str], bool, Callable[..., Response]], ...] = (
    (_ORDERS, True, _list_orders),
    (_ORDER, False, _get_order),
    (_REFUNDS, True, _list_refunds),
    (_REFUND, False, _get_refund),
    (_NOTES, True, _list_notes),
    (_ORDER_TOTALS, False, _order_totals),
)
