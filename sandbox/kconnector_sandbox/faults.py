"""Seeded fault injection shared by the emulators.

A fault plan is a spec string such as ``"429=0.05,500=0.03,503=0.02,reset=0.02,slow=0.05,
timeout_after_commit=0.03"``: for each request the injector draws at most one fault, with the
given probabilities, from a random generator seeded by the run's seed, so a failing run reproduces
with the same seed and the same request sequence. Each emulator decides how a fault looks in its
own API (the vendor's throttle body for 429, a reset connection for ``reset``, and so on).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


class FaultKind(StrEnum):
    """The faults an emulator can inject."""

    THROTTLE = "429"
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    RESET = "reset"  # TCP reset, no HTTP response
    SLOW = "slow"  # answer correctly, after `slow_seconds`
    TIMEOUT_AFTER_COMMIT = "timeout_after_commit"  # perform the write, then reset the connection


class FaultSpecError(ValueError):
    """A fault spec string that cannot be parsed; the message names the bad part."""


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities per fault kind (each 0..1, summing to at most 1) and the seed."""

    rates: Mapping[FaultKind, float] = field(default_factory=lambda: MappingProxyType({}))
    seed: int = 0
    slow_seconds: float = 2.0

    @classmethod
    def parse(cls, spec: str | None, *, seed: int = 0, slow_seconds: float = 2.0) -> FaultPlan:
        """Parse ``"kind=rate,kind=rate"``; an empty or None spec means no faults.

        Raises:
            FaultSpecError: unknown kind, rate outside 0..1, or rates summing above 1.
        """
        rates: dict[FaultKind, float] = {}
        for raw_part in (spec or "").split(","):
            part = raw_part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep:
                msg = f"fault spec part {part!r} must look like kind=rate, e.g. 429=0.05"
                raise FaultSpecError(msg)
            try:
                kind = FaultKind(name.strip())
            except ValueError:
                known = ", ".join(k.value for k in FaultKind)
                msg = f"unknown fault kind {name.strip()!r}; known kinds: {known}"
                raise FaultSpecError(msg) from None
            try:
                rate = float(value)
            except ValueError:
                msg = f"fault rate for {kind.value!r} must be a number between 0 and 1"
                raise FaultSpecError(msg) from None
            if not 0.0 <= rate <= 1.0:
                msg = f"fault rate for {kind.value!r} must be between 0 and 1, got {value}"
                raise FaultSpecError(msg)
            rates[kind] = rate
        if sum(rates.values()) > 1.0 + 1e-9:
            msg = "fault rates add up to more than 1"
            raise FaultSpecError(msg)
        return cls(rates=MappingProxyType(rates), seed=seed, slow_seconds=slow_seconds)

    def to_spec(self) -> str:
        """The plan back as a spec string (stable order)."""
        return ",".join(f"{k.value}={r:g}" for k, r in sorted(self.rates.items()) if r > 0)


class FaultInjector:
    """Draws faults for successive requests from a seeded generator; thread-safe.

    Only requests for which the emulator calls `draw` consume the sequence (admin endpoints never
    do), so the same seed and the same client requests give the same faults.
    """

    def __init__(self, plan: FaultPlan | None = None) -> None:
        """Start with `plan` (no faults when None)."""
        self._lock = threading.Lock()
        self._plan = plan or FaultPlan()
        self._rng = random.Random(self._plan.seed)  # noqa: S311 - reproducible test faults, not crypto
        self.injected: dict[FaultKind, int] = dict.fromkeys(FaultKind, 0)

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return self._plan

    def configure(self, plan: FaultPlan) -> None:
        """Replace the plan and reseed (the admin endpoint's 'set faults')."""
        with self._lock:
            self._plan = plan
            self._rng = random.Random(plan.seed)  # noqa: S311

    def draw(self, allowed: frozenset[FaultKind] | None = None) -> FaultKind | None:
        """The fault for the next request, or None; `allowed` limits which kinds may apply.

        Args:
            allowed: kinds that make sense for this request (e.g. no TIMEOUT_AFTER_COMMIT on a
                read); a drawn kind outside it counts as no fault.
        """
        with self._lock:
            if not self._plan.rates:
                return None
            roll = self._rng.random()
            cumulative = 0.0
            for kind in FaultKind:
                cumulative += self._plan.rates.get(kind, 0.0)
                if roll < cumulative:
                    if allowed is not None and kind not in allowed:
                        return None
                    self.injected[kind] += 1
                    return kind
            return None
