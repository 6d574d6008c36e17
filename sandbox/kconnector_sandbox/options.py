"""The options every emulator is built from (one object, set by the CLI or a test fixture)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from kconnector_sandbox.faults import FaultPlan

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.applications import Starlette


@dataclass(frozen=True)
class SandboxOptions:
    """What an emulator needs to start.

    Attributes:
        seed: seed for generated data and injected faults (same seed, same run).
        orders: how many orders the seeded store holds (store emulators).
        time_scale: rate-limit windows are divided by this (60 makes a one-minute window one
            second); also speeds up simulated waits. 1.0 is real time.
        faults: the fault plan for this emulator's API endpoints.
        state_dir: folder where an emulator keeps its state between starts (the QuickBooks
            emulator's companies and tokens); None keeps everything in memory.
    """

    seed: int = 0
    orders: int = 100
    time_scale: float = 1.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    state_dir: Path | None = None


class Emulator(Protocol):
    """What each emulator module's `build(options)` returns."""

    @property
    def app(self) -> Starlette:
        """The ASGI app (vendor API routes plus `/__admin/...`)."""
        ...

    def banner(self, base_url: str) -> list[str]:
        """Lines the CLI prints once serving: URLs and demo credentials."""
        ...
