import pytest

from kconnector_canonical import (
    CURRENT_SCHEMA_VERSION,
    UpcasterRegistry,
    UpcastError,
    upcast,
    validate,
)
from kconnector_canonical.examples import load


def test_current_version_records_pass_through_unchanged():
    order = load("shopify_order")
    assert upcast(order, "orders") == order


def _v1(name):
    record = load(name)
    record["schema_version"] = 1
    for txn in record["transactions"]:
        txn.pop("fee", None)
        txn.pop("net", None)
    return record


@pytest.mark.parametrize(
    ("name", "stream"), [("shopify_order", "orders"), ("woocommerce_refund", "refunds")]
)
def test_a_v1_record_upcasts_to_a_valid_current_record(name, stream):
    original = _v1(name)
    upgraded = upcast(original, stream)
    assert upgraded["schema_version"] == CURRENT_SCHEMA_VERSION == 2
    assert validate(upgraded, stream) == []
    # The fee of a v1 record is unknown, not zero: the upcaster invents no amounts.
    assert all("fee" not in txn for txn in upgraded["transactions"])
    assert original["schema_version"] == 1  # the input record is never modified


def test_a_v1_record_is_not_valid_as_current_without_the_upcast():
    problems = validate(_v1("shopify_order"))
    assert [p.field for p in problems] == ["schema_version"]


def test_payouts_start_at_v2_so_a_v1_payout_is_refused():
    payout = load("shopify_payout")
    payout["schema_version"] = 1
    with pytest.raises(UpcastError, match="no upcaster for payouts from v1"):
        upcast(payout, "payouts")


def test_a_v3_is_added_by_registering_one_step_without_touching_v2():
    # How a future v3 ships: a registry for v3 gets a v2 -> v3 function; v2 code is unchanged.
    v3 = UpcasterRegistry(current_version=3)

    @v3.upcaster("orders", from_version=2)
    def split_name(record):
        record["display_name"] = record.pop("name")
        return record

    original = load("shopify_order")
    upgraded = v3.upcast(original, "orders")
    assert upgraded["schema_version"] == 3
    assert upgraded["display_name"] == "#1042"
    assert "name" not in upgraded
    assert original["name"] == "#1042"  # the input record is never modified
    assert validate(original) == []


def test_chain_runs_every_step_in_order():
    v3 = UpcasterRegistry(current_version=3)
    v3.upcaster("refunds", from_version=1)(lambda r: {**r, "steps": ["1->2"]})
    v3.upcaster("refunds", from_version=2)(lambda r: {**r, "steps": [*r["steps"], "2->3"]})
    assert v3.upcast(_v1("shopify_refund"), "refunds")["steps"] == ["1->2", "2->3"]


def test_newer_version_than_installed_says_to_upgrade():
    order = load("shopify_order")
    order["schema_version"] = 9
    with pytest.raises(UpcastError, match="upgrade"):
        upcast(order, "orders")


@pytest.mark.parametrize("version", [None, 0, "1", True])
def test_invalid_schema_version_is_refused(version):
    order = load("shopify_order")
    order["schema_version"] = version
    with pytest.raises(UpcastError, match="schema_version"):
        upcast(order, "orders")


def test_missing_step_is_reported():
    with pytest.raises(UpcastError, match="no upcaster for orders from v1"):
        UpcasterRegistry(current_version=2).upcast(_v1("shopify_order"), "orders")


def test_duplicate_or_out_of_range_steps_are_refused():
    reg = UpcasterRegistry(current_version=2)
    reg.upcaster("orders", from_version=1)(lambda r: r)
    with pytest.raises(ValueError, match="already"):
        reg.upcaster("orders", from_version=1)
    with pytest.raises(ValueError, match="cannot lead"):
        reg.upcaster("orders", from_version=2)
