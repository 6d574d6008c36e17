"""The tenants file: which store writes to which QuickBooks company, declared, never coded.

A tenant is one (store, QuickBooks company) pair: one pipeline, one Meltano state, one Dagster
job. The file names stores and companies only; mapping rules and secrets come from the
environment (`kconnector_orchestrate.meltano_command`), so the file can live in git::

    version: 1
    defaults:
      meltano_environment: prod
      schedule: "*/15 * * * *"
    tenants:
      - name: acme-us
        store: shopify:acme.myshopify.com
        company: "9130357600000001"
      - name: acme-wholesale
        store: woocommerce:wholesale.acme.com
        company: "9130357600000001"
        schedule: "0 * * * *"

Every problem is reported at once, each naming the tenant, the field and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

FILE_VERSION = 1
PLATFORMS = ("shopify", "woocommerce")
# The store key is the real-time receiver's (kconnector_realtime.queue): "<platform>:<host>".
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
# A host as the taps name the store in every record's id: no port; a WooCommerce store may sit
# under a path (`shop.example.com/store`), as its tap keeps it.
_HOST = re.compile(r"^[A-Za-z0-9.-]+(/[A-Za-z0-9._~-]+)*$")
# QuickBooks realm ids are decimal digits (Intuit's "realmId", the company id).
_REALM = re.compile(r"^[0-9]{1,32}$")
# Five-field cron, as Dagster schedules read it.
_PLUGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_CRON = re.compile(r"^\S+ \S+ \S+ \S+ \S+$")
_TENANT_FIELDS = frozenset(
    {
        "name",
        "store",
        "company",
        "schedule",
        "enabled",
        "meltano_environment",
        "extractor",
        "mapping",
        "loader",
    }
)
_DEFAULT_FIELDS = frozenset({"schedule", "meltano_environment"})
# Keys that would put a secret or mapping rules into the file: refused with the way to do it.
_SECRET_HINTS = (
    "token",
    "secret",
    "password",
    "key",
    "credential",
    "url",
    "rules",
    "config",
    "map",
    "tax",
    "account",
)
DEFAULT_SCHEDULE = "*/15 * * * *"
DEFAULT_MELTANO_ENVIRONMENT = "prod"
DEFAULT_MAPPINGS = {"shopify": "shopify-rules", "woocommerce": "woocommerce-rules"}
EXTRACTORS = {"shopify": "tap-shopify-orders", "woocommerce": "tap-woocommerce-orders"}


class TenantsFileError(ValueError):
    """The tenants file is unusable; `problems` lists each one (field and fix)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        """One message listing every problem of the file."""
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"the tenants file {source} has {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Tenant:
    """One store writing to one QuickBooks company."""

    name: str
    platform: str
    host: str
    company: str
    schedule: str
    meltano_environment: str
    extractor: str
    mapping: str
    loader: str = "target-quickbooks"
    enabled: bool = True

    @property
    def store_key(self) -> str:
        """`<platform>:<host>`, as the real-time receiver's queue names the store."""
        return f"{self.platform}:{self.host}"

    @property
    def env_namespace(self) -> str:
        """Prefix of this tenant's own environment variables (`KCONNECTOR_TENANT_ACME_US__`)."""
        return "KCONNECTOR_TENANT_" + self.name.upper().replace("-", "_") + "__"

    @property
    def pool(self) -> str:
        """The Dagster concurrency pool of the tenant's company: one writer at a time."""
        return f"quickbooks-company-{self.company}"


@dataclass(frozen=True)
class Tenants:
    """The validated tenants file."""

    tenants: tuple[Tenant, ...]

    def enabled(self) -> tuple[Tenant, ...]:
        """The tenants that run (offboarded ones stay in the file with `enabled: false`)."""
        return tuple(t for t in self.tenants if t.enabled)

    def by_name(self, name: str) -> Tenant:
        """The tenant of that name.

        Raises:
            KeyError: no tenant has it.
        """
        for tenant in self.tenants:
            if tenant.name == name:
                return tenant
        msg = f"no tenant named {name!r} in the tenants file"
        raise KeyError(msg)

    def by_store(self, store_key: str) -> list[Tenant]:
        """The enabled tenants reading one store (one per company it writes to)."""
        return [t for t in self.enabled() if t.store_key == store_key]

    def companies(self) -> dict[str, list[Tenant]]:
        """Enabled tenants grouped by QuickBooks company."""
        grouped: dict[str, list[Tenant]] = {}
        for tenant in self.enabled():
            grouped.setdefault(tenant.company, []).append(tenant)
        return grouped


