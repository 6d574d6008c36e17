import pytest

from kconnector_orchestrate.tenants import TenantsFileError, load_tenants, parse_tenants

VALID = """
version: 1
defaults: {meltano_environment: prod, schedule: "*/10 * * * *"}
tenants:
  - name: acme-us
    store: shopify:Acme.myshopify.com
    company: "9130357600000001"
  - name: acme-wholesale
    store: woocommerce:wholesale.acme.com
    company: "9130357600000001"
    schedule: "0 * * * *"
  - name: beta-ca
    store: shopify:beta.myshopify.com
    company: 9130357600000002
    mapping: beta-rules
    extractor: tap-shopify-orders--beta
  - name: gone
    store: shopify:gone.myshopify.com
    company: "9130357600000003"
    enabled: false
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(TenantsFileError) as raised:
        parse_tenants(text, source="tenants.yml")
    assert "tenants.yml" in str(raised.value)
    return raised.value.problems


def test_a_valid_file_gives_each_tenant_its_store_company_plugins_and_schedule():
    tenants = parse_tenants(VALID)
    acme, wholesale, beta, gone = tenants.tenants
    assert acme.store_key == "shopify:acme.myshopify.com"
    assert (acme.extractor, acme.mapping, acme.loader) == (
        "tap-shopify-orders",
        "shopify-rules",
        "target-quickbooks",
    )
    assert acme.schedule == "*/10 * * * *"
    assert acme.meltano_environment == "prod"
    assert acme.pool == "quickbooks-company-9130357600000001"
    assert acme.env_namespace == "KCONNECTOR_TENANT_ACME_US__"
    assert wholesale.extractor == "tap-woocommerce-orders"
    assert wholesale.mapping == "woocommerce-rules"
    assert wholesale.schedule == "0 * * * *"
    assert beta.company == "9130357600000002"  # an unquoted YAML number still reads as the id
    assert (beta.extractor, beta.mapping) == ("tap-shopify-orders--beta", "beta-rules")
    assert gone.enabled is False
    assert [t.name for t in tenants.enabled()] == ["acme-us", "acme-wholesale", "beta-ca"]
    assert sorted(tenants.companies()) == ["9130357600000001", "9130357600000002"]
    assert [t.name for t in tenants.by_store("shopify:acme.myshopify.com")] == ["acme-us"]
    assert tenants.by_store("shopify:gone.myshopify.com") == []


def test_every_problem_is_reported_at_once_naming_the_field_and_the_fix():
    problems = _problems(
        """
version: 1
tenants:
  - name: Bad Name
    store: shopify:acme.myshopify.com
    company: "9130357600000001"
  - name: no-company
    store: magento:acme.com
  - name: wrong-shop
    store: shopify:acme.com
    company: "1"
    schedule: "every minute"
"""
    )
    text = "\n".join(problems)
    assert "tenants[0].name: 'Bad Name' must be 1-40 characters" in text
    assert "tenants[1] (no-company).store: 'magento:acme.com' must be '<platform>:<host>'" in text
    assert "tenants[1] (no-company).company: None must be the QuickBooks company id" in text
    assert "myshopify.com domain" in text
    assert "tenants[2] (wrong-shop).schedule: 'every minute' must be a 5-field cron" in text
    assert len(problems) == 5


def test_a_secret_or_mapping_rules_in_the_file_is_refused_with_the_variable_to_use():
    problems = _problems(
        """
version: 1
tenants:
  - name: acme
    store: shopify:acme.myshopify.com
    company: "1"
    access_token: shpat_0123456789
    tax_code_map: {GST: GST}
"""
    )
    assert len(problems) == 2
    for problem in problems:
        assert "never go in this file" in problem
        assert "KCONNECTOR_TENANT_<NAME>__" in problem
    assert "shpat_0123456789" not in "\n".join(problems)


def test_two_tenants_for_one_store_and_company_or_one_name_are_refused():
    problems = _problems(
        """
version: 1
tenants:
  - {name: a, store: "shopify:acme.myshopify.com", company: "1"}
  - {name: b, store: "shopify:acme.myshopify.com", company: "1"}
  - {name: a, store: "shopify:other.myshopify.com", company: "1"}
"""
    )
    assert any("already writes to company 1 as tenant a" in p for p in problems)
    assert any("(a).name: used twice" in p for p in problems)


def test_a_store_named_with_its_port_is_refused_with_where_the_port_goes():
    problems = _problems(
        'version: 1\ntenants:\n  - {name: w, store: "woocommerce:127.0.0.1:8703", company: "1"}\n'
    )
    assert "without the port, as the tap names it" in problems[0]
    assert "TAP_WOOCOMMERCE_ORDERS_URL" in problems[0]
    store = parse_tenants(
        "version: 1\ntenants:\n"
        '  - {name: w, store: "woocommerce:Shop.Example.com/store", company: "1"}\n'
    ).tenants[0]
    assert store.store_key == "woocommerce:shop.example.com/store"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\ntenants: [", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("version: 2\ntenants: []\n", "version: must be 1"),
        ("version: 1\nextra: 1\ntenants: []\n", "unknown top-level key(s) ['extra']"),
        ("version: 1\n", "tenants: must be a non-empty list"),
        ("version: 1\ndefaults: {colour: red}\ntenants: []\n", "defaults.colour: unknown"),
    ],
)
def test_a_malformed_file_says_what_to_fix(text, expected):
    assert any(expected in problem for problem in _problems(text))


def test_an_unreadable_file_names_the_variable_to_set(tmp_path):
    with pytest.raises(TenantsFileError) as raised:
        load_tenants(tmp_path / "missing.yml")
    assert "KCONNECTOR_TENANTS_FILE" in str(raised.value)


def test_the_shipped_tenants_file_is_valid():
    from pathlib import Path  # noqa: PLC0415

    shipped = Path(__file__).resolve().parents[1] / "tenants.yml"
    tenants = load_tenants(shipped)
    assert len(tenants.companies()["9130357600000001"]) == 2
