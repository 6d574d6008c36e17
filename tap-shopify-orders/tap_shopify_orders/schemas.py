"""The canonical streams' JSON Schemas, as the tap sends them in SCHEMA messages.

They come from `kconnector_canonical.singer_schema`, unchanged except that the `type` a
`const` or `enum` already implies is written out: the SDK's typing helpers and its standard
tests read `type`, and the validation (and so every record) stays the same.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from kconnector_canonical import singer_schema


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "string"


def _spell_out_types(node: Any) -> Any:  # noqa: ANN401 - walks JSON Schema
    """Add the `type` that a `const`/`enum` already implies (same validation, same records).

    The SDK's typing helpers and standard tests read `type`; the canonical schemas leave it
    implicit on enums and consts.
    """
    if isinstance(node, dict):
        out = {key: _spell_out_types(value) for key, value in node.items()}
        values = [out["const"]] if "const" in out else out.get("enum")
        if isinstance(values, list) and values and "type" not in out:
            types = sorted({_json_type(v) for v in values}, key=lambda t: t == "null")
            out["type"] = types[0] if len(types) == 1 else types
        return out
    if isinstance(node, list):
        return [_spell_out_types(item) for item in node]
    return node


def canonical_schema(stream: Literal["orders", "refunds"]) -> dict[str, Any]:
    """The canonical Singer schema of `stream`, with implied types spelled out."""
    return cast("dict[str, Any]", _spell_out_types(singer_schema(stream)))
