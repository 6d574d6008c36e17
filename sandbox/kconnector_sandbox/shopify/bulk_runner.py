"""Running a bulk operation: checked when asked for, executed in the background a slice at a time.

`bulkOperationRunQuery` answers at once with the operation `CREATED`; the query runs afterwards
and the client polls until `COMPLETED` (https://shopify.dev/docs/api/usage/bulk-operations/queries).
Here the query is checked (syntax, schema, no connection inside a list) and its first slice of
500 root orders executed before the answer, so a query that cannot run is refused as a user
error as before; the other slices run on a background thread, so the mutation of a
100,000-order shop answers in about a second instead of holding the request for minutes (the
tap's requests time out after 60 s). The orders matching the query are fixed by the first slice
(the run's listing is pinned); each order is read as it is when its slice runs, and an order
deleted meanwhile is left out. The run is `COMPLETED` once every slice is written and its
modelled duration, ``(1 s + 1 ms per object) / time_scale``, has passed since it was created.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, execute_sync, parse, validate

from kconnector_sandbox.shopify.bulk import (
    CONNECTION_IN_LIST,
    BulkFailure,
    BulkOperationRecord,
    BulkResult,
    connection_in_list,
    flatten,
    view,
)
from kconnector_sandbox.shopify.bulk_plan import BulkPlan, PlanMissError
from kconnector_sandbox.shopify.graphql_api import (
    FIELD_RESOLVER,
    RequestContext,
    field_resolver_for,
)

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLSchema

    from kconnector_sandbox.shopify.state import ShopClock, ShopState

BULK_SLICE = 500  # root orders executed at a time by a bulk run


def _invalid(message: str) -> dict[str, Any]:
    return {
        "bulkOperation": None,
        "userErrors": [{"field": ["query"], "message": message, "code": "INVALID"}],
    }


class BulkRunner:
    """Starts the bulk operations of an emulator's shops (ids are unique across the shops)."""

    def __init__(self, schema: GraphQLSchema, clock: ShopClock, time_scale: float) -> None:
        """Run queries against `schema`; durations are divided by `time_scale`."""
        self._schema = schema
        self._clock = clock
        self._time_scale = max(time_scale, 1e-9)
        self._ids = 4_100_000_000_000
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []  # runs still writing (tests wait for them)

    def start(
        self,
        shop: ShopState,
        version: str,
        bulk_query: str,
        download_base: str,
        *,
        concurrent: int,
    ) -> dict[str, Any]:
        """The `bulkOperationRunQuery` payload: the operation started, or the user errors."""
        now = self._clock.monotonic()
        running = [op for op in shop.bulk_operations if not op.done(now)]
        if len(running) >= concurrent:
            message = (
                "A bulk query operation for this app and shop is already in progress: "
                f"{running[-1].id}."
            )
            return {
                "bulkOperation": None,
                "userErrors": [
                    {"field": None, "message": message, "code": "OPERATION_IN_PROGRESS"}
                ],
            }
        try:
            document = parse(bulk_query)
        except GraphQLError as exc:
            return _invalid(f"Invalid bulk query: {exc.message}")
        errors = validate(self._schema, document)
        if errors:
            return _invalid(f"Invalid bulk query: {errors[0].message}")
        if connection_in_list(self._schema, document) is not None:
            return _invalid(CONNECTION_IN_LIST)
        context = RequestContext(
            shop=shop,
            api_version=version,
            download_base=download_base,
            bulk=True,
            bulk_slice=(0, BULK_SLICE),
            pinned_listings={},
        )
        try:
            plan: BulkPlan | None = BulkPlan(self._schema, document, context, field_resolver_for)
        except PlanMissError:
            plan = None
        result = BulkResult()
        first = _execute_slice(self._schema, document, context, plan)
        if isinstance(first, str):
            return _invalid(f"Invalid bulk query: {first}")
        result.add(*flatten(first))
        with self._lock, shop.lock:
            self._ids += 1
            record = BulkOperationRecord(
                legacy_id=self._ids,
                query=bulk_query,
                created_at=self._clock.now(),
                started=self._clock.monotonic(),
                duration=1.0 / self._time_scale,
                object_count=result.object_count,
                root_count=0,
                failure=shop.next_bulk_failure,
                finished=False,
            )
            shop.next_bulk_failure = BulkFailure.NONE
            shop.bulk_operations.append(record)
        if context.bulk_matched is None or context.bulk_matched <= BULK_SLICE:
            self._finish(record, result)
        else:
            thread = threading.Thread(
                target=self._rest,
                args=(record, result, document, context, plan),
                name=f"shopify-bulk-{record.legacy_id}",
                daemon=True,
            )
            self.threads.append(thread)
            thread.start()
        return {
            "bulkOperation": view(record, self._clock.monotonic(), download_base),
            "userErrors": [],
        }

    def _rest(
        self,
        record: BulkOperationRecord,
        result: BulkResult,
        document: DocumentNode,
        context: RequestContext,
        plan: BulkPlan | None,
    ) -> None:
        """The slices after the first (on the run's thread)."""
        start = BULK_SLICE
        failed = False
        while context.bulk_matched is not None and start < context.bulk_matched:
            context.bulk_slice = (start, start + BULK_SLICE)
            data = _execute_slice(self._schema, document, context, plan)
            if isinstance(data, str):  # a failure mid-run: FAILED, with what was written
                failed = True
                break
            result.add(*flatten(data))
            record.object_count = result.object_count
            start += BULK_SLICE
        if failed and record.failure is BulkFailure.NONE:
            record.failure = BulkFailure.FAIL
        self._finish(record, result)

    def _finish(self, record: BulkOperationRecord, result: BulkResult) -> None:
        result.finish(record, (1.0 + result.object_count / 1000) / self._time_scale)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the runs still writing (for tests and benchmarks)."""
        for thread in list(self.threads):
            thread.join(timeout)


def _execute_slice(
    schema: GraphQLSchema, document: DocumentNode, context: RequestContext, plan: BulkPlan | None
) -> dict[str, Any] | str:
    """One slice of a bulk run: its data, or the message of its first error.

    Through the compiled plan when it completes every value; otherwise graphql-core executes the
    slice and reports its errors exactly as it would have.
    """
    if plan is not None:
        warnings = len(context.warnings)
        try:
            return plan.execute()
        except Exception:  # noqa: BLE001 - not swallowed: graphql-core runs it and reports it
            del context.warnings[warnings:]
    executed = execute_sync(schema, document, context_value=context, field_resolver=FIELD_RESOLVER)
    if executed.errors or not isinstance(executed.data, dict):
        return executed.errors[0].message if executed.errors else "no data"
    return executed.data
