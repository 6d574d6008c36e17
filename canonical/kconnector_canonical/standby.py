"""A tap started ahead of its work: it waits for the real-time dispatcher's release, then reads.

kconnector-realtime keeps one `meltano run` of each store's job started ahead of the store's next
events (a *standby*): Meltano, the tap, the mapper and the target are started and imported, which
is most of a short run's time, and the tap waits here before its first request. When the store's
events are due, the dispatcher releases it with the settings of that run (the window's
`start_date`), layered over the configuration Meltano gave the tap; the tap then reads like any
run. Without `KCONNECTOR_STANDBY_DIR` in its environment a tap never waits.

The conversation is two files in a folder of the dispatcher's, one folder per standby:

- the tap writes `ready` when it starts waiting (the dispatcher logs the warm-up time);
- the dispatcher writes `release.json` in one step (written aside, then renamed), either
  `{"config": {"start_date": "..."}}` or `{"cancel": true}`. A cancelled standby ends at once
  without a request (exit 0: the mapper and the target read an empty input and write nothing).

A standby also ends without a request when the dispatcher that started it is gone
(`KCONNECTOR_STANDBY_OWNER_PID`), so a dispatcher killed with SIGKILL leaves no waiting tap that
could read later, outside the one-run-per-store rule.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

STANDBY_DIR_ENV: Final = "KCONNECTOR_STANDBY_DIR"
STANDBY_OWNER_ENV: Final = "KCONNECTOR_STANDBY_OWNER_PID"
READY_FILE: Final = "ready"
RELEASE_FILE: Final = "release.json"
# How often a waiting tap looks for its release: a stat call, so cheap; it bounds the delay the
# wait adds to a run.
POLL_SECONDS: Final = 0.02
# How often it checks that its dispatcher is still alive (a signal 0 to its pid).
OWNER_CHECK_SECONDS: Final = 1.0

logger = logging.getLogger("kconnector_canonical.standby")


class StandbyCancelledError(Exception):
    """The standby ends without reading: cancelled, or its dispatcher is gone."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (signal 0: nothing is sent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def write_release(folder: Path, payload: Mapping[str, Any]) -> None:
    """Write `release.json` in one step: a tap never reads half of it.

    Args:
        folder: the standby's folder (its `KCONNECTOR_STANDBY_DIR`).
        payload: `{"config": {...}}` to release the run, `{"cancel": True}` to end it.
    """
    staging = folder / f".{RELEASE_FILE}.{os.getpid()}"
    staging.write_text(json.dumps(dict(payload)), encoding="utf-8")
    staging.replace(folder / RELEASE_FILE)


def wait_for_release(
    environ: Mapping[str, str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    owner_alive: Callable[[int], bool] = pid_alive,
) -> dict[str, Any] | None:
    """Wait for the dispatcher's release when this process is a standby.

    Args:
        environ: the process environment (`KCONNECTOR_STANDBY_DIR`, `..._OWNER_PID`).
        sleep: waits between looks (injected in tests).
        monotonic: the clock of the owner checks (injected in tests).
        owner_alive: whether the dispatcher's process still exists.

    Returns:
        None when this process is not a standby (no wait); else the settings to layer over the
        configuration (e.g. `{"start_date": "2026-05-01T10:00:00Z"}`).

    Raises:
        StandbyCancelledError: the release cancels the run, or the dispatcher is gone.
        TypeError: a release that is not `{"config": {...}}` or `{"cancel": true}`.
    """
    folder_text = environ.get(STANDBY_DIR_ENV, "").strip()
    if not folder_text:
        return None
    folder = Path(folder_text)
    owner_text = environ.get(STANDBY_OWNER_ENV, "").strip()
    owner = int(owner_text) if owner_text.isdigit() else None
    (folder / READY_FILE).touch()
    release = folder / RELEASE_FILE
    checked_at = monotonic()
    while not release.exists():
        if owner is not None and monotonic() - checked_at >= OWNER_CHECK_SECONDS:
            checked_at = monotonic()
            if not owner_alive(owner):
                msg = f"the dispatcher (pid {owner}) that started this standby is gone"
                raise StandbyCancelledError(msg)
        sleep(POLL_SECONDS)
    payload = json.loads(release.read_text(encoding="utf-8"))
    if isinstance(payload, dict) and payload.get("cancel") is True:
        msg = "the dispatcher cancelled this standby"
        raise StandbyCancelledError(msg)
    config = payload.get("config") if isinstance(payload, dict) else None
    if not isinstance(config, dict):
        msg = f"{release}: expected {{'config': {{...}}}} or {{'cancel': true}}"
        raise TypeError(msg)
    return config


def released_invoke_arguments(
    arguments: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A tap's `invoke` keyword arguments once a standby is released (unchanged otherwise).

    The release's settings are layered over the merged configuration the SDK read from the
    `--config` files (the SDK's configuration input is a dataclass with a `config` mapping).

    Args:
        arguments: the keyword arguments of the SDK's `Tap.invoke`.
        environ: the process environment (default: `os.environ`).

    Raises:
        StandbyCancelledError: the standby ends without reading (the caller exits 0).
        TypeError: the SDK's configuration input is not what this function layers over.
    """
    if arguments.get("about"):
        return dict(arguments)
    overrides = wait_for_release(os.environ if environ is None else environ)
    if overrides is None:
        return dict(arguments)
    given = arguments.get("config")
    if not dataclasses.is_dataclass(given) or isinstance(given, type):
        msg = "a standby tap needs its configuration from --config files (Meltano gives them)"
        raise TypeError(msg)
    merged = {**getattr(given, "config", {}), **overrides}
    logger.info("event=standby_released settings=%s", ",".join(sorted(overrides)))
    return {**arguments, "config": dataclasses.replace(given, config=merged)}
