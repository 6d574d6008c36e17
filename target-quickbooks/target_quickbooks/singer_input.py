"""Reading the Singer input: a bad line stops the reading with one sentence, never a traceback.

The SDK's reader (`singer_sdk.singerlib.encoding.SimpleSingerReader`) raises on the first line it
cannot use (not JSON, too deeply nested for the decoder, a RECORD before its SCHEMA, an unknown
message type, a message without its required keys) and logs the whole line: order data, which is
customer PII. `CheckedSingerReader` stops at that line instead and keeps what went wrong as an
`InputLineError` naming the line number and the problem (never the line itself); the target then
flushes as at the end of its input (what came before is delivered and its STATE emitted, nothing
of the bad line is written) and exits non-zero with that one line.

The reader also holds the fast path of an unchanged rerun (`input_screen`): it reads its input a
chunk of lines ahead, the target's `LineScreen` says which raw lines were settled before, and
those are counted and go no further (no JSON parse, no validation, no sink). The others are
dispatched as before, in order, with their digest in `line_digest` while their callback runs.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import IO, TYPE_CHECKING, Any, Protocol

from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from target_quickbooks.input_screen import Screened

_REQUIRED_KEYS = {
    "SCHEMA": ("stream", "schema"),
    "RECORD": ("stream", "record"),
    "STATE": ("value",),
}
# Lines read ahead and screened together (one store query per chunk). Small enough that a
# streamed input waits little for its chunk; large enough that the query is a few microseconds
# per line.
CHUNK_LINES = 200


class LineScreen(Protocol):
    """The target's side of the fast path (`input_screen.InputScreen`)."""

    def screen(self, lines: Sequence[str]) -> list[Screened]:
        """Each line's digest and, for a settled line, what settles it."""

    def skip(self, screened: Screened) -> bool:
        """Count a settled line that goes no further; False: it takes the full path."""

    def flush(self) -> None:
        """Write what the skipped lines leave behind (their audit rows)."""


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
        """No failure yet, no screen (the target sets `screen_factory`)."""
        super().__init__()
        self.failure: InputLineError | None = None
        # Called once, at the first chunk holding a RECORD: the screen, or None (fast path off).
        self.screen_factory: Callable[[], LineScreen | None] | None = None
        # The digest of the line whose callback runs (the sink keeps it with its document).
        self.line_digest: str | None = None
        self._screen: LineScreen | None = None
        self._screen_asked = False
        self._schemas: set[str] = set()

    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict[str, Any]], None]],
    ) -> Counter[str]:
        """Dispatch each message to its callback; stop at the first line that cannot be used."""
        stats: Counter[str] = Counter()
        number = 0
        for chunk in _chunks(file_input or self.default_input, CHUNK_LINES):
            screened = self._screened(chunk)
            for line, screen in zip(chunk, screened, strict=True):
                number += 1
                if screen is not None and screen.settled and self._skip(screen):
                    stats["RECORD"] += 1
                    continue
                self.line_digest = screen.digest if screen is not None else None
                kind = self._dispatch(number, line, callbacks)
                self.line_digest = None
                if self.failure is not None:
                    break
                if kind is not None:
                    stats[kind] += 1
            # The skipped lines' audit rows, a chunk at a time (not after a system stop: the
            # run ends there, and its alert is sent once).
            if self._screen is not None:
                self._screen.flush()
            if self.failure is not None:
                break
        return stats

    def _screened(self, chunk: list[str]) -> Sequence[Screened | None]:
        """The screen's verdicts on a chunk (none before the first RECORD, or when off)."""
        if not self._screen_asked:
            if self.screen_factory is None or not any('"RECORD"' in line for line in chunk):
                return [None] * len(chunk)
            self._screen_asked = True
            self._screen = self.screen_factory()
        if self._screen is None:
            return [None] * len(chunk)
        return self._screen.screen(chunk)

    def _skip(self, screened: Screened) -> bool:
        """Whether a settled line is skipped (its stream's SCHEMA came, and the screen agrees)."""
        if screened.stream not in self._schemas or self._screen is None:
            return False
        return self._screen.skip(screened)

    def _dispatch(
        self, number: int, line: str, callbacks: dict[str, Callable[[dict[str, Any]], None]]
    ) -> str | None:
        """One line to its callback; its message type, or None (blank, or `failure` set)."""
        if not line.strip():
            return None  # a blank line carries no message
        self._current_message = line
        message: dict[str, Any] = {}
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
            return None
        except (ValueError, InvalidInputLine) as exc:
            self.failure = InputLineError(number, str(exc))
            return None
        if kind == "SCHEMA":
            self._schemas.add(str(message["stream"]))
        return kind


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    """The lines in lists of `size` (the last one shorter)."""
    iterator = iter(lines)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
