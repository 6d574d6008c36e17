"""A tenant run that failed its last attempt alerts through target-quickbooks' alert hook.

The same hook and payload as the target's own system-error alert (`target_quickbooks.alerts`,
docs/operations.md "Alerts"): the tenant's `alert_url` (and `alert_command`), read from the
tenant's environment like every other setting (`TARGET_QUICKBOOKS_ALERT_URL` in the tenant's or
the shared namespace). The target alerts itself when it stops on a system error; this one covers
what the target never sees: the tap or Meltano failing, a timeout, a run killed.

The message names the tenant, the store, the company, the attempts and the Dagster run; never
the run's output, whose lines may carry order data.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from target_quickbooks.alerts import Alert, send_alert

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kconnector_orchestrate.tenants import Tenant

PLUGIN = "kconnector-orchestrate"
ERROR_CODE = "ORCH-RUN-FAILED"
ALERT_URL_VARIABLE = "TARGET_QUICKBOOKS_ALERT_URL"
ALERT_COMMAND_VARIABLE = "TARGET_QUICKBOOKS_ALERT_COMMAND"

logger = logging.getLogger(__name__)


def failure_alert(tenant: Tenant, *, attempts: int, run_id: str, failure: str) -> Alert:
    """The alert of a tenant whose run failed every attempt (`failure`: an exception class)."""
    message = (
        f"tenant {tenant.name} ({tenant.store_key} -> QuickBooks company {tenant.company}): "
        f"the sync failed {attempts} attempt(s) ({failure}); Dagster run {run_id}. The other "
        "tenants keep running. See the run's log in Dagster, fix the cause, then re-run the "
        f"tenant's job (docs/scale-out.md, 'A failing tenant')."
    )
    return Alert(
        plugin=PLUGIN,
        realm_id=tenant.company,
        error_class="system",
        error_code=ERROR_CODE,
        message=message,
    )


def alert_failure(
    tenant: Tenant,
    tenant_env: Mapping[str, str],
    *,
    attempts: int,
    run_id: str,
    failure: str,
) -> bool:
    """Send the failure alert through the tenant's hook; False when it has none configured."""
    url = tenant_env.get(ALERT_URL_VARIABLE) or None
    command = tenant_env.get(ALERT_COMMAND_VARIABLE) or None
    if url is None and command is None:
        return False
    alert = failure_alert(tenant, attempts=attempts, run_id=run_id, failure=failure)
    send_alert(alert, command=command, url=url, logger=logger)
    return True
