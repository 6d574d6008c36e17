"""The Shopify emulator: GraphQL Admin endpoint, bulk result downloads and the ``/__admin`` API.

Status codes and bodies (https://shopify.dev/docs/api/usage/response-codes): 401 with
``{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}``,
402 ``{"errors": "Unavailable Shop"}`` for a frozen shop, 404 ``{"errors": "Not Found"}``,
423 for a locked shop (https://shopify.dev/changelog/admin-api-requests-to-locked-stores-will-return-a-423-status-code-instead-of-420),
429 with ``Retry-After``, 5xx. Throttling of GraphQL is *not* a 429: the response is HTTP 200 with
an error whose ``extensions.code`` is ``THROTTLED`` and ``actualQueryCost: null``
(https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import TYPE_CHECKING, Any

from graphql import execute_sync
from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from kconnector_sandbox.faults import FaultInjector, FaultKind
from kconnector_sandbox.runner import abort_connection
from kconnector_sandbox.shopify.admin_api import AdminApi
from kconnector_sandbox.shopify.bulk import BulkFailure
from kconnector_sandbox.shopify.bulk_runner import BulkRunner
from kconnector_sandbox.shopify.cost import MAX_QUERY_COST, ActualCost, requested_cost
from kconnector_sandbox.shopify.documents import PreparedDocuments
from kconnector_sandbox.shopify.graphql_api import FIELD_RESOLVER, RequestContext, load_schema
from kconnector_sandbox.shopify.profiles import DEFAULT_PROFILE, PROFILES
from kconnector_sandbox.shopify.state import (
    ShopClock,
    ShopState,
    ShopStatus,
    utc_now_iso,
)
from kconnector_sandbox.shopify.versions import (
    SUPPORTED_VERSIONS,
    allows_concurrent_bulk_queries,
    resolve_version,
)
from kconnector_sandbox.shopify.webhooks import (
    WebhookDispatcher,
    order_payload,
    refund_payload,
)

if TYPE_CHECKING:
    from collections.abc import Collection

    from graphql import DocumentNode, GraphQLSchema
    from starlette.requests import Request

    from kconnector_sandbox.options import SandboxOptions
    from kconnector_sandbox.shopify.model import Order, Refund

UNAUTHORIZED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
REST_THROTTLED = (
    "Exceeded 2 calls per second for api client. "
    "Reduce request rates to resume uninterrupted service."
)
_READ_FAULTS = frozenset(FaultKind) - {FaultKind.TIMEOUT_AFTER_COMMIT}
_STATUS_BODIES: dict[ShopStatus, tuple[int, str]] = {
    ShopStatus.FROZEN: (402, "Unavailable Shop"),
    ShopStatus.LOCKED: (423, "Locked"),
    ShopStatus.UNAVAILABLE: (503, "Service Unavailable"),
    ShopStatus.ERROR: (500, "Internal Server Error"),
}
_FAULT_BODIES: dict[FaultKind, tuple[int, str]] = {
    FaultKind.SERVER_ERROR: (500, "Internal Server Error"),
    FaultKind.BAD_GATEWAY: (502, "Bad Gateway"),
    FaultKind.UNAVAILABLE: (503, "Service Unavailable"),
}


def graphql_error_codes(body: dict[str, Any]) -> list[str]:
    """The ``extensions.code`` of each GraphQL error of a 200 answer (THROTTLED, ACCESS_DENIED...).

    An error without a code (a syntax or validation error) counts as ``GRAPHQL_VALIDATION``.
    """
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    codes = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        codes.append(str(code) if code else "GRAPHQL_VALIDATION")
    return codes


class ShopifyEmulator:
    """Three seeded shops (US, CA, UK) behind one Starlette app."""

    def __init__(self, options: SandboxOptions, seeded: Collection[str] | None = None) -> None:
        """Seed the shops from `options` (each shop holds `options.orders` orders).

        `seeded` names the shops (profile keys: ``us``, ``ca``, ``uk``) that get the orders; the
        others are served empty. None (the default) seeds all three.
        """
        self.options = options
        self.clock = ShopClock()
        unknown = set(seeded or ()) - {p.key for p in PROFILES.values()}
        if unknown:
            msg = f"unknown shop(s) {sorted(unknown)}: use us, ca or uk"
            raise ValueError(msg)
        self.shops: dict[str, ShopState] = {
            profile.domain: ShopState.seeded(
                profile,
                options.seed,
                options.orders if seeded is None or profile.key in seeded else 0,
                self.clock,
                options.time_scale,
            )
            for profile in PROFILES.values()
        }
        self.default_shop = self.shops[DEFAULT_PROFILE.domain]
        self.faults = FaultInjector(options.faults)
        self.webhooks = WebhookDispatcher(time_scale=options.time_scale)
        self.schema = load_schema()
        # Queries through compiled plans (the same answers for half of graphql-core's CPU);
        # False: every query executed by graphql-core, the reference the plans are checked against.
        self.plan_queries = True
        self.request_log: list[dict[str, Any]] = []
        self.log_lock = threading.Lock()
        self.bulk = BulkRunner(self.schema, self.clock, options.time_scale)
        for shop in self.shops.values():
            shop.listeners.append(self._on_change)
        self._app = Starlette(routes=self._routes())

    @property
    def schema(self) -> GraphQLSchema:
        """The executable schema (replaced whole when extended, e.g. by the webhook fields)."""
        return self._schema

    @schema.setter
    def schema(self, schema: GraphQLSchema) -> None:
        # A document's validity is the schema's: the documents prepared for the old one go.
        self._schema = schema
        self.documents = PreparedDocuments(schema)

    @property
    def app(self) -> Starlette:
        """The ASGI app."""
        return self._app

    def banner(self, base_url: str) -> list[str]:
        """Endpoint, API version and demo token of each shop."""
        version = SUPPORTED_VERSIONS[-1]
        lines = [
            (
                f"shopify: GraphQL Admin API {version} at "
                f"{base_url}/admin/api/{version}/graphql.json (default shop)"
            )
        ]
        for shop in self.shops.values():
            p = shop.profile
            lines.append(
                f"shopify:   {p.domain} ({p.currency}): "
                f"{base_url}/shops/{p.domain}/admin/api/{version}/graphql.json"
                f"  X-Shopify-Access-Token: {p.access_token}"
            )
        lines.append(f"shopify: admin at {base_url}/__admin/shops")
        return lines

    def shop(self, key: str) -> ShopState:
        """A shop by domain, by handle (``kconnector-us``) or by profile key (``us``)."""
        for shop in self.shops.values():
            p = shop.profile
            if key in {p.domain, p.key, p.domain.split(".", 1)[0]}:
                return shop
        raise KeyError(key)

    # -- webhooks --

    def _on_change(self, shop: ShopState, topic: str, order: Order, refund: Refund | None) -> None:
        tz = shop.tz
        payload = (
            refund_payload(order, refund, tz) if refund is not None else order_payload(order, tz)
        )
        if topic == "orders/delete":
            payload = {"id": order.legacy_resource_id}
        triggered = utc_now_iso(self.clock)
        self.webhooks.publish(shop.profile.domain, topic, payload, triggered)
        if topic in {"refunds/create", "orders/cancelled"}:
            self.webhooks.publish(
                shop.profile.domain, "orders/updated", order_payload(order, tz), triggered
            )

    # -- routes --

    def _routes(self) -> list[Route]:
        return [
            Route("/admin/api/{version}/graphql.json", self._graphql_by_host, methods=["POST"]),
            Route(
                "/shops/{shop}/admin/api/{version}/graphql.json",
                self._graphql_by_path,
                methods=["POST"],
            ),
            Route("/__bulk/{shop}/{name}", self._bulk_download, methods=["GET"]),
            *AdminApi(self).routes(),
        ]

    def _log(
        self,
        request: Request,
        status: int,
        shop: str | None,
        error_codes: list[str] | None = None,
    ) -> None:
        entry: dict[str, Any] = {
            "at": round(self.clock.monotonic(), 6),  # the host's monotonic clock, seconds
            "method": request.method,
            "path": request.url.path,
            "status": status,
            "shop": shop,
        }
        if error_codes:
            entry["graphql_errors"] = error_codes
        with self.log_lock:
            self.request_log.append(entry)

    async def _graphql_by_host(self, request: Request) -> Response:
        host = (request.headers.get("host") or "").split(":", 1)[0]
        if host.endswith(".myshopify.com"):
            try:
                shop = self.shop(host)
            except KeyError:
                return self._plain(request, 404, "Not Found", None)
        else:
            shop = self.default_shop
        return await self._graphql(request, shop)

    async def _graphql_by_path(self, request: Request) -> Response:
        try:
            shop = self.shop(request.path_params["shop"])
        except KeyError:
            return self._plain(request, 404, "Not Found", None)
        return await self._graphql(request, shop)

    def _plain(
        self, request: Request, status: int, message: str, shop: str | None, **headers: str
    ) -> Response:
        self._log(request, status, shop)
        return JSONResponse({"errors": message}, status_code=status, headers=headers or None)

    async def _graphql(  # noqa: C901, PLR0911 - the status table, checked in Shopify's order
        self, request: Request, shop: ShopState
    ) -> Response:
        domain = shop.profile.domain
        version = resolve_version(request.path_params["version"])
        if version is None:
            return self._plain(request, 404, "Not Found", domain)
        token = request.headers.get("x-shopify-access-token")
        if token != shop.profile.access_token or shop.status is ShopStatus.TOKEN_REVOKED:
            return self._plain(request, 401, UNAUTHORIZED, domain)
        if shop.status in _STATUS_BODIES:
            status, message = _STATUS_BODIES[shop.status]
            return self._plain(request, status, message, domain)
        fault = self.faults.draw(allowed=_READ_FAULTS | {FaultKind.TIMEOUT_AFTER_COMMIT})
        if fault is FaultKind.THROTTLE:
            return self._plain(
                request,
                429,
                REST_THROTTLED,
                domain,
                **{"Retry-After": "2.0"},
            )
        if fault in _FAULT_BODIES:
            status, message = _FAULT_BODIES[fault]
            return self._plain(request, status, message, domain)
        if fault is FaultKind.RESET:
            self._log(request, 0, domain)
            abort_connection(request.scope)
            return Response(status_code=500)
        if fault is FaultKind.SLOW:
            await asyncio.sleep(self.faults.plan.slow_seconds)
        try:
            payload = json.loads(await request.body())
            query = payload["query"]
            if not isinstance(query, str):
                raise TypeError(query)  # noqa: TRY301 - same answer as a missing query
        except (json.JSONDecodeError, KeyError, TypeError):
            self._log(request, 400, domain)
            return JSONResponse(
                {"errors": {"query": "Required parameter missing or invalid"}}, status_code=400
            )
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        base = str(request.base_url).rstrip("/")
        body = await run_in_threadpool(
            self._execute,
            shop,
            version,
            query,
            variables,
            operation_name,
            f"{base}/__bulk/{shop.profile.key}",
        )
        headers = {"X-Shopify-API-Version": version, "X-Request-Id": str(uuid.uuid4())}
        if fault is FaultKind.TIMEOUT_AFTER_COMMIT:
            self._log(request, 0, domain)
            abort_connection(request.scope)
            return Response(status_code=500)
        self._log(request, 200, domain, graphql_error_codes(body))
        return JSONResponse(body, headers=headers)

    def _execute(  # noqa: PLR0913, PLR0917 - one request's parts
        self,
        shop: ShopState,
        version: str,
        query: str,
        variables: dict[str, Any],
        operation_name: str | None,
        download_base: str,
    ) -> dict[str, Any]:
        document = self.documents.prepare(query)
        if isinstance(document, tuple):  # a syntax error or the validation errors
            return {"errors": [e.formatted for e in document]}
        requested = requested_cost(self.schema, document, variables, operation_name)
        if requested > MAX_QUERY_COST:
            message = (
                f"Query cost is {requested}, which exceeds the single query max cost limit "
                f"({MAX_QUERY_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits "
                "for more information on how the\ncost of a query is calculated.\n\n"
                "To query larger "
                "amounts of data with fewer limits, bulk operations should be used instead.\nSee "
                "https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n"
            )
            mce_extensions = {
                "code": "MAX_COST_EXCEEDED",
                "cost": requested,
                "maxCost": MAX_QUERY_COST,
                "documentation": RATE_LIMITS_DOC,
            }
            return {"errors": [{"message": message, "extensions": mce_extensions}]}
        if not shop.bucket.take(requested):
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
                    }
                ],
                "extensions": {"cost": self._cost(shop, requested, None)},
            }
        context = RequestContext(shop=shop, api_version=version, download_base=download_base)
        context.run_bulk = lambda bulk_query: self._run_bulk(
            shop, version, bulk_query, download_base
        )
        body, points = self._run_query(query, document, context, variables, operation_name)
        actual = min(points, requested)
        shop.bucket.give_back(requested - actual)
        extensions: dict[str, Any] = {"cost": self._cost(shop, requested, actual)}
        if context.warnings:
            extensions["search"] = context.warnings
        body["extensions"] = extensions
        return body

    def _run_query(
        self,
        query: str,
        document: DocumentNode,
        context: RequestContext,
        variables: dict[str, Any],
        operation_name: str | None,
    ) -> tuple[dict[str, Any], int]:
        """The answer's `errors` and `data`, and the query's actual cost (objects resolved).

        A query goes through its compiled plan (`bulk_plan.py`, made once per text) when the
        plan completes every value; anything else (a mutation, variables that do not coerce, a
        resolver's error, a null in a non-null field) is executed by graphql-core, which answers
        with its own errors. Both give the same JSON for what the plan completes (`plan_queries`
        False: graphql-core alone, the reference the plan is checked against).
        """
        plan = self.documents.plan(query, operation_name) if self.plan_queries else None
        if plan is not None:
            counter = ActualCost()
            try:
                return {"data": plan.execute(context, variables, counter.count)}, counter.points
            except Exception:  # noqa: BLE001 - not swallowed: graphql-core runs it and reports it
                context.warnings.clear()  # graphql-core's run adds the search warnings again
        counter = ActualCost()
        result = execute_sync(
            self.schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            field_resolver=FIELD_RESOLVER,
            middleware=[counter],  # graphql-core calls its `resolve`
        )
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        body["data"] = result.data
        return body, counter.points

    @staticmethod
    def _cost(shop: ShopState, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": shop.bucket.status(),
        }

    def _run_bulk(
        self, shop: ShopState, version: str, bulk_query: str, download_base: str
    ) -> dict[str, Any]:
        return self.bulk.start(
            shop,
            version,
            bulk_query,
            download_base,
            concurrent=allows_concurrent_bulk_queries(version),
        )

    async def _bulk_download(self, request: Request) -> Response:
        try:
            shop = self.shop(request.path_params["shop"])
        except KeyError:
            return Response(status_code=404)
        name: str = request.path_params["name"]
        partial = name.endswith(".partial.jsonl")
        legacy = name.split(".", 1)[0]
        now = self.clock.monotonic()
        for record in shop.bulk_operations:
            # An expired URL answers like Shopify's signed storage URL past its lifetime.
            if record.expired and str(record.legacy_id) == legacy:
                return Response(status_code=403)
            if str(record.legacy_id) == legacy and record.done(now):
                failed = record.failure is not BulkFailure.NONE
                if partial == failed:
                    return StreamingResponse(
                        iterate_in_threadpool(record.jsonl_chunks(partial=partial)),
                        media_type="application/jsonl",
                    )
        return Response(status_code=404)
