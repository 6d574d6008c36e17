"""Reading the Singer input: a bad line stops the reading with one sentence, never a traceback.

The SDK's reader (`singer_sdk.singerlib.encoding.SimpleSingerReader`) raises on the first line it
cannot use (not JSON, too deeply nested for the decoder, a RECORD before its SCHEMA, an unknown
message type, a message without its required keys) and logs the whole line: order data, which is
customer PII. `CheckedSingerReader` stops at that line instead and keeps what went wrong as an
`InputLineError` naming the line number and the problem (never the line itself); the target then
flushes as at the end of its input (what came before is delivered and its STATE emitted, nothing
of the bad line is written) and exits non-zero with that one line.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import IO, TYPE_CHECKING, Any

from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json

if TYPE_CHECKING:
    from collections.abc import Callable

_REQUIRED_KEYS = {
    "SCHEMA": ("stream", "schema"),
    "RECORD": ("stream", "record"),
    "STATE": ("value",),
}


class InputLineError(Exception):
    """One input line the target cannot use: its number and what is wrong with it."""

    def __init__(self, line_number: int, problem: str) -> None:
        """Keep the 1-based line number and the problem (never the line's content)."""
        self.line_number = line_number
        self.problem = problem
        super().__init__(f"input line {line_number}: {problem}")


class RecordBeforeSchemaError(InputLineError, RecordsWithoutSchemaException):
    """A RECORD line of a stream whose SCHEMA has not come yet (the SDK's own exception too)."""


def parse_message(line: str) -> dict[str, Any]:
    """One Singer message from a line, or `ValueError` saying what is wrong (no content).

    Raises:
        ValueError: not JSON, nested too deeply, not an object, or without a message type.
    """
    try:
        message: object = deserialize_json(line)
    except json.JSONDecodeError as exc:
        msg = f"is not valid JSON ({exc.msg} at column {exc.colno})"
        raise ValueError(msg) from None
    except RecursionError:
        msg = "is JSON nested too deeply to read"
        raise ValueError(msg) from None
    if not isinstance(message, dict):
        msg = f"is a JSON {type(message).__name__}, not a Singer message object"
        raise ValueError(msg)  # noqa: TRY004 - a bad value in the input, reported as such
    kind = message.get("type")
    if not isinstance(kind, str):
        msg = "has no message `type`"
        raise ValueError(msg)  # noqa: TRY004 - a bad value in the input, reported as such
    missing = [key for key in _REQUIRED_KEYS.get(kind, ()) if key not in message]
    if missing:
        msg = f"is a {kind} message without {', '.join(f'`{key}`' for key in missing)}"
        raise ValueError(msg)
    return message


class CheckedSingerReader(SimpleSingerReader):
    """The SDK's reader, stopping at the first unusable line with `failure` set."""

    def __init__(self) -> None:
        """No failure yet."""
        super().__init__()
        self.failure: InputLineError | None = None

    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict[str, Any]], None]],
    ) -> Counter[str]:
        """Dispatch each message to its callback; stop at the first line that cannot be used."""
        stats: Counter[str] = Counter()
        for number, line in enumerate(file_input or self.default_input, start=1):
            if not line.strip():
                continue  # a blank line carries no message
            self._current_message = line
            try:
                message = parse_message(line)
                kind = str(message["type"])
                callback = callbacks.get(kind)
                if callback is None:
                    problem = f"has the unknown message type {kind!r}"
                    raise ValueError(problem)  # noqa: TRY301 - reported like a parse error
                callback(message)
            except RecordsWithoutSchemaException:
                self.failure = RecordBeforeSchemaError(
                    number,
                    f"is a RECORD of stream {message.get('stream')!r} before that stream's SCHEMA",
                )
                break
            except (ValueError, InvalidInputLine) as exc:
                self.failure = InputLineError(number, str(exc))
                break
            stats[kind] += 1
        return stats
