"""Tenants share one target store; an operator command shows its own company's rows only.

Several companies' dead letters and audit rows in one store (SQLite here; PostgreSQL too when
KCONNECTOR_TEST_DATABASE_URL is set, in a schema of its own): `target-quickbooks-ops` run with
one company's configuration (a tenant's variables) lists that company's rows and none of the
other's, and cannot open another company's dead letter by its id. Two stores of one company:
`--store` (`KCONNECTOR_STORE`, set in each tenant's environment) narrows the rows to one store
unless `--all-stores` asks for the others.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from target_quickbooks.operations.cli import main
from target_quickbooks.store import open_store
from target_quickbooks.store.audit import AuditEntry
from target_quickbooks.store.dead_letters import DeadLetter

COMPANY_A = "9130357600000001"
COMPANY_B = "9130357600000002"


@pytest.fixture
def shared_store(database_url):
    """One store for every tenant, as the scale-out layout has it."""
    return database_url


def _letter(realm: str, external_id: str) -> DeadLetter:
    return DeadLetter(
        realm_id=realm,
        external_id=external_id,
        stream="sales_receipts",
        error_class="data",
        error_code="MAP-UNMAPPED-TAX",
        message="no QuickBooks tax code for the store's tax line",
        guidance="map it in tax_code_map",
    )


def _ops(tmp_path, url: str, realm: str):
    config = {
        "realm_id": realm,
        "client_id": "client-id-for-tests",
        "client_secret": "client-secret-for-tests",
        "refresh_token": "refresh-token-for-tests",
        "database_url": url,
        "allow_plaintext_tokens": True,
    }
    path = tmp_path / f"{realm}.json"
    path.write_text(json.dumps(config))

    def invoke(*args: str):
        return CliRunner().invoke(main, ["--config", str(path), "--json", *args])

    return invoke


def test_operator_commands_of_one_company_never_show_another_companys_rows(shared_store, tmp_path):
    store = open_store(shared_store)
    try:
        store.dead_letters.record(
            [
                _letter(COMPANY_A, "shopify:acme.myshopify.com:1"),
                _letter(COMPANY_A, "woocommerce:shop.acme.com:7"),
                _letter(COMPANY_B, "shopify:beta.myshopify.com:2"),
            ]
        )
        store.audit.append(
            [
                AuditEntry(
                    realm_id=COMPANY_A,
                    operation="create",
                    outcome="created",
                    external_id="shopify:acme.myshopify.com:1",
                ),
                AuditEntry(
                    realm_id=COMPANY_B,
                    operation="create",
                    outcome="created",
                    external_id="shopify:beta.myshopify.com:2",
                ),
            ]
        )
        b_letter_id = next(row["id"] for row in store.dead_letters.open_letters(COMPANY_B))
    finally:
        store.close()

    as_a = _ops(tmp_path, shared_store, COMPANY_A)
    listed = as_a("errors", "list")
    assert listed.exit_code in {0, 1}, listed.output
    assert sorted(row["external_id"] for row in json.loads(listed.output)) == [
        "shopify:acme.myshopify.com:1",
        "woocommerce:shop.acme.com:7",
    ]
    audit = as_a("audit")
    assert audit.exit_code == 0, audit.output
    assert "beta.myshopify.com" not in audit.output
    assert "acme.myshopify.com" in audit.output
    other = as_a("errors", "show", str(b_letter_id))
    assert other.exit_code != 0
    assert "beta.myshopify.com" not in other.output

    # Two stores of company A: each tenant's view shows its own store's rows unless asked.
    woocommerce_only = as_a("--store", "woocommerce:shop.acme.com", "errors", "list")
    assert [row["external_id"] for row in json.loads(woocommerce_only.output)] == [
        "woocommerce:shop.acme.com:7"
    ]
    shopify_id = next(
        row["id"]
        for row in json.loads(listed.output)
        if row["external_id"].startswith("shopify:acme")
    )
    hidden = as_a("--store", "woocommerce:shop.acme.com", "errors", "show", str(shopify_id))
    assert hidden.exit_code != 0
    assert "acme.myshopify.com" not in hidden.output
    scoped_audit = as_a("--store", "woocommerce:shop.acme.com", "audit")
    assert "acme.myshopify.com" not in scoped_audit.output
    asked = as_a("--store", "woocommerce:shop.acme.com", "--all-stores", "errors", "list")
    assert len(json.loads(asked.output)) == 2

    as_b = _ops(tmp_path, shared_store, COMPANY_B)
    listed_b = as_b("errors", "list")
    assert [row["external_id"] for row in json.loads(listed_b.output)] == [
        "shopify:beta.myshopify.com:2"
    ]
    reviews = as_b("review", "list")
    assert reviews.exit_code == 0, reviews.output
    assert json.loads(reviews.output) == []
