"""The vendor-facing routes: the OAuth token endpoint and ``/v3/company/{realmId}/...``.

URI formats from https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features :
create/update ``POST /v3/company/{realmId}/{entity}``, read ``GET .../{entity}/{id}``, delete
``POST .../{entity}?operation=delete``, query ``GET .../query?query=...`` (or POST with an
``application/text`` body), batch ``POST .../batch``
(https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/batch).
Entity names in paths are lowercase; responses wrap the entity under its name with a ``time``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kconnector_sandbox.faults import FaultKind
from kconnector_sandbox.qbo import fault_catalog, json_codec, query
from kconnector_sandbox.qbo.edge import DropConnectionError
from kconnector_sandbox.qbo.entities import BY_PATH, SPECS, EntityKind
from kconnector_sandbox.qbo.idempotency import (
    MAX_BATCH_REQUEST_ID_LENGTH,
    MAX_REQUEST_ID_LENGTH,
    request_digest,
)
from kconnector_sandbox.qbo.limits import ThrottleExceededError
from kconnector_sandbox.qbo.oauth import OAuthError
from kconnector_sandbox.qbo.strict_report import ProblemKind, minor_version_problem
from kconnector_sandbox.qbo.timekeeping import parse_timestamp, qbo_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from kconnector_sandbox.qbo.company import Company
    from kconnector_sandbox.qbo.emulator import QboEmulator

    Handler = Callable[[Company, bytes], tuple[int, dict[str, Any]]]

CDC_LOOKBACK = timedelta(days=30)
CDC_MAX_OBJECTS = 1000
# "For each batch ID, only 10 characters are allowed when RequestID is also specified"
# (https://blogs.intuit.com/2015/04/06/15346/, quoted in
# https://github.com/ruckus/quickbooks-ruby/pull/344).
MAX_BATCH_ITEM_ID_LENGTH = 10
# A query POSTed carries its statement as ``Content-Type: application/text``
# (https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features, query operations).
QUERY_CONTENT_TYPE = "application/text"
_READ_FAULTS = frozenset(FaultKind) - {FaultKind.TIMEOUT_AFTER_COMMIT}
_WRITE_FAULTS = frozenset(FaultKind)
_GATEWAY_PAGE = "<html><body><h1>{status} {reason}</h1></body></html>"
_BASE_QUERYABLE = frozenset(
    {
        "Id",
        "SyncToken",
        "MetaData",
        "Active",
        "Name",
        "DisplayName",
        "DocNumber",
        "TxnDate",
        "TotalAmt",
        "Balance",
        "CustomerRef",
        "Sku",
        "Type",
        "PrivateNote",
        "CurrencyRef",
    }
)


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(json_codec.dumps(payload), status_code=status, media_type="application/json")


def routes(emulator: QboEmulator) -> list[Route]:
    """The vendor routes bound to `emulator`."""
    api = _Api(emulator)
    return [
        Route("/oauth2/v1/tokens/bearer", api.token, methods=["POST"]),
        Route("/oauth2/v1/tokens/revoke", api.revoke, methods=["POST"]),
        Route("/v3/company/{realm_id}/query", api.query, methods=["GET", "POST"]),
        Route("/v3/company/{realm_id}/batch", api.batch, methods=["POST"]),
        Route("/v3/company/{realm_id}/cdc", api.cdc, methods=["GET"]),
        Route("/v3/company/{realm_id}/{entity}/{entity_id}", api.read, methods=["GET"]),
        Route("/v3/company/{realm_id}/{entity}", api.write, methods=["POST"]),
    ]


class _Api:
    def __init__(self, emulator: QboEmulator) -> None:
        self.emulator = emulator

    # ------------------------------------------------------------------ OAuth

    def _basic(self, request: Request) -> tuple[str, str]:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise OAuthError(401, "invalid_client", "HTTP Basic client authentication required")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "Malformed Basic credentials") from None
        return client_id, secret

    async def token(self, request: Request) -> Response:
        """``POST /oauth2/v1/tokens/bearer`` with ``grant_type=refresh_token``."""
        try:
            client_id, secret = self._basic(request)
            self.emulator.tokens.check_client(client_id, secret)
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            grant = self.emulator.tokens.refresh(_refresh_token_of(form))
        except OAuthError as exc:
            return JSONResponse(exc.as_json(), status_code=exc.status)
        return JSONResponse(grant.as_json(), headers={"Cache-Control": "no-store"})

    async def revoke(self, request: Request) -> Response:
        """``POST /oauth2/v1/tokens/revoke`` with ``{"token": ...}``: disconnect the realm."""
        try:
            client_id, secret = self._basic(request)
            self.emulator.tokens.check_client(client_id, secret)
            body = json_codec.loads(await request.body() or b"{}")
            token = body.get("token") if isinstance(body, dict) else None
        except OAuthError as exc:
            return JSONResponse(exc.as_json(), status_code=exc.status)
        except json_codec.JsonBodyError:
            token = None
        if not token:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        self.emulator.tokens.revoke_token(str(token))
        return Response(status_code=200)

    # ------------------------------------------------------------------ common

    def _problem(self, request: Request, kind: ProblemKind, detail: str) -> None:
        """Record a client protocol problem (metadata only: never the body nor a token)."""
        self.emulator.strict_report.record(
            kind,
            request.method,
            request.url.path,
            request.query_params.get("requestid"),
            detail,
        )

    def _check_protocol(self, request: Request, *, write: bool) -> None:
        """Record what QuickBooks tolerates but shows a client bug (minorversion, requestid)."""
        found = minor_version_problem(request.query_params.get("minorversion"))
        if found is not None:
            self._problem(request, *found)
        if write and request.query_params.get("requestid") is None:
            self._problem(
                request,
                ProblemKind.WRITE_WITHOUT_REQUESTID,
                "a write without requestid cannot be retried safely (it may be applied twice)",
            )

    def _fault_response(self, fault: fault_catalog.QboFault) -> Response:
        payload = {"Fault": fault.fault_json(), "time": qbo_timestamp(self.emulator.clock())}
        return _json(fault.status, payload)

    async def _serve(  # noqa: C901, PLR0911, PLR0912, PLR0915 - the request pipeline, step by step
        self, request: Request, handler: Handler, *, is_batch: bool = False, write: bool = False
    ) -> Response:
        emulator = self.emulator
        realm_id = request.path_params["realm_id"]
        self._check_protocol(request, write=write)
        try:
            emulator.limiter.enter(realm_id, is_batch=is_batch)
        except ThrottleExceededError:
            return self._fault_response(fault_catalog.throttled())
        try:
            await emulator.wait_if_held(realm_id)
            params = request.query_params
            try:
                emulator.tokens.authenticate(request.headers.get("authorization"), realm_id)
                company = emulator.realms.get(realm_id)
                if company is None:
                    raise fault_catalog.unknown_realm(realm_id)
                if "json" not in request.headers.get("accept", "").lower():
                    raise fault_catalog.json_not_accepted()
            except fault_catalog.QboFault as fault:
                return self._fault_response(fault)
            minor = params.get("minorversion")
            if minor is not None:
                emulator.minor_versions[minor] += 1
            fault_kind = emulator.injector.draw(_WRITE_FAULTS if write else _READ_FAULTS)
            if fault_kind is FaultKind.THROTTLE:
                return self._fault_response(fault_catalog.throttled())
            if fault_kind is FaultKind.SERVER_ERROR:
                return self._fault_response(fault_catalog.system_failure())
            if fault_kind in {FaultKind.BAD_GATEWAY, FaultKind.UNAVAILABLE}:
                status = int(fault_kind.value)
                reason = "Bad Gateway" if status == 502 else "Service Unavailable"  # noqa: PLR2004
                page = _GATEWAY_PAGE.format(status=status, reason=reason)
                return Response(page, status_code=status, media_type="text/html")
            if fault_kind is FaultKind.RESET:
                raise DropConnectionError
            if fault_kind is FaultKind.SLOW:
                slow = emulator.injector.plan.slow_seconds / emulator.options.time_scale
                await asyncio.sleep(slow)
            body = await request.body()
            request_id = params.get("requestid") if request.method == "POST" else None
            if request_id is not None:
                limit = MAX_BATCH_REQUEST_ID_LENGTH if is_batch else MAX_REQUEST_ID_LENGTH
                if len(request_id) > limit:
                    self._problem(
                        request,
                        ProblemKind.REQUESTID_TOO_LONG,
                        f"requestid of {len(request_id)} characters; at most {limit} here",
                    )
                    return self._fault_response(
                        fault_catalog.request_id_too_long(limit, len(request_id))
                    )
                stored = emulator.request_ids.lookup(realm_id, request_id)
                if stored is not None:
                    if stored.request_digest and stored.request_digest != request_digest(body):
                        self._problem(
                            request,
                            ProblemKind.REQUESTID_REUSED,
                            "requestid reused with a different body: QuickBooks replays the "
                            "first answer and never performs this write",
                        )
                    return Response(stored.body, stored.status, media_type="application/json")
            try:
                status, payload = handler(company, body)
                payload["time"] = qbo_timestamp(emulator.clock())
                response = _json(status, payload)
            except fault_catalog.QboFault as fault:
                response = self._fault_response(fault)
            if request_id is not None:
                emulator.request_ids.store(
                    realm_id,
                    request_id,
                    response.status_code,
                    bytes(response.body),
                    request_digest(body),
                )
            if fault_kind is FaultKind.TIMEOUT_AFTER_COMMIT:
                raise DropConnectionError
            return response
        finally:
            emulator.limiter.leave(realm_id)

    # ------------------------------------------------------------------ entities

    async def read(self, request: Request) -> Response:
        """``GET /v3/company/{realm}/{entity}/{id}``."""
        path = request.path_params["entity"]
        entity_id = request.path_params["entity_id"]

        def handle(company: Company, _body: bytes) -> tuple[int, dict[str, Any]]:
            spec = BY_PATH.get(path)
            if spec is None:
                raise fault_catalog.invalid_entity(path)
            return 200, {spec.name: company.read(spec.name, entity_id)}

        return await self._serve(request, handle)

    async def write(self, request: Request) -> Response:
        """``POST /v3/company/{realm}/{entity}[?operation=delete|void|update]``."""
        path = request.path_params["entity"]
        operation = request.query_params.get("operation")

        def handle(company: Company, body: bytes) -> tuple[int, dict[str, Any]]:
            spec = BY_PATH.get(path)
            if spec is None:
                raise fault_catalog.invalid_entity(path)
            document = _object_body(body)
            return 200, {spec.name: _apply(company, spec.name, operation, document)}

        return await self._serve(request, handle, write=True)

    # ------------------------------------------------------------------ query

    async def query(self, request: Request) -> Response:
        """``GET .../query?query=...`` or ``POST .../query`` with the statement as body."""
        text = request.query_params.get("query")

        def handle(company: Company, body: bytes) -> tuple[int, dict[str, Any]]:
            if text is None and request.method == "POST":
                supplied = request.headers.get("content-type", "")
                if supplied.partition(";")[0].strip().lower() != QUERY_CONTENT_TYPE:
                    self._problem(
                        request,
                        ProblemKind.QUERY_CONTENT_TYPE,
                        f"query POSTed as {supplied.partition(';')[0][:60] or '(no type)'}; "
                        f"send {QUERY_CONTENT_TYPE}",
                    )
                    raise fault_catalog.invalid_content_type(QUERY_CONTENT_TYPE, supplied)
            statement = text if text is not None else body.decode("utf-8", "replace")
            if not statement.strip():
                raise fault_catalog.required_param(name="query")
            return 200, {"QueryResponse": run_query(company, statement)}

        return await self._serve(request, handle)

    # ------------------------------------------------------------------ cdc

    async def cdc(self, request: Request) -> Response:
        """``GET .../cdc?entities=Invoice,Customer&changedSince=2026-01-01T00:00:00-08:00``."""
        names = request.query_params.get("entities", "")
        since_text = request.query_params.get("changedSince", "")

        def handle(company: Company, _body: bytes) -> tuple[int, dict[str, Any]]:
            canonical = {name.lower(): name for name in SPECS}
            entities = []
            for name in filter(None, (n.strip() for n in names.split(","))):
                if name.lower() not in canonical:
                    raise fault_catalog.invalid_entity(name)
                entities.append(canonical[name.lower()])
            if not entities:
                raise fault_catalog.required_param(name="entities")
            since = parse_timestamp(since_text) if since_text else None
            if since is None:
                raise fault_catalog.required_param(name="changedSince")
            now = datetime.fromtimestamp(self.emulator.clock(), tz=UTC)
            return 200, change_data_capture(company, entities, since, now)

        return await self._serve(request, handle)

    # ------------------------------------------------------------------ batch

    async def batch(self, request: Request) -> Response:
        """``POST .../batch`` with ``BatchItemRequest``; one ``BatchItemResponse`` per item."""
        limit = self.emulator.limits.batch_max_items
        with_request_id = request.query_params.get("requestid") is not None
        max_batch_id = MAX_BATCH_ITEM_ID_LENGTH if with_request_id else None

        def handle(company: Company, body: bytes) -> tuple[int, dict[str, Any]]:
            payload = _object_body(body)
            items = payload.get("BatchItemRequest")
            if not isinstance(items, list) or not items:
                raise fault_catalog.required_param(name="BatchItemRequest")
            if len(items) > limit:
                raise fault_catalog.batch_too_large(limit, len(items))
            for item in items:
                batch_id = item.get("bId") if isinstance(item, dict) else None
                if max_batch_id is not None and len(str(batch_id or "")) > max_batch_id:
                    self._problem(
                        request,
                        ProblemKind.BATCH_ID_TOO_LONG,
                        f"bId of {len(str(batch_id))} characters in a batch sent with a "
                        f"requestid; at most {max_batch_id}",
                    )
            return 200, {
                "BatchItemResponse": [_batch_item(company, item, max_batch_id) for item in items]
            }

        return await self._serve(request, handle, is_batch=True, write=True)


def _refresh_token_of(form: dict[str, str]) -> str:
    if form.get("grant_type") != "refresh_token":
        raise OAuthError(400, "unsupported_grant_type", "Only refresh_token is emulated")
    if not form.get("refresh_token"):
        raise OAuthError(400, "invalid_request", "refresh_token is required")
    return form["refresh_token"]


def change_data_capture(
    company: Company, entities: list[str], since: datetime, now: datetime
) -> dict[str, Any]:
    """The ``CDCResponse`` for `entities` changed (or deleted) after `since`.

    Intuit's change data capture page:
    https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
    changes of the last 30 days, at most 1,000 objects per response; deleted objects appear
    with ``status: Deleted``. An older ``changedSince`` is clamped to 30 days back.
    """
    horizon = max(since, now - CDC_LOOKBACK)
    budget = CDC_MAX_OBJECTS
    responses: list[dict[str, Any]] = []
    for entity in entities:
        changed = [
            doc
            for doc in [*company.documents(entity), *company.deleted(entity)]
            if (stamp := parse_timestamp(str(doc["MetaData"]["LastUpdatedTime"]))) is not None
            and stamp > horizon
        ][:budget]
        budget -= len(changed)
        if changed:
            responses.append({entity: changed, "startPosition": 1, "maxResults": len(changed)})
        else:
            responses.append({})
    return {"CDCResponse": [{"QueryResponse": responses}]}


def _object_body(body: bytes) -> dict[str, Any]:
    try:
        document = json_codec.loads(body or b"")
    except json_codec.JsonBodyError as exc:
        raise fault_catalog.malformed_body(str(exc)) from None
    if not isinstance(document, dict):
        msg = "expected a JSON object"
        raise fault_catalog.malformed_body(msg)
    return document


def _apply(
    company: Company, entity: str, operation: str | None, document: dict[str, Any]
) -> dict[str, Any]:
    if operation == "delete":
        return company.delete(entity, document)
    if operation == "void":
        return company.void(entity, document)
    if operation not in (None, "update", "create"):
        raise fault_catalog.unsupported_operation(str(operation), entity)
    if operation == "create":
        return company.create(entity, document)
    if operation == "update" or document.get("Id") not in (None, ""):
        return company.update(entity, document)
    return company.create(entity, document)


def run_query(company: Company, statement: str) -> dict[str, Any]:
    """Parse and run one query statement against a company."""
    parsed = query.parse(statement)
    canonical = {name.lower(): name for name in SPECS}.get(parsed.entity.lower())
    if canonical is None:
        msg = f"Invalid entity {parsed.entity!r}"
        raise fault_catalog.query_validation_error(msg)
    if canonical != parsed.entity:
        parsed = query.Query(
            canonical,
            parsed.count,
            parsed.fields,
            parsed.conditions,
            parsed.order,
            parsed.start_position,
            parsed.max_results,
        )
    documents = company.documents(canonical)
    queryable = set(_BASE_QUERYABLE)
    for doc in documents:
        queryable.update(doc)
    return query.execute(
        parsed,
        documents,
        queryable=queryable,
        active_only=SPECS[canonical].kind is EntityKind.NAME_LIST,
    )


_BATCH_OPERATIONS = {"create", "update", "delete"}


def _batch_item(company: Company, item: object, max_batch_id: int | None) -> dict[str, Any]:
    if not isinstance(item, dict):
        fault = fault_catalog.malformed_body("BatchItemRequest entries must be objects")
        return {"Fault": fault.fault_json()}
    batch_id = item.get("bId")
    try:
        if batch_id in (None, ""):
            raise fault_catalog.required_param(name="bId")
        if max_batch_id is not None and len(str(batch_id)) > max_batch_id:
            raise fault_catalog.batch_id_too_long(max_batch_id, len(str(batch_id)))
        if "Query" in item:
            return {"bId": batch_id, "QueryResponse": run_query(company, str(item["Query"]))}
        operation = item.get("operation")
        if operation not in _BATCH_OPERATIONS:
            raise fault_catalog.invalid_value(name="operation", value=str(operation))
        entities = [key for key in item if key in SPECS]
        if len(entities) != 1:
            msg = "each BatchItemRequest needs exactly one entity"
            raise fault_catalog.malformed_body(msg)
        entity = entities[0]
        document = item[entity]
        if not isinstance(document, dict):
            msg = f"{entity} must be an object"
            raise fault_catalog.malformed_body(msg)
        result = _apply(company, entity, str(operation), document)
        return {"bId": batch_id, entity: copy.deepcopy(result)}
    except fault_catalog.QboFault as fault:
        return {"bId": batch_id, "Fault": fault.fault_json()}
