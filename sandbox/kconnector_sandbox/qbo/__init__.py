"""QuickBooks Online Accounting API emulator (OAuth 2.0, entities, query, batch, limits, faults).

`build(options)` returns a `QboEmulator`; see docs/sandbox-qbo.md for what is emulated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kconnector_sandbox.qbo.emulator import QboEmulator
from kconnector_sandbox.qbo.limits import QboLimits

if TYPE_CHECKING:
    from kconnector_sandbox.options import SandboxOptions

__all__ = ["QboEmulator", "QboLimits", "build"]


def build(options: SandboxOptions) -> QboEmulator:
    """Build the emulator from the sandbox options (seed, time_scale, faults)."""
    return QboEmulator(options)
