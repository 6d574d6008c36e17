"""The QuickBooks emulator's state file (``--state-dir``): a versioned JSON document on disk.

The file holds what a real company keeps between two connections: every realm with its documents,
SyncTokens, MetaData and id counters, the OAuth tokens (rotated refresh tokens with their grace
and expiry) and the ``requestid`` entries still retained. Money is kept exact: a `Decimal` is
written as ``{"$decimal": "19.99"}`` and read back as the same `Decimal` (a plain JSON number
would turn ``Decimal("0")`` into the integer 0 and lose the distinction).

Writes are atomic: the document goes to a temporary file in the same folder, is flushed to disk,
then replaces the previous file (`os.replace`), so a reader or a crash never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

STATE_FILE_NAME = "qbo-state.json"
FORMAT = 1
KIND = "kconnector-sandbox qbo state"
_DECIMAL_TAG = "$decimal"


class StateFileError(click.ClickException):
    """A state file that cannot be used: unreadable, not JSON, another format or another seed.

    A `click.ClickException`, so ``kconnector-sandbox serve`` stops with the message (and exit
    code 1) rather than a traceback; the message names the file and how to start afresh.
    """

    def __init__(self, path: Path, problem: str, hint: str = "") -> None:
        """Build the error for `path` with what is wrong with it."""
        advice = f"{hint}, or delete" if hint else "Delete"
        super().__init__(
            f"QuickBooks emulator state file {path} {problem}. {advice} the file (or start "
            "without --state-dir) to start again from the seeded companies."
        )
        self.path = path
        self.problem = problem


def state_path(state_dir: Path) -> Path:
    """Where the state of the QuickBooks emulator lives inside a ``--state-dir`` folder."""
    return state_dir / STATE_FILE_NAME


def _encode_extra(value: object) -> dict[str, str]:
    if isinstance(value, Decimal):
        return {_DECIMAL_TAG: str(value)}
    msg = f"cannot store {type(value).__name__} in the state file"
    raise TypeError(msg)


def _decode_object(obj: dict[str, Any]) -> Any:  # noqa: ANN401 - a JSON object or a Decimal
    if len(obj) == 1 and isinstance(obj.get(_DECIMAL_TAG), str):
        return Decimal(obj[_DECIMAL_TAG])
    return obj


def encode(state: dict[str, Any], *, seed: int) -> bytes:
    """The file's bytes for an emulator state (documents may hold `Decimal` values)."""
    document = {"format": FORMAT, "kind": KIND, "seed": seed, **state}
    text = json.dumps(
        document,
        default=_encode_extra,  # ASCII output (the default): lone surrogates a client sent encode
        check_circular=False,
        separators=(",", ":"),
    )
    return text.encode("utf-8")


def read(path: Path, *, seed: int) -> dict[str, Any] | None:
    """The state stored in `path`, or None when there is no file yet.

    Raises:
        StateFileError: the file cannot be read, is not a state file of this format, or holds
            the companies of another seed (whose client credentials and tokens differ).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(path, f"cannot be read ({exc.strerror})") from exc
    try:
        document = json.loads(raw, object_hook=_decode_object)
    except (ValueError, InvalidOperation) as exc:
        raise StateFileError(path, f"is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise StateFileError(path, "is not a QuickBooks emulator state file")
    if document.get("format") != FORMAT:
        problem = f"has format {document.get('format')!r}; this emulator reads format {FORMAT}"
        raise StateFileError(path, problem)
    if document.get("seed") != seed:
        stored = document.get("seed")
        problem = f"holds the companies of seed {stored!r}, but this start uses seed {seed}"
        raise StateFileError(path, problem, hint=f"Start with --seed {stored}")
    return document


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step (temporary file, fsync, `os.replace`).

    Raises:
        OSError: the folder cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
