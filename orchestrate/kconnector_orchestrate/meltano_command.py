"""A tenant's `meltano run`: its command line and its environment (pure, no I/O).

Meltano's own mechanisms carry everything that differs between tenants:

- **state**: `meltano run --state-id-suffix <tenant>`, so each tenant keeps its own bookmark
  (`<environment>:<extractor>-to-<loader>:<tenant>`) although tenants share plugins;
- **settings**: Meltano reads every plugin setting from `<NAMESPACE>_<SETTING>` environment
  variables, which take precedence over `meltano.yml`
  (https://docs.meltano.com/guide/configuration/#configuration-layers). A tenant's own values
  (secrets, mapping rules such as `MAP_QUICKBOOKS_TAX_CODE_MAP`) are kept in the orchestrator's
  environment or secret store as `KCONNECTOR_TENANT_<NAME>__<VARIABLE>`, values shared by every
  tenant (the Intuit app's client id and secret, the shared store's `database_url`, the token
  encryption key) as `KCONNECTOR_SHARED__<VARIABLE>`; each run receives its own, prefix removed;
- **plugins**: a tenant needing different plugin settings beyond that names plugins declared in
  `meltano.yml` with `inherit_from` (the tenants file's `extractor`, `mapping`, `loader`).

Each tenant's run gets a Meltano system folder of its own (`MELTANO_SYS_DIR_ROOT` =
`<.meltano>/tenants/<name>`, the installed plugins linked in): Meltano writes a run's plugin
config and catalog under `.meltano/run/<plugin>/` with fixed names, so two tenants of one
extractor running at once on one worker would otherwise overwrite each other's files. Meltano's
system database (the state) stays the project's one unless `MELTANO_DATABASE_URI` names another.

A run never sees another tenant's variables, nor plugin variables of the orchestrator's own
environment (a `TARGET_QUICKBOOKS_REFRESH_TOKEN` left there would otherwise reach every tenant).
The store and the company come from the tenants file only: a variable naming another one stops
the run, since the one-writer-per-company pool is keyed on the file's company.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kconnector_orchestrate.tenants import Tenant

SHARED_NAMESPACE = "KCONNECTOR_SHARED__"
TENANT_NAMESPACE = "KCONNECTOR_TENANT_"
# Variables that configure a plugin or a Meltano run: never inherited from the orchestrator.
PLUGIN_VARIABLE_PREFIXES = ("TAP_", "TARGET_", "MAP_", "MELTANO_RUN_", "MELTANO_STATE_")
REALM_VARIABLE = "TARGET_QUICKBOOKS_REALM_ID"
STORE_SCOPE_VARIABLE = "KCONNECTOR_STORE"
SHOP_VARIABLE = "TAP_SHOPIFY_ORDERS_SHOP"
WOOCOMMERCE_URL_VARIABLE = "TAP_WOOCOMMERCE_ORDERS_URL"
# Names whose values are credentials: registered for redaction in everything the run prints.
SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "KEY", "DATABASE_URL", "ALERT_URL")


class TenantEnvironmentError(ValueError):
    """A tenant's environment contradicts the tenants file (the message names both)."""


PLUGIN_TYPE_DIRS = ("extractors", "mappers", "loaders", "utilities")


@dataclass(frozen=True)
class MeltanoInvocation:
    """What runs for one tenant: the command line, its environment, the values to redact.

    `sys_dir` is the tenant's Meltano system folder, `shared_sys_dir` the project's (whose
    installed plugins the runner links into `sys_dir`).
    """

    argv: tuple[str, ...]
    env: dict[str, str]
    secrets: tuple[str, ...]
    sys_dir: Path
    shared_sys_dir: Path


def meltano_argv(tenant: Tenant, meltano: str) -> tuple[str, ...]:
    """`meltano --log-format=json --environment <env> run --state-id-suffix <tenant> ...`.

    JSON log lines let the run's figures (records read, the target's run summary) be read
    without depending on the console layout.
    """
    return (
        meltano,
        "--log-format=json",
        "--environment",
        tenant.meltano_environment,
        "run",
        "--state-id-suffix",
        tenant.name,
        tenant.extractor,
        tenant.mapping,
        tenant.loader,
    )


