"""The run's plan of rate-limited requests, and the least time it must wait for the declared limits.

From one source address at a real service's limits (5 registrations and 5
logins a minute), a run is mostly waiting; a user should know that before it
starts, not after 20 silent minutes. Each test's cost (its requests to each
rate-limited operation) is what the pacer counted the last time it ran
against a profile with the same limits, kept in the harness's cache; the
first time, the costs shipped with the package (:data:`SHIPPED`, measured on
the reference) stand in. The plan is their sum over the selected tests; its
lower bound is the waiting no schedule can avoid: ``N`` requests at ``c`` per
``w`` seconds need ``ceil(N / c) - 1`` further windows.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from conformance.profile import Rate
from conformance.wire.pacing import BURST

#: Costs measured on the reference in single-source mode, per test node id (scripts/single_source.py --costs).
SHIPPED = "costs.json"


@dataclass(frozen=True)
class Plan:
    """Requests per rate-limited operation the selected tests will send, and what the limits make them wait."""

    needs: Mapping[str, int]
    limits: Mapping[str, Rate]
    known: int  # selected tests with a known cost
    tests: int  # selected tests
    single_source: bool = False  # every request from one address: the bound holds for the whole run
    bursts: Mapping[str, int] = field(default_factory=dict)  # requests sent to meet a limit, never waited for

    @property
    def lower_bound(self) -> float:
        """Seconds of waiting no order of the requests avoids (the operations' windows pass side by side)."""
        return max((self.waiting_for(operation) for operation in self.needs), default=0.0)

    def waiting_for(self, operation: str) -> float:
        rate, count = self.limits.get(operation), self.needs.get(operation, 0)
        if rate is None or count <= rate.count:
            return 0.0
        return (math.ceil(count / rate.count) - 1) * rate.seconds

    def describe(self) -> str:
        """``14 register, 31 login at 5/60 from one address: at least 6.2 min waiting for limits``."""
        limited = [op for op in sorted(self.needs) if op in self.limits and self.needs[op]]
        if not limited:
            return "no request to a rate-limited operation"
        parts = ", ".join(f"{self.needs[op]} {op} at {self.limits[op]}" for op in limited)
        unknown = (
            f" ({self.tests - self.known} of {self.tests} tests of unknown cost)" if self.known < self.tests else ""
        )
        burst = ", ".join(f"{n} {op}" for op, n in sorted(self.bursts.items()) if n)
        burst = f"; and {burst} sent unpaced (bursts, the fuzzer's capped share)" if burst else ""
        return f"{parts}: at least {minutes(self.lower_bound)} waiting for limits{burst}{unknown}"

    def progress(self, operation: str, sent: int) -> str:
        """``12 of 31 login — ETA 6 min`` for the status line of a wait."""
        total = self.needs.get(operation, 0)
        if total <= 0 or operation not in self.limits:
            return f"{operation} #{sent}"
        rate = self.limits[operation]
        left = max(0, total - sent)
        eta = math.ceil(left / rate.count) * rate.seconds
        return f"{min(sent, total)} of {total} {operation} — ETA {minutes(eta)}"


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def make(
    test_ids: Iterable[str],
    costs: Mapping[str, Mapping[str, int]],
    limits: Mapping[str, Rate],
    *,
    single_source: bool = False,
) -> Plan:
    needs: Counter[str] = Counter()
    bursts: Counter[str] = Counter()
    known = tests = 0
    for test_id in test_ids:
        tests += 1
        cost = costs.get(test_id)
        if cost is not None:
            known += 1
            needs.update({op: n for op, n in cost.items() if op in limits})
            bursts.update({op.removesuffix(BURST): n for op, n in cost.items() if op.removesuffix(BURST) != op})
    return Plan(dict(needs), dict(limits), known, tests, single_source, dict(bursts))


def beyond_budget(
    test_ids: Iterable[str],
    costs: Mapping[str, Mapping[str, int]],
    limits: Mapping[str, Rate],
    budget: float,
) -> dict[str, str]:
    """The tests to leave out so that the plan waits at most ``budget`` seconds, each with what it needed.

    ``N`` requests at ``c`` per ``w`` seconds wait ``(ceil(N / c) - 1) * w``: within the budget fit
    ``(budget // w + 1) * c`` of them. Over that, the costliest tests of the operation go first (the fewest
    tests unjudged for the time saved), later ones first among equals; tests of unknown cost stay. Unlike the
    lower bound, a test's unpaced requests count here too: the fuzzer's, sent mid-run, make later paced ones
    wait (a budget errs on the side of keeping its word).
    """
    ids = list(test_ids)
    left_out: dict[str, str] = {}

    def cost_of(test: str, operation: str) -> int:
        spent = costs.get(test, {})
        return spent.get(operation, 0) + spent.get(operation + BURST, 0)

    for operation, rate in sorted(limits.items()):
        fits = (int(budget // rate.seconds) + 1) * rate.count
        spending = [(cost_of(test, operation), n, test) for n, test in enumerate(ids)]
        total = sum(cost for cost, _, test in spending if test not in left_out)
        for cost, _, test in sorted(spending, key=lambda entry: (-entry[0], -entry[1])):
            if total <= fits or cost == 0:
                break
            if test in left_out:
                continue
            left_out[test] = f"its {cost} {operation} at {rate} from one address do not fit the time budget"
            total -= cost
    # A test left out for one operation spends nothing of the others either: nothing else needs to go.
    return left_out


def key(limits: Mapping[str, Rate], single_source: bool) -> str:
    """Costs depend on the limits (bursts are sized to them) and on single-source mode."""
    spelled = ",".join(f"{op}={rate}" for op, rate in sorted(limits.items()))
    return f"{'single' if single_source else 'sources'}:{spelled}"


def load(cache: Path, plan_key: str) -> dict[str, dict[str, int]]:
    """The costs measured for ``plan_key``: the cache's last run over the shipped measurements."""
    costs: dict[str, dict[str, int]] = {}
    try:
        shipped = json.loads(resources.files("conformance.run").joinpath(SHIPPED).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        shipped = {}
    # The shipped measurement of the same mode stands in for limits nobody measured yet (a test's requests
    # hardly depend on them); the cache's own, for these very limits, wins.
    mode = plan_key.split(":", 1)[0] + ":"
    fallback = next((value for name, value in shipped.items() if name.startswith(mode)), {})
    costs.update(shipped.get(plan_key, fallback))
    try:
        costs.update(json.loads(cache.read_text("utf-8")).get(plan_key, {}))
    except (OSError, ValueError):
        pass
    return costs


def save(cache: Path, plan_key: str, measured: Mapping[str, Mapping[str, int]]) -> None:
    """Merge this run's measured costs into the cache (best effort: a read-only cache only loses the plan)."""
    try:
        stored = json.loads(cache.read_text("utf-8")) if cache.exists() else {}
    except (OSError, ValueError):
        stored = {}
    stored.setdefault(plan_key, {}).update({test: dict(cost) for test, cost in measured.items()})
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(stored, indent=1, sort_keys=True), "utf-8")
    except OSError:
        pass
