"""Bulk operations: a query run in the background whose result is a JSONL file.

https://shopify.dev/docs/api/usage/bulk-operations/queries: each object is one JSON line; objects
of nested connections are lines of their own carrying ``__parentId``, after their parent; list
fields stay inside their parent's line, and a connection inside a list field is refused. Status
goes CREATED -> RUNNING -> COMPLETED (or FAILED with an ``errorCode`` and a ``partialDataUrl``).
Here the run is executed a slice of root orders at a time, on a background thread past the first
slice (`bulk_runner.py`), and lasts at least ``(1 s + 1 ms per object) / time_scale``. The result is
kept as compressed JSONL (a 100,000-order result is a few hundred MB as Python objects, a few
tens as compressed bytes). The ``url`` expires seven days after completion (status ``EXPIRED``,
https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationStatus and the ``url`` field
of https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation); the admin API can
expire an operation at once.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLNamedType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from kconnector_sandbox.shopify.model import gid

if TYPE_CHECKING:
    from collections.abc import Iterator

    from graphql import DocumentNode, GraphQLSchema

# Shopify refuses a bulk query that selects a connection inside a list field (e.g.
# `Order.fulfillments { fulfillmentLineItems { edges ... } }`): bulkOperationRunQuery answers a
# user error with this message. The bulk guide (https://shopify.dev/docs/api/usage/bulk-operations/queries)
# lists the other restrictions; this one is the API's own answer, as reproduced by client code
# that met it (e.g. https://github.com/estuary/connectors/pull/4650: "Bulk operations reject a
# connection nested inside a list").
CONNECTION_IN_LIST = (
    "Queries that contain a connection field within a list field are not currently supported."
)
_CONNECTION_WRAPPERS = frozenset({"edges", "nodes", "node", "pageInfo"})


class BulkFailure(StrEnum):
    """An admin-armed outcome for the next bulk operation."""

    NONE = "none"
    FAIL = "fail"  # FAILED, INTERNAL_SERVER_ERROR, partial data
    TIMEOUT = "timeout"  # FAILED, TIMEOUT, partial data


def _nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    if "nodes" in connection and isinstance(connection["nodes"], list):
        return [n for n in connection["nodes"] if isinstance(n, dict)]
    return [
        e["node"]
        for e in connection.get("edges", [])
        if isinstance(e, dict) and isinstance(e.get("node"), dict)
    ]


def _is_connection(value: object) -> bool:
    return isinstance(value, dict) and ("edges" in value or "nodes" in value)


def flatten(data: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """JSONL rows for a bulk query result, and how many of them are root objects."""
    rows: list[dict[str, Any]] = []
    roots = 0

    def emit(obj: dict[str, Any], parent_id: str | None) -> None:
        row = {k: v for k, v in obj.items() if not _is_connection(v)}
        if parent_id is not None:
            row["__parentId"] = parent_id
        rows.append(row)
        for value in obj.values():
            if _is_connection(value):
                for child in _nodes(value):
                    emit(child, str(obj.get("id")))

    for value in data.values():
        if _is_connection(value):
            for node in _nodes(value):
                roots += 1
                emit(node, None)
    return rows, roots


@dataclass
class _ListWalk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]

    def find(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        path: str,
        *,
        in_list: bool,
    ) -> str | None:
        if selection_set is None:
            return None
        for selection in selection_set.selections:
            found: str | None = None
            if isinstance(selection, FieldNode):
                found = self._field(selection, parent, path, in_list=in_list)
            elif isinstance(selection, InlineFragmentNode):
                target = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                found = self.find(selection.selection_set, target or parent, path, in_list=in_list)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    found = self.find(
                        fragment.selection_set, target or parent, path, in_list=in_list
                    )
            if found is not None:
                return found
        return None

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, path: str, *, in_list: bool
    ) -> str | None:
        fields: dict[str, GraphQLField] = getattr(parent, "fields", {})
        definition = fields.get(node.name.value)
        if definition is None:
            return None
        named = get_named_type(definition.type)
        where = f"{path}.{node.name.value}" if path else node.name.value
        if named.name.endswith("Connection"):
            if in_list:
                return where
            return self.find(node.selection_set, named, where, in_list=False)
        inside_connection = parent.name.endswith(("Connection", "Edge"))
        if inside_connection and node.name.value in _CONNECTION_WRAPPERS:
            return self.find(node.selection_set, named, where, in_list=in_list)
        listed = is_list_type(get_nullable_type(definition.type))  # type: ignore[arg-type]
        return self.find(node.selection_set, named, where, in_list=in_list or listed)


def connection_in_list(schema: GraphQLSchema, document: DocumentNode) -> str | None:
    """The path of the first connection selected inside a list field, or None."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _ListWalk(schema, fragments)
    root = schema.query_type
    if root is None:
        return None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            found = walk.find(definition.selection_set, root, "", in_list=False)
            if found is not None:
                return found
    return None


URL_LIFETIME = timedelta(days=7)


