"""The receiver's settings: read once into frozen objects; secrets only from the environment.

Routes (which Meltano job serves which store, for which QuickBooks company) come from a TOML
file or from the `KCONNECTOR_REALTIME_STORES` environment variable (the same TOML text), so a
Meltano utility setting can hold them:

    [[stores]]
    store = "shopify:kconnector-us.myshopify.com"
    job = "shopify-to-quickbooks"
    realm_id = "9130357600000001"

    [[stores]]
    store = "woocommerce:shop.example.com"
    job = "woocommerce-to-quickbooks"
    realm_id = "9130357600000001"

A route never holds a secret: signing secrets are the `KCONNECTOR_REALTIME_*` settings (one per
platform, comma-separated during a rotation, the new one first).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from kconnector_realtime.queue import StoreKeyError, split_store_key

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

# The taps' start_date settings, as Meltano reads them from the environment.
START_DATE_ENV: Final = {
    "shopify": "TAP_SHOPIFY_ORDERS_START_DATE",
    "woocommerce": "TAP_WOOCOMMERCE_ORDERS_START_DATE",
}
# What every real-time run of a platform's job adds. Shopify: a narrow window is read with pages,
# never with a bulk operation (`bulk_threshold_days` at the tap's maximum, 50 years): a bulk
# query is polled every 5 s, and before API 2026-01 a shop runs one at a time, so a real-time run
# would wait for (or hold up) the scheduled poll's backfill. A window of 1,000 orders or more
# (the receiver down for long) still goes to bulk: the tap's own rule for a big recent range.
RUN_ENV: Final[dict[str, dict[str, str]]] = {
    "shopify": {"TAP_SHOPIFY_ORDERS_BULK_THRESHOLD_DAYS": str(365 * 50)},
    "woocommerce": {},
}
DEFAULT_JOBS: Final = {
    "shopify": "shopify-to-quickbooks",
    "woocommerce": "woocommerce-to-quickbooks",
}
# Shopify waits 5 s, WooCommerce 5 s, QuickBooks 3 s for an answer; a delivery of an order
# with hundreds of lines stays far below 1 MiB.
DEFAULT_MAX_BODY_BYTES: Final = 1_048_576


class SettingsError(ValueError):
    """A setting that cannot work, named with its fix."""


@dataclass(frozen=True)
class StoreRoute:
    """One store (or QuickBooks company) and the Meltano job its events run."""

    store: str
    job: str
    realm_id: str

    @property
    def platform(self) -> str:
        """`shopify`, `woocommerce` or `quickbooks`."""
        return split_store_key(self.store)[0]

    @property
    def run_slot(self) -> tuple[str, str]:
        """At most one run at a time per (store, QuickBooks company)."""
        return (self.store, self.realm_id)


@dataclass(frozen=True)
class Secrets:
    """The signing secrets per platform (several during a rotation)."""

    shopify: tuple[str, ...] = ()
    woocommerce: tuple[str, ...] = ()
    quickbooks: tuple[str, ...] = ()

    def values(self) -> list[str]:
        """Every secret (to register with the log redaction)."""
        return [*self.shopify, *self.woocommerce, *self.quickbooks]

    def __repr__(self) -> str:
        """Never the values."""
        return (
            f"Secrets(shopify={len(self.shopify)}, woocommerce={len(self.woocommerce)}, "
            f"quickbooks={len(self.quickbooks)})"
        )


@dataclass(frozen=True)
class DispatchSettings:
    """How the dispatcher coalesces events into runs."""

    # Shopify sends orders/create, orders/paid and orders/updated of one order within about a
    # second: a second of quiet takes them together; a later one makes a follow-up run.
    debounce: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(seconds=60)
    # The run's window starts this long before the oldest event (clock skew, a late retry).
    window_margin: timedelta = timedelta(minutes=10)
    # A failed run's events wait this long before the next attempt.
    retry_after: timedelta = timedelta(seconds=30)
    run_timeout: timedelta = timedelta(minutes=30)
    # Done events are kept this long for dedupe (longer than any vendor retries: Shopify 48 h).
    retention: timedelta = timedelta(days=7)
    meltano: str = "meltano"
    # Runs of each routed store's job started ahead, waiting for its events (dispatcher.py);
    # 0: every run starts cold. Two: a follow-up run finds one warmed up for two runs' time.
    standby_runs: int = 2
    # A standby is replaced after this long (it then runs with the settings of the day).
    standby_max_age: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class RealtimeSettings:
    """Everything `serve` needs."""

    database_url: str
    routes: tuple[StoreRoute, ...]
    secrets: Secrets = field(default_factory=Secrets)
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def route(self, store: str) -> StoreRoute | None:
        """The route of a store key (None: not configured, events wait for the poll)."""
        return next((r for r in self.routes if r.store == store), None)

    def quickbooks_routes(self, realm_id: str) -> list[StoreRoute]:
        """The store routes writing to one QuickBooks company."""
        return [r for r in self.routes if r.realm_id == realm_id]


def secrets_list(value: str | None) -> tuple[str, ...]:
    """A comma-separated secrets setting (new first during a rotation)."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def parse_routes(text: str, *, origin: str) -> tuple[StoreRoute, ...]:
    """Routes from TOML text (see the module docstring).

    Raises:
        SettingsError: unreadable TOML, a bad store key, a missing realm_id, a secret in the file.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{origin}: not valid TOML ({exc})"
        raise SettingsError(msg) from exc
    routes: list[StoreRoute] = []
    for index, entry in enumerate(document.get("stores", [])):
        where = f"{origin}: stores[{index}]"
        if not isinstance(entry, dict):
            msg = f"{where}: must be a table with store, job and realm_id"
            raise SettingsError(msg)
        secret_like = sorted(k for k in entry if "secret" in k or "token" in k)
        if secret_like:
            msg = (
                f"{where}: {', '.join(secret_like)} must not be in a file; set the "
                "KCONNECTOR_REALTIME_*_SECRET / _VERIFIER_TOKEN settings instead"
            )
            raise SettingsError(msg)
        store = str(entry.get("store", ""))
        try:
            platform, _host = split_store_key(store)
        except StoreKeyError as exc:
            msg = f"{where}.store: {exc} (e.g. shopify:demo.myshopify.com)"
            raise SettingsError(msg) from exc
        if platform == "quickbooks":
            msg = f"{where}.store: name the store; QuickBooks events follow its realm_id"
            raise SettingsError(msg)
        realm_id = str(entry.get("realm_id", "")).strip()
        if not realm_id:
            msg = f"{where}.realm_id: required (the QuickBooks company the job writes to)"
            raise SettingsError(msg)
        job = str(entry.get("job") or DEFAULT_JOBS[platform])
        routes.append(StoreRoute(store=store, job=job, realm_id=realm_id))
    stores = [r.store for r in routes]
    duplicated = sorted({s for s in stores if stores.count(s) > 1})
    if duplicated:
        msg = f"{origin}: {', '.join(duplicated)} routed twice; keep one entry per store"
        raise SettingsError(msg)
    return tuple(routes)


def load_routes(path: Path | None, environ: Mapping[str, str]) -> tuple[StoreRoute, ...]:
    """Routes from the file at `path`, else from `KCONNECTOR_REALTIME_STORES`."""
    if path is not None:
        return parse_routes(path.read_text(encoding="utf-8"), origin=str(path))
    text = environ.get("KCONNECTOR_REALTIME_STORES", "")
    return parse_routes(text, origin="KCONNECTOR_REALTIME_STORES") if text.strip() else ()
