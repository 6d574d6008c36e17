"""Bulk operations for history: start, poll, download the JSONL result and rebuild the orders.

https://shopify.dev/docs/api/usage/bulk-operations/queries: `bulkOperationRunQuery` starts a
query in the background; its status goes CREATED -> RUNNING -> COMPLETED (or FAILED, CANCELED,
EXPIRED); a completed operation has a `url` to a JSONL file (kept seven days) where every object
is one line and objects of nested connections carry `__parentId`. With `groupObjects: false`
(the default from 2026-01, https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false)
children are not guaranteed to follow their parent, so rows are grouped by id here (which also
reads the grouped output of older versions: the tap leaves `groupObjects` at its default).
Before API 2026-01 a shop runs one bulk query at a time: a second start answers a user error
with code OPERATION_IN_PROGRESS, handled by adopting or waiting for the running one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tap_shopify_orders.errors import BulkOperationError
from tap_shopify_orders.queries import BULK_RUN, BULK_STATUS, CURRENT_BULK, bulk_orders_query
from tap_shopify_orders.shopify_values import legacy_id, timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from tap_shopify_orders.connections import RunGraphQL

JSON = dict[str, Any]
FINISHED_BAD = {"FAILED", "CANCELED", "CANCELLED", "EXPIRED"}
RUNNING = {"CREATED", "RUNNING", "CANCELING"}

# Which connection a child row belongs to, by the type in its global id (a fulfillment line
# item's parent is its fulfillment); discount applications have no id: known by their `index`.
_CHILD_FIELD = {
    "LineItem": "lineItems",
    "ShippingLine": "shippingLines",
    "FulfillmentLineItem": "fulfillmentLineItems",
}


def _gid_type(gid: object) -> str | None:
    if not isinstance(gid, str) or not gid.startswith("gid://"):
        return None
    parts = gid.split("/")
    return parts[3] if len(parts) > 3 else None  # noqa: PLR2004 - gid://shopify/<Type>/<id>


def _parse_rows(lines: Iterable[str]) -> tuple[dict[str, JSON], list[JSON]]:
    orders: dict[str, JSON] = {}
    children: list[JSON] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            msg = f"bulk result line {number} is not JSON"
            raise BulkOperationError(msg) from exc
        if "__parentId" in row:
            children.append(row)
        else:
            orders[row["id"]] = row
    return orders, children


def _child_field(child: JSON) -> str | None:
    field_name = _CHILD_FIELD.get(_gid_type(child.get("id")) or "")
    if field_name is None and "index" in child:
        return "discountApplications"
    return field_name


def group_rows(lines: Iterable[str]) -> list[JSON]:
    """Rebuild orders from JSONL rows: children attached to their parent's connections.

    Returns the orders sorted by `updatedAt` (then id), as the paged reads return them.

    Raises:
        BulkOperationError: for a row that is not JSON or a child whose parent is missing.
    """
    orders, children = _parse_rows(lines)
    parents: dict[str, JSON] = dict(orders)
    for order in orders.values():
        for field_name in ("lineItems", "shippingLines", "discountApplications"):
            order[field_name] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
        for fulfillment in order.get("fulfillments") or []:
            parents[fulfillment["id"]] = fulfillment
    for child in children:
        parent = parents.get(child.pop("__parentId"))
        if parent is None:
            msg = "bulk result has a child row whose parent is missing"
            raise BulkOperationError(msg)
        child_field = _child_field(child)
        if child_field is not None:
            parent.setdefault(child_field, {}).setdefault("nodes", []).append(child)
    return sorted(orders.values(), key=lambda order: (timestamp(order["updatedAt"]), order["id"]))


@dataclass(frozen=True)
class BulkStatus:
    """What a poll says about an operation."""

    id: str
    status: str
    error_code: str | None
    url: str | None
    query: str | None

    @classmethod
    def read(cls, raw: dict[str, Any]) -> BulkStatus:
        """From a BulkOperation object."""
        return cls(
            id=str(raw["id"]),
            status=str(raw.get("status")),
            error_code=raw.get("errorCode"),
            url=raw.get("url"),
            query=raw.get("query"),
        )


@dataclass
class BulkRunner:
    """Runs one bulk query to completion through the tap's GraphQL client."""

    run: RunGraphQL
    poll_seconds: float = 5.0
    timeout_seconds: float = 6 * 3600.0
    sleep: Callable[[float], None] | None = None  # time.sleep, looked up when waiting
    clock: Callable[[], float] = time.monotonic

    def start(self, search: str) -> str:
        """Start the bulk query for orders matching `search`; returns the operation id.

        A running operation of the same query is adopted; another one is waited for.

        Raises:
            BulkOperationError: when Shopify refuses the query.
        """
        query = bulk_orders_query(search)
        deadline = self.clock() + self.timeout_seconds
        while True:
            data = self.run("BulkRun", BULK_RUN, {"query": query})
            payload = data.get("bulkOperationRunQuery") or {}
            errors = payload.get("userErrors") or []
            if not errors and payload.get("bulkOperation"):
                return str(payload["bulkOperation"]["id"])
            if not any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
                messages = "; ".join(str(e.get("message")) for e in errors) or "no operation"
                msg = f"Shopify refused the bulk query: {messages}"
                raise BulkOperationError(msg)
            current = self.current()
            if current is not None and current.query == query and current.status in RUNNING:
                return current.id
            if self.clock() > deadline:
                msg = "another bulk query kept running past the timeout; retry later"
                raise BulkOperationError(msg)
            (self.sleep or time.sleep)(self.poll_seconds)

    def current(self) -> BulkStatus | None:
        """The shop's current bulk query operation, if any."""
        raw = self.run("CurrentBulk", CURRENT_BULK, {}).get("currentBulkOperation")
        return BulkStatus.read(raw) if isinstance(raw, dict) else None

    def status(self, operation_id: str) -> BulkStatus:
        """Poll one operation.

        Raises:
            BulkOperationError: when Shopify does not know the operation (e.g. expired).
        """
        raw = self.run("BulkStatus", BULK_STATUS, {"id": operation_id}).get("node")
        if not isinstance(raw, dict):
            msg = f"bulk operation {legacy_id(operation_id)} is unknown to Shopify"
            raise BulkOperationError(msg)
        return BulkStatus.read(raw)

    def wait(self, operation_id: str) -> str | None:
        """Poll until the operation completes; its result URL (None when it found nothing).

        Raises:
            BulkOperationError: when it fails, is cancelled or expires, or the timeout passes.
        """
        deadline = self.clock() + self.timeout_seconds
        while True:
            current = self.status(operation_id)
            if current.status == "COMPLETED":
                return current.url
            if current.status in FINISHED_BAD:
                msg = (
                    f"bulk operation {legacy_id(operation_id)} ended {current.status}"
                    f" ({current.error_code or 'no error code'}); the next run starts a new one"
                )
                raise BulkOperationError(msg)
            if self.clock() > deadline:
                msg = (
                    f"bulk operation {legacy_id(operation_id)} did not finish within "
                    f"{self.timeout_seconds:.0f} s; the next run resumes waiting for it"
                )
                raise BulkOperationError(msg, resumable=True)
            (self.sleep or time.sleep)(self.poll_seconds)


def read_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Split a downloaded byte stream into text lines."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.decode("utf-8")
    if buffer:
        yield buffer.decode("utf-8")