def load_tenants(path: Path) -> Tenants:
    """Read and validate a tenants file.

    Raises:
        TenantsFileError: the file cannot be read or has problems (all listed).
    """
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise TenantsFileError(
            str(path),
            [
                (
                    f"cannot read it ({type(exc).__name__}); set KCONNECTOR_TENANTS_FILE to the "
                    "tenants file's path (docs/scale-out.md, 'Tenants')"
                )
            ],
        ) from None
    return parse_tenants(text, source=str(path))


def parse_tenants(text: str, *, source: str = "<tenants>") -> Tenants:
    """Validate the tenants file's text.

    Raises:
        TenantsFileError: every problem found, each naming the field and the fix.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TenantsFileError(source, [f"not valid YAML{where}: fix the syntax"]) from None
    problems: list[str] = []
    if not isinstance(document, dict):
        raise TenantsFileError(source, ["the file must be a mapping with `version` and `tenants`"])
    if document.get("version") != FILE_VERSION:
        problems.append(f"version: must be {FILE_VERSION} (found {document.get('version')!r})")
    unknown = sorted(set(document) - {"version", "defaults", "tenants"})
    if unknown:
        problems.append(
            f"unknown top-level key(s) {unknown}: allowed are version, defaults, tenants"
        )
    defaults = _defaults(document.get("defaults"), problems)
    entries = document.get("tenants")
    if not isinstance(entries, list) or not entries:
        problems.append("tenants: must be a non-empty list of {name, store, company}")
        raise TenantsFileError(source, problems)
    tenants = [_tenant(i, entry, defaults, problems) for i, entry in enumerate(entries)]
    valid = [t for t in tenants if t is not None]
    _check_unique(valid, problems)
    if problems:
        raise TenantsFileError(source, problems)
    return Tenants(tuple(valid))


def _defaults(raw: object, problems: list[str]) -> dict[str, str]:
    defaults = {
        "schedule": DEFAULT_SCHEDULE,
        "meltano_environment": DEFAULT_MELTANO_ENVIRONMENT,
    }
    if raw is None:
        return defaults
    if not isinstance(raw, dict):
        problems.append("defaults: must be a mapping (schedule, meltano_environment)")
        return defaults
    for key, value in raw.items():
        if key not in _DEFAULT_FIELDS:
            problems.append(
                f"defaults.{key}: unknown; allowed are {', '.join(sorted(_DEFAULT_FIELDS))}"
            )
        elif not isinstance(value, str) or not value:
            problems.append(f"defaults.{key}: must be a non-empty string")
        else:
            defaults[key] = value
    if not _CRON.match(defaults["schedule"]):
        problems.append(f"defaults.schedule: {defaults['schedule']!r} is not a 5-field cron")
    return defaults


def _tenant(  # noqa: C901, PLR0912 - one check per field, each with its own message
    index: int, raw: object, defaults: Mapping[str, str], problems: list[str]
) -> Tenant | None:
    where = f"tenants[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping with name, store and company")
        return None
    name = raw.get("name")
    if isinstance(name, str) and _NAME.match(name):
        where = f"tenants[{index}] ({name})"
    else:
        problems.append(
            f"{where}.name: {name!r} must be 1-40 characters of a-z, 0-9 and '-', starting "
            "with a letter (it names the job, the state id suffix and the environment variables)"
        )
    before = len(problems)
    for key in sorted(set(raw) - _TENANT_FIELDS):
        if any(hint in key.lower() for hint in _SECRET_HINTS):
            problems.append(
                f"{where}.{key}: secrets and mapping rules never go in this file; set them as "
                f"environment variables KCONNECTOR_TENANT_<NAME>__<MELTANO SETTING VARIABLE> "
                "(docs/scale-out.md, 'Secrets and mapping rules')"
            )
        else:
            problems.append(
                f"{where}.{key}: unknown field; allowed are {', '.join(sorted(_TENANT_FIELDS))}"
            )
    platform, host = _store(where, raw.get("store"), problems)
    company = raw.get("company")
    if isinstance(company, int) and not isinstance(company, bool):
        company = str(company)
    if not isinstance(company, str) or not _REALM.match(company):
        problems.append(
            f"{where}.company: {raw.get('company')!r} must be the QuickBooks company id "
            '(realmId, digits; quote it in YAML: company: "9130357600000001")'
        )
    schedule = raw.get("schedule", defaults["schedule"])
    if not isinstance(schedule, str) or not _CRON.match(schedule):
        problems.append(f"{where}.schedule: {schedule!r} must be a 5-field cron expression")
    environment = raw.get("meltano_environment", defaults["meltano_environment"])
    if not isinstance(environment, str) or not environment:
        problems.append(f"{where}.meltano_environment: must name a Meltano environment")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"{where}.enabled: must be true or false")
    # Plugin names default to the project's; a tenant needing other plugin settings names
    # plugins declared in meltano.yml with `inherit_from` (docs/scale-out.md).
    plugins = {
        "extractor": raw.get("extractor", EXTRACTORS.get(platform or "", "")),
        "mapping": raw.get("mapping", DEFAULT_MAPPINGS.get(platform or "", "")),
        "loader": raw.get("loader", "target-quickbooks"),
    }
    for key, value in plugins.items():
        if platform is None and value == "":
            continue  # no default without a platform; the store's problem is reported
        if not isinstance(value, str) or not _PLUGIN.match(value):
            problems.append(
                f"{where}.{key}: {value!r} must name a plugin (or mapping) of meltano.yml"
            )
    if len(problems) > before or not isinstance(name, str) or not _NAME.match(name):
        return None
    return Tenant(
        name=name,
        platform=str(platform),
        host=str(host),
        company=str(company),
        schedule=str(schedule),
        meltano_environment=str(environment),
        extractor=str(plugins["extractor"]),
        mapping=str(plugins["mapping"]),
        loader=str(plugins["loader"]),
        enabled=bool(enabled),
    )


def _store(where: str, store: Any, problems: list[str]) -> tuple[str | None, str | None]:  # noqa: ANN401 - raw YAML
    hint = (
        "must be '<platform>:<host>' with platform shopify or woocommerce, e.g. "
        "'shopify:acme.myshopify.com' or 'woocommerce:shop.example.com'"
    )
    if not isinstance(store, str) or ":" not in store:
        problems.append(f"{where}.store: {store!r} {hint}")
        return None, None
    platform, host = store.split(":", 1)
    if platform in PLATFORMS and re.match(r"^[^/]+:[0-9]+", host):
        problems.append(
            f"{where}.store: {store!r}: name the store by its host without the port, as the "
            "tap names it in every record's id (e.g. 'woocommerce:127.0.0.1'); give the URL "
            "with its port in the tenant's TAP_WOOCOMMERCE_ORDERS_URL variable"
        )
        return None, None
    if platform not in PLATFORMS or not _HOST.match(host):
        problems.append(f"{where}.store: {store!r} {hint}")
        return None, None
    if platform == "shopify" and not host.endswith(".myshopify.com"):
        problems.append(
            f"{where}.store: {store!r}: a Shopify store is named by its myshopify.com domain "
            "(Shopify admin, Settings > Domains), e.g. 'shopify:acme.myshopify.com'"
        )
        return None, None
    if platform == "shopify" and "/" in host:
        problems.append(f"{where}.store: {store!r} {hint}")
        return None, None
    return platform, host.lower()


def _check_unique(tenants: list[Tenant], problems: list[str]) -> None:
    names: set[str] = set()
    pairs: dict[tuple[str, str], str] = {}
    for tenant in tenants:
        if tenant.name in names:
            problems.append(f"tenants ({tenant.name}).name: used twice; each tenant needs its own")
        names.add(tenant.name)
        pair = (tenant.store_key, tenant.company)
        if pair in pairs:
            problems.append(
                f"tenants ({tenant.name}): store {tenant.store_key} already writes to company "
                f"{tenant.company} as tenant {pairs[pair]}; two pipelines for one pair would "
                "sync every order twice: remove one"
            )
        pairs[pair] = tenant.name
