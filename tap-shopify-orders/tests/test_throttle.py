"""Pacing inside the cost bucket: the wait before a query is exactly what restores its cost."""

from __future__ import annotations

import pytest

from tap_shopify_orders.throttle import MAX_SINGLE_QUERY_COST, CostPacer, ThrottleStatus


def status(available: float, requested: float | None = 700.0) -> ThrottleStatus:
    return ThrottleStatus(2000.0, available, 100.0, requested)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_no_wait_before_the_first_response(clock: FakeClock) -> None:
    pacer = CostPacer(clock=clock, sleep=clock.sleep)
    assert pacer.wait_before("Orders") == 0
    assert clock.sleeps == []


def test_waits_until_the_operations_last_requested_cost_has_restored(clock: FakeClock) -> None:
    pacer = CostPacer(clock=clock, sleep=clock.sleep)
    pacer.observe("Orders", status(available=300.0, requested=700.0))
    clock.now += 1.0  # 100 points restored meanwhile
    assert pacer.wait_before("Orders") == pytest.approx(3.0)
    assert clock.sleeps == [pytest.approx(3.0)]


def test_no_wait_when_the_cost_is_available(clock: FakeClock) -> None:
    pacer = CostPacer(clock=clock, sleep=clock.sleep)
    pacer.observe("Orders", status(available=1500.0))
    assert pacer.wait_before("Orders") == 0


def test_restoration_is_capped_at_the_bucket_size(clock: FakeClock) -> None:
    pacer = CostPacer(clock=clock, sleep=clock.sleep)
    pacer.observe("Orders", status(available=0.0, requested=2500.0))
    clock.now += 60.0
    assert pacer.seconds_before("Orders") == 0  # a cost above the bucket waits for a full one


def test_an_unseen_document_is_paced_as_the_single_query_maximum_even_after_cheaper_ones(
    clock: FakeClock,
) -> None:
    # A first page of 50 line items (about 950 points) after pages of orders costing 800: pacing
    # it as the dearest document seen so far would send it too early and get it throttled.
    pacer = CostPacer(clock=clock, sleep=clock.sleep)
    pacer.observe("Orders", status(available=200.0, requested=800.0))
    assert pacer.seconds_before("NextPage") == pytest.approx((MAX_SINGLE_QUERY_COST - 200) / 100)
    assert pacer.seconds_before("Orders") == pytest.approx(6.0)


def test_an_unseen_document_before_any_cost_is_known_assumes_the_single_query_maximum(
    clock: FakeClock,
) -> None:
    pacer = CostPacer(clock=clock, sleep=clock.sleep)
    pacer.observe("Shop", status(available=500.0, requested=None))
    assert pacer.seconds_before("Orders") == pytest.approx((MAX_SINGLE_QUERY_COST - 500) / 100)


def test_throttle_status_is_read_from_extensions_or_ignored_when_absent() -> None:
    extensions = {
        "cost": {
            "requestedQueryCost": 101,
            "actualQueryCost": 46,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1954,
                "restoreRate": 100.0,
            },
        }
    }
    assert ThrottleStatus.from_extensions(extensions) == ThrottleStatus(
        2000.0, 1954.0, 100.0, 101.0
    )
    assert ThrottleStatus.from_extensions({}) is None
    assert ThrottleStatus.from_extensions({"cost": {"throttleStatus": {"x": 1}}}) is None
