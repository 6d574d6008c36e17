import pytest

from kconnector_canonical import UpcasterRegistry, UpcastError, upcast, validate
from kconnector_canonical.examples import load


def test_current_version_records_pass_through_unchanged():
    order = load("shopify_order")
    assert upcast(order, "orders") == order


def test_a_v2_is_added_by_registering_one_step_without_touching_v1():
    # How a future v2 ships: a registry for v2 gets a v1 -> v2 function; v1 code is unchanged.
    v2 = UpcasterRegistry(current_version=2)

    @v2.upcaster("orders", from_version=1)
    def split_name(record):
        record["display_name"] = record.pop("name")
        return record

    original = load("shopify_order")
    upgraded = v2.upcast(original, "orders")
    assert upgraded["schema_version"] == 2
    assert upgraded["display_name"] == "#1042"
    assert "name" not in upgraded
    assert original["name"] == "#1042"  # the input record is never modified
    assert validate(original) == []


def test_chain_runs_every_step_in_order():
    v3 = UpcasterRegistry(current_version=3)
    v3.upcaster("refunds", from_version=1)(lambda r: {**r, "steps": ["1->2"]})
    v3.upcaster("refunds", from_version=2)(lambda r: {**r, "steps": [*r["steps"], "2->3"]})
    assert v3.upcast(load("shopify_refund"), "refunds")["steps"] == ["1->2", "2->3"]


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
        UpcasterRegistry(current_version=2).upcast(load("shopify_order"), "orders")


def test_duplicate_or_out_of_range_steps_are_refused():
    reg = UpcasterRegistry(current_version=2)
    reg.upcaster("orders", from_version=1)(lambda r: r)
    with pytest.raises(ValueError, match="already"):
        reg.upcaster("orders", from_version=1)
    with pytest.raises(ValueError, match="cannot lead"):
        reg.upcaster("orders", from_version=2)
