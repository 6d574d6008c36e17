"""The canonical JSON Schemas shipped in this package, one file per stream."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any, Literal

Stream = Literal["orders", "refunds", "payouts"]
STREAMS: tuple[Stream, ...] = ("orders", "refunds", "payouts")
# 2: payouts (a stream of its own) and the processor's fee/net on order and refund transactions.
CURRENT_SCHEMA_VERSION = 2
PRIMARY_KEYS: tuple[str, ...] = ("id",)


@cache
def _load(stream: Stream) -> dict[str, Any]:
    if stream not in STREAMS:
        msg = f"unknown canonical stream {stream!r}; expected one of {', '.join(STREAMS)}"
        raise ValueError(msg)
    text = (
        resources.files("kconnector_canonical")
        .joinpath("schemas", f"{stream}.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_schema(stream: Stream) -> dict[str, Any]:
    """The stream's JSON Schema as shipped (with `$defs` and `$ref`s); a fresh copy each call."""
    return copy.deepcopy(_load(stream))


def _inline(node: Any, defs: dict[str, Any]) -> Any:  # noqa: ANN401 - walks arbitrary JSON
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline(defs[ref.removeprefix("#/$defs/")], defs)
            extra = {k: _inline(v, defs) for k, v in node.items() if k != "$ref"}
            return {**target, **extra}
        return {k: _inline(v, defs) for k, v in node.items() if k not in {"$defs", "$id"}}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def singer_schema(stream: Stream) -> dict[str, Any]:
    """The stream's schema with every `$ref` inlined, for Singer SCHEMA messages.

    Singer targets and the SDK's typing helpers expect self-contained schemas: taps emit this.
    """
    schema = load_schema(stream)
    inlined: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    inlined.pop("$schema", None)
    return inlined
