"""The alert hook: a command and/or a URL called once when a system error stops the run.

The command receives the alert as JSON on stdin (and the message in ``KCONNECTOR_ALERT``);
the URL receives it as a JSON POST. Neither ever carries a secret. A failing hook is logged and
does not hide the original error.

The URL is called through `kconnector_canonical.http_session.GuardedSession`, like every other
request of K-Connector: a redirect to another host is not followed (a webhook URL often is its
own credential), and the whole answer must arrive within `_HOOK_TIMEOUT_SECONDS`, so a stalled
or dripping alert endpoint cannot hold a run that is already stopping.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import requests

from kconnector_canonical.http_session import GuardedSession
from target_quickbooks.settings import CONNECT_TIMEOUT_SECONDS

if TYPE_CHECKING:
    import logging

_HOOK_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Alert:
    """What the hook receives."""

    plugin: str
    realm_id: str
    error_class: str
    error_code: str
    message: str


def send_alert(
    alert: Alert,
    *,
    command: str | None,
    url: str | None,
    logger: logging.Logger,
) -> None:
    """Call the configured hooks; failures are logged, never raised."""
    payload = json.dumps(asdict(alert))
    if command:
        try:
            subprocess.run(  # noqa: S603 - the operator's own configured command, no shell
                shlex.split(command),
                input=payload,
                text=True,
                timeout=_HOOK_TIMEOUT_SECONDS,
                check=True,
                env={**os.environ, "KCONNECTOR_ALERT": alert.message},
                capture_output=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            logger.error("event=alert_failed hook=command error=%s", type(exc).__name__)  # noqa: TRY400 - no traceback needed
    if url:
        try:
            with GuardedSession(total_timeout=_HOOK_TIMEOUT_SECONDS) as session:
                response = session.post(
                    url,
                    data=payload,
                    headers={"Content-Type": "application/json"},
                    timeout=(CONNECT_TIMEOUT_SECONDS, _HOOK_TIMEOUT_SECONDS),
                )
            response.raise_for_status()
        except requests.RequestException as exc:
            logger.error("event=alert_failed hook=url error=%s", type(exc).__name__)  # noqa: TRY400 - no traceback needed
