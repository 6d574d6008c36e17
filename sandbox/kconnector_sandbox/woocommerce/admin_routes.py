"""`/__admin/...`: inspect and steer the emulated store (not part of WooCommerce's API).

- `GET /__admin/orders`: every order, trash included.
- `POST /__admin/orders` `{"status": "processing"}`: create an order (`order.created`).
- `POST /__admin/orders/{id}/modify` `{"status", "customer_note", "billing": {...}}`: edit it;
  bumps `date_modified` (`order.updated`).
- `POST /__admin/orders/{id}/refunds` `{"reason", "lines": [{"item_id", "quantity"}],
  "shipping": true, "amount": "1.00"}`: refund as WooCommerce does (`order.updated`).
- `POST /__admin/orders/{id}/trash`, `DELETE /__admin/orders/{id}`: trash / delete
  (`order.deleted`).
- `POST /__admin/on-next-page` `{"modify": [ids], "trash": [ids], "delete": [ids],
  "create": n}`: edits applied right after the next orders page is computed.
- `GET`/`DELETE /__admin/requests`: request log with counts per status; clear it.
- `GET`/`POST /__admin/switches`: host misbehaviour switches.
- `GET`/`POST /__admin/faults` `{"spec": "429=0.1,500=0.05", "seed": 7}`: fault plan, counts.
- `GET`/`POST /__admin/webhooks` `{"delivery_url", "secret", "topics"}`: webhooks, deliveries.
- `GET /__admin/store`: store profile and demo keys.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kconnector_sandbox.faults import FaultPlan, FaultSpecError
from kconnector_sandbox.woocommerce.api_routes import site_url_of
from kconnector_sandbox.woocommerce.order_query import STATUS_ENUM
from kconnector_sandbox.woocommerce.refund_documents import RefundError, RefundLine, RefundRequest
from kconnector_sandbox.woocommerce.store_state import PendingEdits, UnknownOrderError
from kconnector_sandbox.woocommerce.webhooks import ORDER_TOPICS
from kconnector_sandbox.woocommerce.wp_json import json_response

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from kconnector_sandbox.woocommerce.emulator import WooCommerceEmulator

    Handler = Callable[[Request], Awaitable[Response]]


class AdminInputError(ValueError):
    """A malformed admin request body."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = await request.json()
    except ValueError as exc:
        msg = "body must be JSON"
        raise AdminInputError(msg) from exc
    if not isinstance(body, dict):
        msg = "body must be a JSON object"
        raise AdminInputError(msg)
    return body


def _ids(body: dict[str, Any], name: str) -> list[int]:
    values = body.get(name, [])
    if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
        msg = f"{name} must be a list of order ids"
        raise AdminInputError(msg)
    return list(values)


def _refund_request(body: dict[str, Any]) -> RefundRequest:
    try:
        lines = tuple(
            RefundLine(int(line["item_id"]), int(line["quantity"]))
            for line in body.get("lines", [])
        )
        amount = Decimal(str(body["amount"])) if "amount" in body else None
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        msg = "lines must be [{item_id, quantity}] and amount a decimal string"
        raise AdminInputError(msg) from exc
    return RefundRequest(
        reason=str(body.get("reason", "")),
        lines=lines,
        refund_shipping=bool(body.get("shipping", False)),
        amount=amount,
    )


