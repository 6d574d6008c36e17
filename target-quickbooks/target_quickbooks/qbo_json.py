"""JSON for QuickBooks: amounts travel as JSON numbers written from `Decimal`, never via float.

The QuickBooks API takes amounts as JSON numbers (``"TotalAmt": 19.99``); the mapper's contract
carries them as decimal strings. `dumps` writes a `Decimal` verbatim (``Decimal("19.99")`` ->
``19.99``) and `loads` reads every JSON number with a fraction as a `Decimal`, so an amount never
passes through binary floating point.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

_STRING = json.JSONEncoder(ensure_ascii=False)


class NonFiniteAmountError(ValueError):
    """A NaN or infinite Decimal cannot be sent as a JSON number."""


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        msg = "amounts must be finite"
        raise NonFiniteAmountError(msg)
    return format(value, "f")


def _write(value: Any, out: list[str], *, sort_keys: bool) -> None:  # noqa: ANN401, C901, PLR0912 - one branch per JSON type
    if isinstance(value, str):
        out.append(_STRING.encode(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, Decimal):
        out.append(_decimal_text(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            msg = "numbers must be finite"
            raise NonFiniteAmountError(msg)
        out.append(repr(value))
    elif isinstance(value, dict):
        out.append("{")
        items = sorted(value.items()) if sort_keys else value.items()
        for index, (key, item) in enumerate(items):
            if index:
                out.append(",")
            out.append(_STRING.encode(str(key)))
            out.append(":")
            _write(item, out, sort_keys=sort_keys)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out, sort_keys=sort_keys)
        out.append("]")
    else:
        msg = f"cannot encode {type(value).__name__} as JSON"
        raise TypeError(msg)


def dumps(value: Any, *, sort_keys: bool = False) -> str:  # noqa: ANN401 - any JSON value
    """Compact JSON with every `Decimal` written as the number it is.

    Args:
        value: dicts, lists, strings, bools, None, ints and Decimals.
        sort_keys: sort object keys (canonical form for hashing).

    Returns:
        The JSON text.
    """
    try:
        # The C encoder writes the same text when nothing needs the writer below: no Decimal
        # (it refuses one: TypeError), no non-finite float (ValueError), string keys (JSON's
        # own). Hashing the mapper's bodies, which carry amounts as strings, takes this path.
        return json.dumps(
            value,
            sort_keys=sort_keys,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError):
        out: list[str] = []
        _write(value, out, sort_keys=sort_keys)
        return "".join(out)


def loads(text: str | bytes) -> Any:  # noqa: ANN401 - any JSON value
    """Parse JSON, reading numbers with a fraction or exponent as `Decimal`."""
    return json.loads(text, parse_float=Decimal)
