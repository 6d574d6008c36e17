from pathlib import Path

import pytest

from kconnector_orchestrate.meltano_command import (
    TenantEnvironmentError,
    invocation,
    meltano_argv,
    tenant_environment,
)
from kconnector_orchestrate.tenants import parse_tenants

TENANTS = parse_tenants(
    """
version: 1
defaults: {meltano_environment: prod}
tenants:
  - {name: acme-us, store: "shopify:acme.myshopify.com", company: "111"}
  - {name: acme-shop, store: "woocommerce:shop.acme.com", company: "111"}
  - {name: beta, store: "shopify:beta.myshopify.com", company: "222"}
"""
)
ACME, SHOP, BETA = TENANTS.tenants


def test_the_command_is_meltano_run_with_the_tenant_as_state_id_suffix():
    assert meltano_argv(ACME, "/bin/meltano") == (
        "/bin/meltano",
        "--log-format=json",
        "--environment",
        "prod",
        "run",
        "--state-id-suffix",
        "acme-us",
        "tap-shopify-orders",
        "shopify-rules",
        "target-quickbooks",
    )


def test_a_run_gets_shared_and_its_own_variables_never_another_tenants_nor_stray_plugin_ones():
    environ = {
        "PATH": "/usr/bin",
        "TARGET_QUICKBOOKS_REFRESH_TOKEN": "orchestrator-level-token",
        "TAP_SHOPIFY_ORDERS_ACCESS_TOKEN": "orchestrator-level-shop-token",
        "KCONNECTOR_SHARED__TARGET_QUICKBOOKS_CLIENT_ID": "app-client-id",
        "KCONNECTOR_SHARED__TARGET_QUICKBOOKS_DATABASE_URL": "postgresql+psycopg://u:pw@db/kc",
        "KCONNECTOR_TENANT_ACME_US__TAP_SHOPIFY_ORDERS_ACCESS_TOKEN": "acme-shop-token",
        "KCONNECTOR_TENANT_ACME_US__MAP_QUICKBOOKS_TAX_MODE": "tax_codes",
        "KCONNECTOR_TENANT_BETA__TAP_SHOPIFY_ORDERS_ACCESS_TOKEN": "beta-shop-token",
        "KCONNECTOR_TENANT_BETA__TARGET_QUICKBOOKS_REFRESH_TOKEN": "beta-refresh-token",
    }
    env = tenant_environment(ACME, environ)
    assert env == {
        "PATH": "/usr/bin",
        "TARGET_QUICKBOOKS_CLIENT_ID": "app-client-id",
        "TARGET_QUICKBOOKS_DATABASE_URL": "postgresql+psycopg://u:pw@db/kc",
        "TAP_SHOPIFY_ORDERS_ACCESS_TOKEN": "acme-shop-token",
        "MAP_QUICKBOOKS_TAX_MODE": "tax_codes",
        "TARGET_QUICKBOOKS_REALM_ID": "111",
        "TAP_SHOPIFY_ORDERS_SHOP": "acme.myshopify.com",
        "KCONNECTOR_STORE": "shopify:acme.myshopify.com",
    }
    assert "beta-refresh-token" not in env.values()


def test_a_woocommerce_tenant_reads_its_store_over_https_unless_its_url_is_given():
    assert tenant_environment(SHOP, {})["TAP_WOOCOMMERCE_ORDERS_URL"] == "https://shop.acme.com"
    given = {"KCONNECTOR_TENANT_ACME_SHOP__TAP_WOOCOMMERCE_ORDERS_URL": "https://shop.acme.com/"}
    assert tenant_environment(SHOP, given)["TAP_WOOCOMMERCE_ORDERS_URL"] == "https://shop.acme.com/"
    # A port (a test server) is part of the URL, not of the store's name.
    local = {"KCONNECTOR_TENANT_ACME_SHOP__TAP_WOOCOMMERCE_ORDERS_URL": "http://shop.acme.com:8703"}
    assert (
        tenant_environment(SHOP, local)["TAP_WOOCOMMERCE_ORDERS_URL"] == "http://shop.acme.com:8703"
    )


@pytest.mark.parametrize(
    ("tenant", "variable", "value", "expected"),
    [
        (ACME, "KCONNECTOR_TENANT_ACME_US__TARGET_QUICKBOOKS_REALM_ID", "222", "names company 222"),
        (ACME, "KCONNECTOR_SHARED__TARGET_QUICKBOOKS_REALM_ID", "222", "names company 222"),
        (
            ACME,
            "KCONNECTOR_TENANT_ACME_US__TAP_SHOPIFY_ORDERS_SHOP",
            "x.myshopify.com",
            "names shop",
        ),
        (
            SHOP,
            "KCONNECTOR_TENANT_ACME_SHOP__TAP_WOOCOMMERCE_ORDERS_URL",
            "https://user:pw@other.com/",
            "points at other.com",
        ),
    ],
)
def test_a_variable_naming_another_company_or_store_stops_the_run(
    tenant, variable, value, expected
):
    with pytest.raises(TenantEnvironmentError) as raised:
        tenant_environment(tenant, {variable: value})
    assert expected in str(raised.value)
    assert variable in str(raised.value)
    assert "pw" not in str(raised.value)


def test_each_tenant_runs_in_its_own_meltano_folder_with_the_projects_state_database(tmp_path):
    call = invocation(
        BETA,
        {"KCONNECTOR_SHARED__TARGET_QUICKBOOKS_CLIENT_SECRET": "s3cret-value"},
        "meltano",
        tmp_path,
    )
    assert call.sys_dir == tmp_path / ".meltano" / "tenants" / "beta"
    assert call.env["MELTANO_SYS_DIR_ROOT"] == str(call.sys_dir)
    assert call.env["MELTANO_DATABASE_URI"] == f"sqlite:///{tmp_path / '.meltano' / 'meltano.db'}"
    assert "s3cret-value" in call.secrets
    assert "222" not in call.secrets
    shared = invocation(
        BETA,
        {"MELTANO_SYS_DIR_ROOT": "/srv/meltano", "MELTANO_DATABASE_URI": "postgresql://x"},
        "meltano",
        tmp_path,
    )
    assert shared.sys_dir == Path("/srv/meltano/tenants/beta")
    assert shared.env["MELTANO_DATABASE_URI"] == "postgresql://x"
