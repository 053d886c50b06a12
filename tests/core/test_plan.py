"""The plan of rate-limited requests: what the declared limits make a run wait at least, said before it starts."""

from __future__ import annotations

from conformance.profile import Rate
from conformance.run import plan

LIMITS = {"login": Rate(5, 60), "register": Rate(5, 60)}


def test_the_lower_bound_is_the_windows_no_order_avoids():
    made = plan.make(["a", "b", "c"], {"a": {"login": 7, "register": 2}, "b": {"login": 6}, "c": {}}, LIMITS)
    assert made.needs == {"login": 13, "register": 2}
    assert made.waiting_for("login") == 120.0  # 13 at 5 a minute: two more windows after the first
    assert made.waiting_for("register") == 0.0
    assert made.lower_bound == 120.0
    assert made.describe() == "13 login at 5/60, 2 register at 5/60: at least 2.0 min waiting for limits"


def test_tests_of_unknown_cost_are_counted_and_said():
    made = plan.make(["a", "new"], {"a": {"login": 1}}, LIMITS)
    assert (made.known, made.tests) == (1, 2) and "(1 of 2 tests of unknown cost)" in made.describe()


def test_progress_says_how_far_and_how_long_still():
    made = plan.make(["a"], {"a": {"login": 31}}, LIMITS)
    assert made.progress("login", 12) == "12 of 31 login — ETA 4.0 min"
    assert made.progress("refresh", 3) == "refresh #3"


def test_costs_measured_by_a_run_are_what_the_next_run_plans_with(tmp_path):
    cache = tmp_path / "costs.json"
    key = plan.key(LIMITS, single_source=True)
    plan.save(cache, key, {"t::a": {"login": 4}})
    plan.save(cache, key, {"t::b": {"register": 1}})
    loaded = plan.load(cache, key)
    assert loaded["t::a"] == {"login": 4} and loaded["t::b"] == {"register": 1}
    assert plan.load(cache, plan.key(LIMITS, single_source=False)).get("t::a") is None


def test_a_first_run_plans_with_the_shipped_measurement_of_its_mode(tmp_path):
    """No cache yet, limits nobody measured: the costs shipped with the package (measured from one address on the
    reference) stand in, so the first staging run already says what it will wait."""
    costs = plan.load(tmp_path / "none.json", plan.key({"login": Rate(3, 60)}, single_source=True))
    assert costs and all(isinstance(cost, dict) for cost in costs.values())
    assert any(cost.get("login") for cost in costs.values())


def test_bursts_that_meet_a_limit_are_said_but_not_counted_as_waiting():
    """RATE-1's burst runs last and never waits its turn: counting it would make the bound a lie."""
    made = plan.make(["a", "rate"], {"a": {"login": 5}, "rate": {"login+burst": 8}}, LIMITS)
    assert made.needs == {"login": 5} and made.lower_bound == 0.0
    assert made.describe().endswith("; and 8 login sent unpaced (bursts, the fuzzer's capped share)")


def test_a_time_budget_leaves_out_the_costliest_tests_until_the_plan_fits():
    costs = {"a": {"login": 7}, "b": {"login": 2}, "c": {"login": 7, "register": 1}, "d": {"register": 9}}
    # 60 s of waiting allows two windows: 10 login, 10 register.
    left_out = plan.beyond_budget(["a", "b", "c", "d"], costs, LIMITS, 60.0)
    assert list(left_out) == ["c"], "16 login: the later of the two costliest goes; 10 register then fit"
    assert left_out["c"] == "its 7 login at 5/60 from one address do not fit the time budget"
    kept = plan.make(["a", "b", "d"], costs, LIMITS)
    assert kept.lower_bound <= 60.0
    assert plan.beyond_budget(["a", "b"], costs, LIMITS, 600.0) == {}, "what fits leaves nothing out"


def test_a_time_budget_counts_unpaced_requests_too():
    """The fuzzer's unpaced logins make later paced ones wait: the budget counts them, the lower bound does not."""
    costs = {"fuzz": {"login+burst": 6}, "a": {"login": 6}}
    assert plan.make(["fuzz", "a"], costs, LIMITS).lower_bound == 60.0
    assert list(plan.beyond_budget(["fuzz", "a"], costs, LIMITS, 60.0)) == ["a"], "12 login do not fit 10"
    assert list(plan.beyond_budget(["fuzz", "a"], costs, LIMITS, 120.0)) == []
