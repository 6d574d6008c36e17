"""Inspection and control endpoints under ``/__admin`` (not part of the QBO API).

- ``GET  /__admin/realms``: realms with their kind and initial refresh token.
- ``POST /__admin/realms`` ``{"kind": "US"|"CA"|"GB", "realm_id"?: str}``: add a seeded realm.
- ``GET  /__admin/realms/{realm}/entities/{Entity}``: every stored document of an entity.
- ``POST /__admin/realms/{realm}/edit/{Entity}/{Id}`` partial body: edit as a bookkeeper would
  in the QBO UI (SyncToken and LastUpdatedTime bump, totals recomputed).
- ``POST /__admin/realms/{realm}/revoke``: revoke every token of the realm.
- ``POST /__admin/realms/{realm}/hold`` and ``/release``: keep API requests to the realm in
  flight until released (deterministic concurrency tests); ``GET /__admin/realms/{realm}/limits``.
- ``GET  /__admin/requests``: counts per status and per method + route, recent requests.
- ``GET  /__admin/strict-report``: client protocol problems seen (`strict_report`), without
  bodies or tokens; ``DELETE`` clears it (``/__admin/reset`` does too).
- ``POST /__admin/faults`` ``{"spec": "429=0.1,reset=0.05", "seed": 1, "slow_seconds": 2}``.
- ``GET  /__admin/faults``: the plan in force and how many faults were injected.
- ``POST /__admin/reset``: back to the seeded start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route

from kconnector_sandbox.faults import FaultPlan, FaultSpecError
from kconnector_sandbox.qbo import fault_catalog, json_codec
from kconnector_sandbox.qbo.entities import SPECS
from kconnector_sandbox.qbo.seed import CompanyKind

if TYPE_CHECKING:
    from starlette.requests import Request

    from kconnector_sandbox.qbo.emulator import QboEmulator


def _json(payload: object, status: int = 200) -> Response:
    return Response(json_codec.dumps(payload), status_code=status, media_type="application/json")


def _error(message: str, status: int = 400) -> Response:
    return _json({"error": message}, status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    document = json_codec.loads(raw)
    if not isinstance(document, dict):
        msg = "expected a JSON object"
        raise json_codec.JsonBodyError(msg)
    return document


def routes(emulator: QboEmulator) -> list[Route]:
    """The admin routes bound to `emulator`."""
    admin = _Admin(emulator)
    return [
        Route("/__admin/realms", admin.list_realms, methods=["GET"]),
        Route("/__admin/realms", admin.add_realm, methods=["POST"]),
        Route("/__admin/realms/{realm_id}/entities/{entity}", admin.entities, methods=["GET"]),
        Route("/__admin/realms/{realm_id}/edit/{entity}/{entity_id}", admin.edit, methods=["POST"]),
        Route("/__admin/realms/{realm_id}/revoke", admin.revoke, methods=["POST"]),
        Route("/__admin/realms/{realm_id}/hold", admin.hold, methods=["POST"]),
        Route("/__admin/realms/{realm_id}/release", admin.release, methods=["POST"]),
        Route("/__admin/realms/{realm_id}/limits", admin.limits, methods=["GET"]),
        Route("/__admin/requests", admin.requests, methods=["GET"]),
        Route("/__admin/strict-report", admin.strict_report, methods=["GET"]),
        Route("/__admin/strict-report", admin.clear_strict_report, methods=["DELETE"]),
        Route("/__admin/faults", admin.get_faults, methods=["GET"]),
        Route("/__admin/faults", admin.set_faults, methods=["POST"]),
        Route("/__admin/reset", admin.reset, methods=["POST"]),
    ]


class _Admin:
    def __init__(self, emulator: QboEmulator) -> None:
        self.emulator = emulator

    async def list_realms(self, _request: Request) -> Response:
        return _json(
            {
                "realms": [
                    {
                        "realm_id": realm_id,
                        "kind": kind.value,
                        "refresh_token": self.emulator.initial_refresh_tokens[realm_id],
                    }
                    for realm_id, kind in self.emulator.realm_kinds.items()
                ]
            }
        )

    async def add_realm(self, request: Request) -> Response:
        try:
            body = await _body(request)
            kind = CompanyKind(str(body.get("kind", "US")))
        except (json_codec.JsonBodyError, ValueError) as exc:
            return _error(str(exc))
        realm_id = body.get("realm_id")
        created = self.emulator.add_realm(kind, str(realm_id) if realm_id else None)
        token = self.emulator.initial_refresh_tokens[created]
        return _json({"realm_id": created, "kind": kind.value, "refresh_token": token}, 201)

    async def entities(self, request: Request) -> Response:
        company = self.emulator.realms.get(request.path_params["realm_id"])
        entity = request.path_params["entity"]
        if company is None or entity not in SPECS:
            return _error("unknown realm or entity", 404)
        return _json({entity: company.documents(entity)})

    async def edit(self, request: Request) -> Response:
        company = self.emulator.realms.get(request.path_params["realm_id"])
        entity = request.path_params["entity"]
        if company is None or entity not in SPECS:
            return _error("unknown realm or entity", 404)
        try:
            patch = await _body(request)
            doc = company.bookkeeper_edit(entity, request.path_params["entity_id"], patch)
        except json_codec.JsonBodyError as exc:
            return _error(str(exc))
        except fault_catalog.QboFault as fault:
            return _json({"Fault": fault.fault_json()}, fault.status)
        return _json({entity: doc})

    async def revoke(self, request: Request) -> Response:
        revoked = self.emulator.tokens.revoke_realm(request.path_params["realm_id"])
        return _json({"revoked": revoked})

    async def hold(self, request: Request) -> Response:
        self.emulator.hold(request.path_params["realm_id"])
        return _json({"held": True})

    async def release(self, request: Request) -> Response:
        self.emulator.release(request.path_params["realm_id"])
        return _json({"held": False})

    async def limits(self, request: Request) -> Response:
        realm_id = request.path_params["realm_id"]
        limits = self.emulator.limits
        return _json(
            {
                "in_flight": self.emulator.limiter.in_flight(realm_id),
                "window_seconds": str(self.emulator.limiter.window_seconds),
                "requests_per_minute": limits.requests_per_minute,
                "batch_requests_per_minute": limits.batch_requests_per_minute,
                "concurrent_requests": limits.concurrent_requests,
                "batch_max_items": limits.batch_max_items,
            }
        )

    async def requests(self, _request: Request) -> Response:
        summary = self.emulator.log.summary()
        summary["minor_versions"] = dict(self.emulator.minor_versions)
        return _json(summary)

    async def strict_report(self, _request: Request) -> Response:
        return _json(self.emulator.strict_report.as_json())

    async def clear_strict_report(self, _request: Request) -> Response:
        self.emulator.strict_report.clear()
        return _json({"cleared": True})

    async def get_faults(self, _request: Request) -> Response:
        injector = self.emulator.injector
        return _json(
            {
                "spec": injector.plan.to_spec(),
                "seed": injector.plan.seed,
                "injected": {k.value: v for k, v in injector.injected.items()},
            }
        )

    async def set_faults(self, request: Request) -> Response:
        try:
            body = await _body(request)
            plan = FaultPlan.parse(
                str(body.get("spec", "")),
                seed=int(body.get("seed", self.emulator.options.seed)),
                slow_seconds=float(body.get("slow_seconds", 2.0)),
            )
        except (json_codec.JsonBodyError, FaultSpecError, ValueError) as exc:
            return _error(str(exc))
        self.emulator.injector.configure(plan)
        return _json({"spec": plan.to_spec(), "seed": plan.seed})

    async def reset(self, _request: Request) -> Response:
        self.emulator.reset()
        return _json({"reset": True})
