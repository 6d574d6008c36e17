"""Schema versions and in-flight upcasters.

A canonical record carries `schema_version`. When the model changes, the new version gets an
upcaster from the previous one: a pure function `record(vN) -> record(vN+1)`, registered with
`@registry.upcaster("orders", from_version=N)`. The mapper calls `upcast(record, stream)` on every
record before mapping, so records written by an older tap (or left in flight during an upgrade)
map like current ones. Earlier upcasters are never edited: adding v3 means adding one function.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from kconnector_canonical.schemas import CURRENT_SCHEMA_VERSION, STREAMS, Stream

Record = dict[str, Any]
Upcaster = Callable[[Record], Record]


class UpcastError(ValueError):
    """A record whose version cannot be brought to the current one; the message says why."""


class UpcasterRegistry:
    """The chain of upcasters for each stream, up to `current_version`."""

    def __init__(self, current_version: int) -> None:
        """An empty chain ending at `current_version`."""
        self.current_version = current_version
        self._steps: dict[tuple[Stream, int], Upcaster] = {}

    def upcaster(self, stream: Stream, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator registering `fn` as the `from_version -> from_version + 1` step of `stream`.

        Raises:
            ValueError: unknown stream, a step past the current version, or a duplicate step.
        """
        if stream not in STREAMS:
            msg = f"unknown stream {stream!r}"
            raise ValueError(msg)
        if not 1 <= from_version < self.current_version:
            msg = (
                f"an upcaster from v{from_version} cannot lead to v{self.current_version} or below"
            )
            raise ValueError(msg)
        key = (stream, from_version)
        if key in self._steps:
            msg = f"{stream} already has an upcaster from v{from_version}"
            raise ValueError(msg)

        def register(fn: Upcaster) -> Upcaster:
            self._steps[key] = fn
            return fn

        return register

    def upcast(self, record: Record, stream: Stream) -> Record:
        """The record at `current_version`; the input is never modified.

        Raises:
            UpcastError: no/invalid `schema_version`, a version newer than this package knows
                (upgrade kconnector-canonical), or a missing step in the chain.
        """
        version = record.get("schema_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            msg = f"schema_version must be a positive integer, got {version!r}"
            raise UpcastError(msg)
        if version > self.current_version:
            msg = (
                f"schema_version {version} is newer than this installation understands "
                f"(v{self.current_version}); upgrade kconnector-canonical and the mapper"
            )
            raise UpcastError(msg)
        current = record
        while version < self.current_version:
            step = self._steps.get((stream, version))
            if step is None:
                msg = f"no upcaster for {stream} from v{version} to v{version + 1}"
                raise UpcastError(msg)
            current = step(copy.deepcopy(current))
            version += 1
            current["schema_version"] = version
        return current


# The registry the mapper uses: one step per (stream, version), appended, never edited. A v3 adds
# `@registry.upcaster("orders", from_version=2)` functions below and bumps CURRENT_SCHEMA_VERSION.
# Payouts start at v2, so they have no step from v1.
registry = UpcasterRegistry(CURRENT_SCHEMA_VERSION)


@registry.upcaster("orders", from_version=1)
def _orders_v1_to_v2(record: Record) -> Record:
    """v2 adds the optional `fee`/`net` to transactions; a v1 order is a valid v2 order as is.

    The processor's fee of a v1 record is unknown (not zero), so the fields stay absent rather
    than being filled with a guess.
    """
    return record


@registry.upcaster("refunds", from_version=1)
def _refunds_v1_to_v2(record: Record) -> Record:
    """v2 adds the optional `fee`/`net` to transactions; a v1 refund is a valid v2 refund as is."""
    return record


def upcast(record: Record, stream: Stream) -> Record:
    """Bring a record of any supported `schema_version` to the current one (see `registry`)."""
    return registry.upcast(record, stream)