def tenant_environment(tenant: Tenant, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of one tenant's run, built from the orchestrator's.

    Raises:
        TenantEnvironmentError: a variable names another store or company than the file.
    """
    env = {
        key: value
        for key, value in environ.items()
        if not key.startswith((*PLUGIN_VARIABLE_PREFIXES, TENANT_NAMESPACE, SHARED_NAMESPACE))
    }
    shared = _namespace(environ, SHARED_NAMESPACE)
    own = _namespace(environ, tenant.env_namespace)
    for scope, values in (("shared", shared), ("tenant", own)):
        _check_identity(tenant, values, scope)
    env.update(shared)
    env.update(own)
    env[REALM_VARIABLE] = tenant.company
    # target-quickbooks-ops run in this environment shows this store's rows only.
    env[STORE_SCOPE_VARIABLE] = tenant.store_key
    if tenant.platform == "shopify":
        env[SHOP_VARIABLE] = tenant.host
    else:
        env.setdefault(WOOCOMMERCE_URL_VARIABLE, f"https://{tenant.host}")
    return env


def secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    """The values of credential-named variables, for redaction."""
    return tuple(
        value
        for key, value in env.items()
        if value and any(part in key.upper() for part in SECRET_NAME_PARTS)
    )


def invocation(
    tenant: Tenant, environ: Mapping[str, str], meltano: str, project_root: Path
) -> MeltanoInvocation:
    """The command line and environment of one tenant's run from `project_root`.

    Raises:
        TenantEnvironmentError: a variable names another store or company than the file.
    """
    env = tenant_environment(tenant, environ)
    shared = Path(environ.get("MELTANO_SYS_DIR_ROOT") or project_root / ".meltano")
    sys_dir = shared / "tenants" / tenant.name
    env["MELTANO_SYS_DIR_ROOT"] = str(sys_dir)
    env.setdefault("MELTANO_DATABASE_URI", f"sqlite:///{shared / 'meltano.db'}")
    return MeltanoInvocation(
        meltano_argv(tenant, meltano), env, secret_values(env), sys_dir, shared
    )


def _namespace(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {
        key.removeprefix(prefix): value
        for key, value in environ.items()
        if key.startswith(prefix) and len(key) > len(prefix)
    }


def _check_identity(tenant: Tenant, values: Mapping[str, str], scope: str) -> None:
    prefix = SHARED_NAMESPACE if scope == "shared" else tenant.env_namespace
    realm = values.get(REALM_VARIABLE)
    if realm is not None and realm != tenant.company:
        msg = (
            f"tenant {tenant.name}: {prefix}{REALM_VARIABLE} names company {realm}, the tenants "
            f"file company {tenant.company}; remove the variable (the company comes from the "
            "tenants file) or correct the file"
        )
        raise TenantEnvironmentError(msg)
    shop = values.get(SHOP_VARIABLE)
    if tenant.platform == "shopify" and shop is not None and shop.lower() != tenant.host:
        msg = (
            f"tenant {tenant.name}: {prefix}{SHOP_VARIABLE} names shop {shop}, the tenants file "
            f"{tenant.host}; remove the variable (the store comes from the tenants file)"
        )
        raise TenantEnvironmentError(msg)
    url = values.get(WOOCOMMERCE_URL_VARIABLE)
    if tenant.platform == "woocommerce" and url is not None:
        parts = urlsplit(url)
        # The tap's own store name: host (no port) and path (kept for a store in a folder).
        host = ((parts.hostname or "") + parts.path.rstrip("/")).lower()
        if host != tenant.host:
            msg = (
                f"tenant {tenant.name}: {prefix}{WOOCOMMERCE_URL_VARIABLE} points at "
                f"{host or '(no host)'}, the tenants file's store is {tenant.host}; make the "
                "URL's host the store's"
            )
            raise TenantEnvironmentError(msg)
