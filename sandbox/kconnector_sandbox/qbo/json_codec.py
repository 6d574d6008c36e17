"""JSON in and out of the emulator with money kept as `Decimal`.

QuickBooks Online sends amounts as JSON numbers (``"TotalAmt": 108.25``), so the emulator reads
numbers with a fraction as `Decimal` and writes `Decimal` back as a JSON number built from its exact
decimal text, never through a float.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_encode_string = json.encoder.encode_basestring_ascii


class JsonBodyError(ValueError):
    """A request body that is not valid JSON."""


def loads(raw: bytes | str) -> Any:  # noqa: ANN401 - JSON is dynamically typed
    """Parse JSON, reading every number with a fraction or exponent as `Decimal`.

    Raises:
        JsonBodyError: the text is not valid JSON.
    """
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonBodyError(str(exc)) from exc


def dumps(value: object) -> bytes:
    """Serialise `value` (dicts, lists, str, int, bool, None, Decimal) to compact UTF-8 JSON."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode("utf-8")


def _write(value: object, parts: list[str]) -> None:  # noqa: C901, PLR0912 - one branch per JSON type
    if isinstance(value, str):
        parts.append(_encode_string(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, Decimal):
        parts.append(_decimal_text(value))
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, dict):
        parts.append("{")
        first = True
        for key, item in value.items():
            if not first:
                parts.append(",")
            first = False
            parts.append(_encode_string(str(key)))
            parts.append(":")
            _write(item, parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        msg = f"cannot serialise {type(value).__name__} to JSON"
        raise TypeError(msg)


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        msg = "non-finite decimal cannot be serialised"
        raise ValueError(msg)
    text = format(value, "f")
    return "0" if text in {"-0", "-0.0", "-0.00"} else text
