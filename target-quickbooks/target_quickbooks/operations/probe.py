"""The connection probe of `status`: one short try, no delivery backoff.

A health command must answer within seconds, so the probe does not go through the delivery
engine (whose retries and backoff are sized for a sync run: minutes when QuickBooks is down).
It builds its own client from the same settings with a single attempt and a short read timeout
(the connect timeout stays `settings.CONNECT_TIMEOUT_SECONDS`; a closed port answers at once),
asks for one TaxCode (a built-in list every company answers), and says "ok", "unreachable"
with the reason, "revoked", or the QuickBooks error code.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from kconnector_canonical.http_session import GuardedSession
from target_quickbooks import error_catalog
from target_quickbooks.auth import TokenManager
from target_quickbooks.client import QuickBooksClient
from target_quickbooks.errors import DeliveryError, SystemFaultError, TransientError
from target_quickbooks.rate_limits import RealmRateLimiter

if TYPE_CHECKING:
    from target_quickbooks.settings import Settings
    from target_quickbooks.store import Store

# A cheap read every QuickBooks company answers (TaxCode is a built-in list).
CONNECTION_CHECK = "SELECT * FROM TaxCode STARTPOSITION 1 MAXRESULTS 1"
PROBE_READ_TIMEOUT_SECONDS = 5.0


def probe_settings(settings: Settings, *, read_timeout: float) -> Settings:
    """The settings of the probe: one attempt, a short read timeout, no backoff."""
    return dataclasses.replace(
        settings,
        max_attempts=1,
        request_timeout_seconds=min(read_timeout, settings.request_timeout_seconds),
    )


def probe_connection(
    settings: Settings, store: Store, *, read_timeout: float = PROBE_READ_TIMEOUT_SECONDS
) -> tuple[str, str | None]:
    """(state, detail): ok | unreachable | revoked | <QuickBooks error code>, and why."""
    quick = probe_settings(settings, read_timeout=read_timeout)
    session = GuardedSession()
    try:
        tokens = TokenManager(quick, store.tokens, session, audit=store.audit)
        limiter = RealmRateLimiter(
            quick.realm_id,
            requests_per_window=quick.requests_per_minute,
            batches_per_window=quick.batch_requests_per_minute,
            window_seconds=quick.rate_limit_window_seconds,
            max_concurrency=1,
            wait=False,
        )
        QuickBooksClient(quick, tokens, limiter, session).query(CONNECTION_CHECK)
    except SystemFaultError as exc:
        state = "revoked" if exc.code == error_catalog.TOKEN_REVOKED else exc.code
        return state, f"{exc.message}. {exc.guidance}"
    except TransientError as exc:
        return "unreachable", f"QuickBooks did not answer on one short try: {exc.message}"
    except DeliveryError as exc:
        return exc.code, exc.message
    finally:
        session.close()
    return "ok", None