def admin_routes(emulator: WooCommerceEmulator) -> list[Route]:  # noqa: C901, PLR0915 - one closure per endpoint
    """The admin endpoints bound to one emulator."""
    state = emulator.state

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            emulator.site_url = site_url_of(request)
            try:
                return await handler(request)
            except AdminInputError as exc:
                return _error(400, str(exc))
            except UnknownOrderError:
                return _error(404, "no such order")
            except RefundError as exc:
                return _error(400, str(exc))

        return run

    async def list_orders(_request: Request) -> Response:
        return json_response(state.all_orders())

    async def create_order(request: Request) -> Response:
        status = str((await _body(request)).get("status", "processing"))
        if status not in STATUS_ENUM or status == "any":
            msg = f"unknown status {status!r}"
            raise AdminInputError(msg)
        return json_response(state.create_order(status), status=201)

    async def modify_order(request: Request) -> Response:
        order_id = int(request.path_params["order_id"])
        return json_response(state.modify_order(order_id, await _body(request)))

    async def refund_order(request: Request) -> Response:
        order_id = int(request.path_params["order_id"])
        refund = state.refund_order(order_id, _refund_request(await _body(request)))
        return json_response(refund, status=201)

    async def trash_order(request: Request) -> Response:
        return json_response(state.trash_order(int(request.path_params["order_id"])))

    async def delete_order(request: Request) -> Response:
        state.delete_order(int(request.path_params["order_id"]))
        return Response(status_code=204)

    async def on_next_page(request: Request) -> Response:
        body = await _body(request)
        create = body.get("create", 0)
        if not isinstance(create, int) or create < 0:
            msg = "create must be a non-negative integer"
            raise AdminInputError(msg)
        state.pending = PendingEdits(
            modify=_ids(body, "modify"),
            trash=_ids(body, "trash"),
            delete=_ids(body, "delete"),
            create=create,
        )
        return JSONResponse({"queued": True}, status_code=202)

    async def requests_log(request: Request) -> Response:
        if request.method == "DELETE":
            state.request_log.clear()
            return Response(status_code=204)
        entries = [
            {"method": e.method, "route": e.path, "status": e.status, "user_agent": e.user_agent}
            for e in list(state.request_log)
        ]
        return JSONResponse({"counts": state.request_counts(), "requests": entries})

    async def switches(request: Request) -> Response:
        if request.method == "POST":
            try:
                emulator.switches.update(await _body(request))
            except (KeyError, TypeError) as exc:
                raise AdminInputError(str(exc)) from exc
        return JSONResponse(emulator.switches.as_dict())

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            try:
                plan = FaultPlan.parse(
                    str(body.get("spec", "")), seed=int(body.get("seed", emulator.options.seed))
                )
            except (FaultSpecError, ValueError) as exc:
                raise AdminInputError(str(exc)) from exc
            emulator.faults.configure(plan)
        injected = {kind.value: count for kind, count in emulator.faults.injected.items()}
        return JSONResponse({"spec": emulator.faults.plan.to_spec(), "injected": injected})

    async def webhooks(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            url, secret = body.get("delivery_url"), body.get("secret")
            if not isinstance(url, str) or not isinstance(secret, str) or not secret:
                msg = "delivery_url and a non-empty secret are required"
                raise AdminInputError(msg)
            topics = frozenset(body.get("topics", ORDER_TOPICS))
            try:
                webhook = emulator.webhooks.register(url, secret, topics)
            except ValueError as exc:
                raise AdminInputError(str(exc)) from exc
            return JSONResponse(webhook.as_dict(), status_code=201)
        deliveries = [
            {
                "webhook_id": d.webhook_id,
                "delivery_id": d.delivery_id,
                "topic": d.topic,
                "status": d.status,
            }
            for d in list(emulator.webhooks.deliveries)
        ]
        hooks = [w.as_dict() for w in emulator.webhooks.webhooks()]
        return JSONResponse({"webhooks": hooks, "deliveries": deliveries})

    async def store(_request: Request) -> Response:
        profile = emulator.profile
        keys = [
            {
                "consumer_key": k.consumer_key,
                "consumer_secret": k.consumer_secret,
                "permissions": k.permission.value,
            }
            for k in emulator.keys.values()
        ]
        return JSONResponse(
            {
                "profile": profile.key,
                "store_name": profile.store_name,
                "currency": profile.currency,
                "timezone": profile.timezone,
                "prices_include_tax": profile.prices_include_tax,
                "tax_round_at_subtotal": profile.round_at_subtotal,
                "keys": keys,
            }
        )

    order_path = "/__admin/orders/{order_id:int}"
    return [
        Route("/__admin/orders", guarded(list_orders), methods=["GET"]),
        Route("/__admin/orders", guarded(create_order), methods=["POST"]),
        Route(f"{order_path}/modify", guarded(modify_order), methods=["POST"]),
        Route(f"{order_path}/refunds", guarded(refund_order), methods=["POST"]),
        Route(f"{order_path}/trash", guarded(trash_order), methods=["POST"]),
        Route(order_path, guarded(delete_order), methods=["DELETE"]),
        Route("/__admin/on-next-page", guarded(on_next_page), methods=["POST"]),
        Route("/__admin/requests", guarded(requests_log), methods=["GET", "DELETE"]),
        Route("/__admin/switches", guarded(switches), methods=["GET", "POST"]),
        Route("/__admin/faults", guarded(faults), methods=["GET", "POST"]),
        Route("/__admin/webhooks", guarded(webhooks), methods=["GET", "POST"]),
        Route("/__admin/store", guarded(store), methods=["GET"]),
    ]
