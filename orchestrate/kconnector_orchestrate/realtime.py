"""Real-time events become tenant runs: the Dagster side of the receiver's queue contract.

The receiver (`kconnector_realtime`) stores each verified webhook in its queue, keyed by store
(`shopify:<host>`, `woocommerce:<host>`, or `quickbooks:<realm id>` for QuickBooks' own change
notifications). On each tick the sensor asks the queue which stores have waiting events, and for
each store that is due (quiet for the debounce, or waiting longer than the maximum delay):

1. claims the store's queued events under one claim key (atomic: events arriving later stay
   queued and make the follow-up run);
2. requests one run per tenant reading that store (a QuickBooks event: every tenant writing to
   that company), tagged with the claim key;
3. the run's asset ends the claim with `finish(claim key, succeeded=...)` after its last
   attempt: done, or back to the queue so the next tick asks again.

Runs of one company still wait for each other in the company's pool; the ledger makes an order
seen by both a real-time run and the scheduled poll cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, timedelta

    from kconnector_orchestrate.tenants import Tenant, Tenants

CLAIM_TAG = "kconnector/realtime-claim"
STORE_TAG = "kconnector/store"
COMPANY_TAG = "kconnector/quickbooks-company"
QUICKBOOKS_PREFIX = "quickbooks:"


class PendingStoreLike(Protocol):
    """`kconnector_realtime.queue.PendingStore`, as far as the sensor uses it."""

    @property
    def store_key(self) -> str:
        """`<platform>:<host>` or `quickbooks:<realm id>`."""

    def due(self, now: datetime, debounce: timedelta, max_delay: timedelta) -> bool:
        """Whether the store's events have waited long enough for a run."""


class EventQueueLike(Protocol):
    """`kconnector_realtime.queue.EventQueue`, as far as the sensor and the runs use it."""

    def pending(self) -> Sequence[PendingStoreLike]:  # pragma: no cover - protocol
        """Stores with queued, unclaimed events."""

    def claim(self, store_key: str, run_key: str) -> int:  # pragma: no cover - protocol
        """Mark the store's queued events as claimed by `run_key`; how many."""

    def finish(self, run_key: str, *, succeeded: bool) -> None:  # pragma: no cover - protocol
        """End a claim: done, or back to queued."""


@dataclass(frozen=True)
class TenantRunRequest:
    """One run the sensor asks for: the tenant, its run key and its tags."""

    tenant: Tenant
    run_key: str
    tags: dict[str, str]


@dataclass
class SensorTick:
    """What one evaluation decided (requests, and stores nobody reads, for the log)."""

    requests: list[TenantRunRequest] = field(default_factory=list)
    unknown_stores: list[str] = field(default_factory=list)
    claimed_events: int = 0


def tenants_for(store_key: str, tenants: Tenants) -> list[Tenant]:
    """The enabled tenants an event of this store (or QuickBooks company) concerns."""
    if store_key.startswith(QUICKBOOKS_PREFIX):
        realm = store_key.removeprefix(QUICKBOOKS_PREFIX)
        return [t for t in tenants.enabled() if t.company == realm]
    # The receiver keys a store by its bare host; a WooCommerce tenant's store may add a folder.
    return [t for t in tenants.enabled() if t.store_key.split("/", 1)[0] == store_key]


def evaluate(
    queue: EventQueueLike,
    tenants: Tenants,
    *,
    now: datetime,
    debounce: timedelta,
    max_delay: timedelta,
) -> SensorTick:
    """Claim every due store's events and say which tenant runs to request."""
    tick = SensorTick()
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
    for pending in queue.pending():
        if not pending.due(now, debounce, max_delay):
            continue
        concerned = tenants_for(pending.store_key, tenants)
        if not concerned:
            tick.unknown_stores.append(pending.store_key)
            continue
        claim_key = f"realtime:{pending.store_key}:{stamp}"
        claimed = queue.claim(pending.store_key, claim_key)
        if claimed == 0:
            continue
        tick.claimed_events += claimed
        for tenant in concerned:
            tick.requests.append(
                TenantRunRequest(
                    tenant=tenant,
                    run_key=f"{claim_key}:{tenant.name}",
                    tags={
                        CLAIM_TAG: claim_key,
                        STORE_TAG: tenant.store_key,
                        COMPANY_TAG: tenant.company,
                    },
                )
            )
    return tick