class BulkResult:
    """A bulk run's JSONL, compressed as its slices arrive (the rows are never all held)."""

    def __init__(self) -> None:
        """Empty."""
        self._compressor = zlib.compressobj(1)
        self._chunks: list[bytes] = []
        self.object_count = 0
        self.root_count = 0
        self.file_size = 0

    def add(self, rows: list[dict[str, Any]], roots: int) -> None:
        """Append one slice's rows."""
        body = b"".join(jsonl_lines(rows))
        self._chunks.append(self._compressor.compress(body))
        self.object_count += len(rows)
        self.root_count += roots
        self.file_size += len(body)

    def finish(self, record: BulkOperationRecord, duration: float) -> None:
        """Complete `record` with this result (a failed run keeps the first half as partial)."""
        result = b"".join([*self._chunks, self._compressor.flush()])
        self._chunks = []
        partial = b""
        if record.failure is not BulkFailure.NONE:
            lines = zlib.decompress(result).splitlines(keepends=True)
            partial = zlib.compress(b"".join(lines[: len(lines) // 2]), 1)
        record.result = result
        record.partial_result = partial
        record.object_count = self.object_count
        record.root_count = self.root_count
        record.file_size = self.file_size
        record.duration = duration
        record.finished = True


def jsonl_lines(rows: list[dict[str, Any]]) -> list[bytes]:
    """Each row as one JSONL line (UTF-8, newline-terminated)."""
    return [
        (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode() for row in rows
    ]


@dataclass
class BulkOperationRecord:
    """One bulk operation of a shop; its result kept compressed."""

    legacy_id: int
    query: str
    created_at: datetime
    started: float  # monotonic seconds
    duration: float  # seconds until done
    object_count: int
    root_count: int
    failure: BulkFailure
    result: bytes = b""  # zlib-compressed JSONL of every object
    partial_result: bytes = b""  # zlib-compressed JSONL of the first half (a failed run's)
    file_size: int = 0
    expired: bool = False  # set when the URL passed its seven days (or by the admin API)
    finished: bool = True  # every slice written (False while a background run writes)

    @classmethod
    def of_rows(  # noqa: PLR0913 - one field each
        cls,
        *,
        legacy_id: int,
        query: str,
        created_at: datetime,
        started: float,
        duration: float,
        rows: list[dict[str, Any]],
        root_count: int,
        failure: BulkFailure,
    ) -> BulkOperationRecord:
        """An operation whose result is `rows` (serialised and compressed once, here)."""
        lines = jsonl_lines(rows)
        body = b"".join(lines)
        return cls(
            legacy_id=legacy_id,
            query=query,
            created_at=created_at,
            started=started,
            duration=duration,
            object_count=len(lines),
            root_count=root_count,
            failure=failure,
            result=zlib.compress(body, 1),
            partial_result=zlib.compress(b"".join(lines[: len(lines) // 2]), 1),
            file_size=len(body),
        )

    @property
    def id(self) -> str:
        """The operation's global id."""
        return gid("BulkOperation", self.legacy_id)

    def done(self, now: float) -> bool:
        """Whether the run has finished by monotonic time `now` (written, and its time passed)."""
        return self.finished and now - self.started >= self.duration

    def jsonl(self, *, partial: bool = False) -> bytes:
        """The result file (or the first half of it for a failed run)."""
        return zlib.decompress(self.partial_result if partial else self.result)

    def jsonl_chunks(self, *, partial: bool = False, size: int = 1 << 20) -> Iterator[bytes]:
        """The result file in pieces (a download never holds the whole file uncompressed)."""
        body = self.partial_result if partial else self.result
        decompressor = zlib.decompressobj()
        for offset in range(0, len(body), size):
            piece = decompressor.decompress(body[offset : offset + size])
            if piece:
                yield piece
        rest = decompressor.flush()
        if rest:
            yield rest


@dataclass(frozen=True)
class BulkOperationView:
    """A bulk operation as the API shows it at one moment."""

    graphql_type = "BulkOperation"
    id: str
    status: str
    error_code: str | None
    created_at: datetime
    completed_at: datetime | None
    object_count: int
    root_object_count: int
    file_size: int | None
    url: str | None
    partial_data_url: str | None
    query: str
    type: str = "QUERY"


def view(
    record: BulkOperationRecord,
    now: float,
    download_base: str,
    shop_now: datetime | None = None,
) -> BulkOperationView:
    """The operation's state at monotonic time `now`; URLs start with `download_base`.

    `shop_now` (the shop's clock) expires a completed operation's URL after seven days.
    """
    elapsed = max(now - record.started, 0.0)
    finished_at = record.created_at + timedelta(seconds=record.duration)
    total = record.object_count
    if not record.done(now):
        status = "CREATED" if elapsed < record.duration * 0.1 else "RUNNING"
        progress = total  # still writing: the objects written so far
        if record.finished and record.duration:
            progress = int(total * elapsed / record.duration)
        return BulkOperationView(
            record.id,
            status,
            None,
            record.created_at,
            None,
            progress,
            0,
            None,
            None,
            None,
            record.query,
        )
    if shop_now is not None and shop_now - finished_at >= URL_LIFETIME:
        record.expired = True
    if record.expired:
        return BulkOperationView(
            record.id,
            "EXPIRED",
            None,
            record.created_at,
            finished_at if record.failure is BulkFailure.NONE else None,
            total,
            record.root_count,
            None,
            None,
            None,
            record.query,
        )
    if record.failure is BulkFailure.NONE:
        return BulkOperationView(
            record.id,
            "COMPLETED",
            None,
            record.created_at,
            finished_at,
            total,
            record.root_count,
            record.file_size,
            f"{download_base}/{record.legacy_id}.jsonl" if total else None,
            None,
            record.query,
        )
    code = "TIMEOUT" if record.failure is BulkFailure.TIMEOUT else "INTERNAL_SERVER_ERROR"
    return BulkOperationView(
        record.id,
        "FAILED",
        code,
        record.created_at,
        None,
        total // 2,
        0,
        None,
        None,
        f"{download_base}/{record.legacy_id}.partial.jsonl",
        record.query,
    )
