from decimal import Decimal

import pytest

from tap_woocommerce_orders.status_mapping import (
    SKIPPED_STATUSES,
    STATUS_TABLE,
    OrderFacts,
    is_known_status,
    map_status,
)


def facts(
    status: str,
    *,
    paid: bool = False,
    completed: bool = False,
    total: str = "100.00",
    refunded: str = "0",
) -> OrderFacts:
    return OrderFacts(status, paid, completed, Decimal(total), Decimal(refunded))


@pytest.mark.parametrize(
    ("status", "paid", "expected"),
    [
        ("pending", False, ("open", "pending", "unfulfilled")),
        ("processing", True, ("open", "paid", "unfulfilled")),
        ("on-hold", False, ("open", "pending", "unfulfilled")),
        ("completed", True, ("closed", "paid", "fulfilled")),
        ("cancelled", False, ("cancelled", "voided", "unfulfilled")),
        ("cancelled", True, ("cancelled", "paid", "unfulfilled")),
        ("refunded", True, ("closed", "refunded", "unfulfilled")),
        ("failed", False, ("open", "failed", "unfulfilled")),
        ("trash", True, ("deleted", "paid", "unfulfilled")),
        ("trash", False, ("deleted", "pending", "unfulfilled")),
        ("shipped", True, ("open", "paid", "unfulfilled")),
        ("shipped", False, ("open", "pending", "unfulfilled")),
    ],
)
def test_each_woocommerce_status_maps_to_the_documented_canonical_statuses(
    status: str,
    paid: bool,  # noqa: FBT001 - a parametrised case
    expected: tuple[str, str, str],
) -> None:
    result = map_status(facts(status, paid=paid, completed=status == "completed"))

    assert (result.status, result.financial_status, result.fulfillment_status) == expected


def test_partial_refund_of_a_paid_order_is_partially_refunded() -> None:
    result = map_status(facts("completed", paid=True, completed=True, refunded="10.00"))

    assert result.financial_status == "partially_refunded"


def test_refunds_reaching_the_total_make_the_order_refunded() -> None:
    result = map_status(facts("processing", paid=True, refunded="100.00"))

    assert result.financial_status == "refunded"


def test_an_order_completed_once_stays_fulfilled_after_a_refund() -> None:
    result = map_status(facts("refunded", paid=True, completed=True, refunded="100.00"))

    assert result.fulfillment_status == "fulfilled"


def test_every_documented_woocommerce_status_is_known() -> None:
    documented = {
        "pending",
        "processing",
        "on-hold",
        "completed",
        "cancelled",
        "refunded",
        "failed",
        "trash",
        "checkout-draft",
    }

    assert documented == set(STATUS_TABLE) | set(SKIPPED_STATUSES)
    assert all(is_known_status(status) for status in documented)
    assert not is_known_status("shipped")
