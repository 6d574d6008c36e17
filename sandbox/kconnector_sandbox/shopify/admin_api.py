"""The sandbox's own admin API (``/__admin/...``), not part of Shopify.

It changes orders between tap runs, sets the shop's state and scopes, arms faults and bulk
failures, and shows the request log, the throttle bucket and the webhook deliveries.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kconnector_sandbox.faults import FaultPlan, FaultSpecError
from kconnector_sandbox.shopify.bulk import BulkFailure
from kconnector_sandbox.shopify.state import (
    InvalidChangeError,
    OrderNotFoundError,
    ShopState,
    ShopStatus,
)
from kconnector_sandbox.shopify.versions import SUPPORTED_VERSIONS
from kconnector_sandbox.shopify.webhooks import Subscription

if TYPE_CHECKING:
    from starlette.requests import Request

    from kconnector_sandbox.shopify.app import ShopifyEmulator
    from kconnector_sandbox.shopify.model import Order

PREFIX = "/__admin"


class AdminApi:
    """Handlers of ``/__admin/...`` over one emulator's state."""

    def __init__(self, emulator: ShopifyEmulator) -> None:
        """Serve `emulator`'s shops."""
        self.emulator = emulator

    def routes(self) -> list[Route]:
        """The admin routes."""
        return [
            Route(f"{PREFIX}/shops", self._admin_shops, methods=["GET"]),
            Route(f"{PREFIX}/requests", self._admin_requests, methods=["GET"]),
            Route(f"{PREFIX}/faults", self._admin_faults, methods=["POST"]),
            Route(f"{PREFIX}/webhooks", self._admin_webhooks, methods=["GET", "POST"]),
            Route(f"{PREFIX}/{{shop}}/orders", self._admin_orders, methods=["GET", "POST"]),
            Route(
                f"{PREFIX}/{{shop}}/orders/{{order_id:int}}",
                self._admin_order,
                methods=["GET", "DELETE"],
            ),
            Route(
                f"{PREFIX}/{{shop}}/orders/{{order_id:int}}/{{action}}",
                self._admin_order_action,
                methods=["POST"],
            ),
            Route(f"{PREFIX}/{{shop}}/state", self._admin_state, methods=["POST"]),
            Route(f"{PREFIX}/{{shop}}/scopes", self._admin_scopes, methods=["POST"]),
            Route(f"{PREFIX}/{{shop}}/bulk", self._admin_bulk, methods=["POST"]),
            Route(f"{PREFIX}/{{shop}}/throttle", self._admin_throttle, methods=["GET", "POST"]),
            Route(f"{PREFIX}/{{shop}}/payouts", self._admin_payouts, methods=["GET"]),
        ]

    async def _admin_shops(self, _request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "key": s.profile.key,
                    "domain": s.profile.domain,
                    "currency": s.profile.currency,
                    "access_token": s.profile.access_token,
                    "orders": len(s.orders),
                    "status": s.status.value,
                    "scopes": list(s.scopes),
                }
                for s in self.emulator.shops.values()
            ]
        )

    async def _admin_requests(self, _request: Request) -> Response:
        with self.emulator.log_lock:
            log = list(self.emulator.request_log)
        counts = Counter(str(entry["status"]) for entry in log)
        codes = Counter(code for entry in log for code in entry.get("graphql_errors", ()))
        return JSONResponse(
            {
                "count": len(log),
                "by_status": dict(counts),
                "graphql_errors": dict(codes),
                "throttle": {
                    shop.profile.domain: {**shop.bucket.status(), **shop.bucket.usage()}
                    for shop in self.emulator.shops.values()
                },
                "requests": log[-500:],
            }
        )

    async def _admin_faults(self, request: Request) -> Response:
        body = await _json(request)
        try:
            plan = FaultPlan.parse(
                str(body.get("spec", "")), seed=int(body.get("seed", self.emulator.options.seed))
            )
        except FaultSpecError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        self.emulator.faults.configure(plan)
        return JSONResponse({"faults": plan.to_spec()})

    async def _admin_webhooks(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(
                {
                    "subscriptions": [
                        {"shop": s.shop_domain, "address": s.address, "topics": sorted(s.topics)}
                        for s in self.emulator.webhooks.subscriptions
                    ],
                    "deliveries": [vars(d) for d in self.emulator.webhooks.deliveries],
                }
            )
        body = await _json(request)
        try:
            default = self.emulator.default_shop.profile.domain
            shop = self.emulator.shop(str(body.get("shop", default)))
            address, secret = str(body["address"]), str(body["secret"])
        except KeyError as exc:
            return JSONResponse({"error": f"missing or unknown {exc}"}, status_code=400)
        self.emulator.webhooks.subscribe(
            Subscription(
                shop.profile.domain,
                address,
                secret,
                frozenset(body.get("topics") or ()),
                str(body.get("api_version", SUPPORTED_VERSIONS[-1])),
            )
        )
        return JSONResponse({"subscribed": address}, status_code=201)

    async def _admin_orders(self, request: Request) -> Response:
        shop = self._admin_shop(request)
        if shop is None:
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        if request.method == "POST":
            body = await _json(request)
            order = shop.create_order(int(body.get("template", 0)))
            return JSONResponse(_summary(order), status_code=201)
        orders = sorted(shop.orders.values(), key=lambda o: o.legacy_resource_id)
        return JSONResponse([_summary(o) for o in orders])

    async def _admin_order(self, request: Request) -> Response:
        shop = self._admin_shop(request)
        if shop is None:
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        order_id = int(request.path_params["order_id"])
        try:
            if request.method == "DELETE":
                event = shop.delete_order(order_id)
                return JSONResponse({"deleted": order_id, "event": event.id})
            return JSONResponse(_summary(shop.find(order_id)))
        except OrderNotFoundError:
            return JSONResponse({"error": "order not found"}, status_code=404)

    async def _admin_order_action(self, request: Request) -> Response:
        shop = self._admin_shop(request)
        if shop is None:
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        order_id = int(request.path_params["order_id"])
        action = request.path_params["action"]
        body = await _json(request)
        try:
            if action == "edit":
                quantities = {int(k): int(v) for k, v in (body.get("quantities") or {}).items()}
                tags = tuple(body["tags"]) if "tags" in body else None
                order = shop.edit_order(
                    order_id,
                    note=body.get("note"),
                    tags=tags,
                    email=body.get("email"),
                    quantities=quantities,
                )
            elif action == "cancel":
                order = shop.cancel_order(order_id, str(body.get("reason", "CUSTOMER")))
            elif action == "refund":
                amount = Decimal(str(body["amount"])) if body.get("amount") is not None else None
                lines = tuple((int(i), int(q)) for i, q in body.get("lines") or ())
                order = shop.refund_order(
                    order_id,
                    lines=lines,
                    shipping=bool(body.get("shipping")),
                    amount=amount,
                    note=body.get("note"),
                )
            else:
                return JSONResponse({"error": f"unknown action {action}"}, status_code=404)
        except OrderNotFoundError:
            return JSONResponse({"error": "order not found"}, status_code=404)
        except (InvalidChangeError, InvalidOperation, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse(_summary(order))

    async def _admin_state(self, request: Request) -> Response:
        shop = self._admin_shop(request)
        if shop is None:
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        body = await _json(request)
        try:
            shop.status = ShopStatus(str(body.get("status", "active")))
        except ValueError:
            return JSONResponse(
                {"error": f"status must be one of {[s.value for s in ShopStatus]}"}, status_code=400
            )
        return JSONResponse({"status": shop.status.value})

    async def _admin_scopes(self, request: Request) -> Response:
        shop = self._admin_shop(request)
        if shop is None:
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        body = await _json(request)
        shop.scopes = tuple(str(s) for s in body.get("scopes", ()))
        return JSONResponse({"scopes": list(shop.scopes)})

    async def _admin_bulk(self, request: Request) -> Response:
        shop = self._admin_shop(request)
        if shop is None:
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        body = await _json(request)
        if body.get("expire"):
            # The URLs of every finished operation pass their seven days now.
            now = shop.clock.monotonic()
            with shop.lock:
                expired = [op for op in shop.bulk_operations if op.done(now)]
                for operation in expired:
                    operation.expired = True
            return JSONResponse({"expired": [op.id for op in expired]})
        try:
            shop.next_bulk_failure = BulkFailure(str(body.get("next", "none")))
        except ValueError:
            return JSONResponse({"error": "next must be none, fail or timeout"}, status_code=400)
        return JSONResponse({"next": shop.next_bulk_failure.value})

    async def _admin_payouts(self, request: Request) -> Response:
        """The shop's Shopify Payments payouts, oldest first (an empty list without it)."""
        shop = self._admin_shop(request)
        if shop is None:
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        ledger = shop.payments_ledger()
        now = shop.clock.now()
        return JSONResponse(
            [
                {
                    "id": payout.id,
                    "legacy_id": payout.legacy_id,
                    "issued_at": payout.issued_at.isoformat(),
                    "status": payout.status(now),
                    "currency": payout.currency,
                    "net": str(payout.net),
                    "transactions": [
                        {
                            "id": t.id,
                            "type": t.type,
                            "amount": str(t.amount),
                            "fee": str(t.fee),
                            "net": str(t.net),
                            "order_id": t.order_id,
                        }
                        for t in payout.transactions
                    ],
                }
                for payout in (ledger.payouts if ledger is not None else ())
            ]
        )

    async def _admin_throttle(self, request: Request) -> Response:
        shop = self._admin_shop(request)
        if shop is None:
            return JSONResponse({"error": "unknown shop"}, status_code=404)
        if request.method == "POST":
            shop.bucket.reset()
        return JSONResponse(shop.bucket.status())

    def _admin_shop(self, request: Request) -> ShopState | None:
        try:
            return self.emulator.shop(request.path_params["shop"])
        except KeyError:
            return None


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _summary(order: Order) -> dict[str, Any]:
    return {
        "id": order.legacy_resource_id,
        "gid": order.id,
        "name": order.name,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "financial_status": order.display_financial_status,
        "fulfillment_status": order.display_fulfillment_status,
        "cancelled": order.cancelled_at is not None,
        "currency": order.currency_code,
        "total_price": str(order.total_price_set.shop_money.amount),
        "current_total_price": str(order.current_total_price_set.shop_money.amount),
        "line_items": len(order.line_items),
    }
