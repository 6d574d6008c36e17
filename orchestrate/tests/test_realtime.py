from kconnector_orchestrate.realtime import tenants_for
from kconnector_orchestrate.tenants import parse_tenants

TENANTS = parse_tenants(
    """
version: 1
tenants:
  - {name: acme, store: "shopify:acme.myshopify.com", company: "111"}
  - {name: folder, store: "woocommerce:shop.example.com/store", company: "111"}
  - {name: beta, store: "shopify:beta.myshopify.com", company: "222"}
  - {name: gone, store: "shopify:gone.myshopify.com", company: "222", enabled: false}
"""
)


def test_a_store_event_concerns_the_tenants_reading_that_store_by_its_bare_host():
    assert [t.name for t in tenants_for("shopify:acme.myshopify.com", TENANTS)] == ["acme"]
    # The receiver's key has no folder (kconnector_realtime.queue.store_key).
    assert [t.name for t in tenants_for("woocommerce:shop.example.com", TENANTS)] == ["folder"]
    assert tenants_for("shopify:gone.myshopify.com", TENANTS) == []
    assert tenants_for("shopify:other.myshopify.com", TENANTS) == []


def test_a_quickbooks_event_concerns_every_enabled_tenant_of_the_company():
    assert [t.name for t in tenants_for("quickbooks:111", TENANTS)] == ["acme", "folder"]
    assert [t.name for t in tenants_for("quickbooks:222", TENANTS)] == ["beta"]
