import pytest

from kconnector_sandbox.faults import FaultInjector, FaultKind, FaultPlan, FaultSpecError


def test_spec_parses_every_kind_and_round_trips():
    plan = FaultPlan.parse("429=0.1, 500=0.05,reset=0.02,timeout_after_commit=0.03", seed=7)
    assert plan.rates[FaultKind.THROTTLE] == 0.1
    assert plan.rates[FaultKind.TIMEOUT_AFTER_COMMIT] == 0.03
    assert FaultPlan.parse(plan.to_spec(), seed=7) == plan


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("teapot=0.1", "unknown fault kind 'teapot'"),
        ("429", "kind=rate"),
        ("429=lots", "between 0 and 1"),
        ("429=1.5", "between 0 and 1"),
        ("429=0.6,500=0.6", "more than 1"),
    ],
)
def test_bad_spec_is_refused_with_the_reason(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        FaultPlan.parse(spec)


def test_same_seed_draws_the_same_faults():
    plan = FaultPlan.parse("429=0.2,500=0.2,reset=0.1", seed=42)
    first = [FaultInjector(plan).draw() for _ in range(1)]
    a, b = FaultInjector(plan), FaultInjector(plan)
    assert [a.draw() for _ in range(200)] == [b.draw() for _ in range(200)]
    assert first[0] == FaultInjector(plan).draw()


def test_rates_are_honoured_over_many_draws():
    injector = FaultInjector(FaultPlan.parse("429=0.25", seed=1))
    draws = [injector.draw() for _ in range(4000)]
    share = draws.count(FaultKind.THROTTLE) / len(draws)
    assert 0.22 < share < 0.28
    assert injector.injected[FaultKind.THROTTLE] == draws.count(FaultKind.THROTTLE)


def test_disallowed_kind_counts_as_no_fault():
    injector = FaultInjector(FaultPlan.parse("timeout_after_commit=1", seed=1))
    assert injector.draw(allowed=frozenset({FaultKind.THROTTLE})) is None
    assert injector.draw() is FaultKind.TIMEOUT_AFTER_COMMIT


def test_no_plan_never_faults():
    injector = FaultInjector()
    assert all(injector.draw() is None for _ in range(100))
