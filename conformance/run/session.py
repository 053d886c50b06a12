"""The run's session state: options, profile, target, recorder and client, opened once and closed once.

The plugin keeps one :class:`RunSession` in ``config.stash``; its fixtures
read the typed attributes here. The target is opened after collection, only
when a collected test carries a ``requirement`` marker, and bad input
(an unreachable URL, a wrong profile) becomes :class:`SessionError`, which
the plugin turns into one line and exit code 4.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import conformance.sut as targets
from conformance.profile import Profile, ProfileError, load

if TYPE_CHECKING:
    from conformance.run.options import RunOptions
    from conformance.run.plan import Plan
    from conformance.sut.base import Target
    from conformance.wire.client import ApiClient, Recorder


class SessionError(Exception):
    """The run cannot start: the message is one line for the user (profile or target problem)."""


@dataclass
class RunSession:
    options: RunOptions
    selected: list[str]
    profile: Profile | None = None
    target: Target | None = None
    recorder: Recorder | None = None
    api: ApiClient | None = None
    #: Under pytest-xdist, on a worker: how to attach to the controller's target, and which worker this is.
    shared: dict[str, Any] | None = None
    worker_index: int = 0
    workers: int = 1
    #: The plan of rate-limited requests (made once the target is open and the tests are known).
    plan: Plan | None = None
    plan_key: str = ""
    #: Tests the plan leaves out to keep within ``--time-budget`` (node id -> what they needed).
    beyond_budget: dict[str, str] = field(default_factory=dict)
    #: Requirements whose failure the terminal has shown in full once (later ones are one line).
    shown_in_full: set[str] = field(default_factory=set)
    _closed: bool = field(default=False, repr=False)

    def load_profile(self) -> Profile:
        if self.profile is None:
            try:
                self.profile = load(self.options.sut.profile_path)
            except ProfileError as exc:
                raise SessionError(str(exc)) from None
        return self.profile

    def check_early(self) -> None:
        """Before pytest prints anything: what can be checked of the target without starting anything.

        An external target is opened (its preflight is one health request and the
        surface probe, no side effect); a managed one has its command and services
        checked. :class:`SessionError` on bad input.
        """
        if self.options.sut.base_url:
            self.open()
            return
        from conformance.sut.managed import check_settings

        try:
            check_settings(self.options.sut)
        except targets.TargetError as exc:
            raise SessionError(str(exc)) from None

    def open(self) -> Target:
        """Open the target once (later calls return it); :class:`SessionError` on bad input."""
        if self.target is not None:
            return self.target
        from conformance.wire.client import ApiClient
        from conformance.wire.pacing import Pacer
        from conformance.wire.recording import RUN_RECORDER
        from conformance.wire.sources import as_ipv4_literal, can_bind, reachable_from_other_sources

        profile = self.load_profile()
        from conformance.wire import sources

        sources.use_single_source(self.options.single_source)
        try:
            if self.shared is not None:
                from conformance.sut.shared import AttachedTarget

                target: Target = AttachedTarget(profile, self.shared)
            else:
                target = targets.open_target(self.options.sut, profile)
        except targets.TargetError as exc:
            raise SessionError(str(exc)) from None
        self.target = target
        self.recorder = RUN_RECORDER
        _watch(target, profile)
        base_url, address, share = target.base_url, None, 1.0
        if self.workers > 1:
            # Parallel workers: each sends from a loopback address of its own (its own per-IP budget), or,
            # when the SUT is elsewhere, paces itself to its share of the declared limits.
            candidate = str(ipaddress.IPv4Address(profile.sources.workers_first) + self.worker_index)
            if reachable_from_other_sources(base_url) and can_bind(candidate):
                base_url, address = as_ipv4_literal(base_url), candidate
            else:
                share = 1.0 / self.workers
        pacer = Pacer(profile, share=share)
        self.api = ApiClient(base_url, profile, recorder=self.recorder, local_address=address, pacer=pacer)
        from conformance.wire import pacing

        pacing.RUN_PACER = pacer  # bursts from the run's own address count into it (see scenarios/kit/burst.py)
        return target

    def make_plan(self, test_ids: list[str]) -> Plan | None:
        """The plan of the selected tests' rate-limited requests (:mod:`conformance.run.plan`); the pacer's status
        lines report against it."""
        from conformance.run import launch, plan
        from conformance.wire.sources import single_source

        if self.api is None or self.target is None or not self.api.pacer.limits:
            return None
        one = single_source(self.target.base_url)
        self.plan_key = plan.key(self.api.pacer.limits, one)
        costs = plan.load(self.costs_file(launch.cache_dir()), self.plan_key)
        budget = self.options.time_budget
        if one and budget:
            self.beyond_budget = plan.beyond_budget(test_ids, costs, self.api.pacer.limits, budget)
        kept = [test for test in test_ids if test not in self.beyond_budget]
        self.plan = plan.make(kept, costs, self.api.pacer.limits, single_source=one)
        self.api.pacer.progress = self.plan.progress
        return self.plan

    def save_costs(self) -> None:
        """What each test sent to rate-limited operations this run, for the next run's plan."""
        from conformance.run import launch, plan

        if self.api is not None and self.plan_key and self.workers == 1:
            left_out = self.beyond_budget  # sent nothing: its cost is still the last measured one
            spent = self.api.pacer.by_test.items()
            measured = {test: dict(cost) for test, cost in spent if test and test not in left_out}
            plan.save(self.costs_file(launch.cache_dir()), self.plan_key, measured)

    @staticmethod
    def costs_file(cache: Path) -> Path:
        return cache / "costs.json"

    def close(self) -> None:
        """Close the client and stop what the target started; idempotent."""
        from conformance.wire.target_watch import WATCH

        WATCH.disarm()
        api, target = self.api, self.target
        self.api, self.target = None, None
        if api is not None:
            api.close()
        if target is not None:
            target.close()


def _watch(target: Target, profile: Profile) -> None:
    """Arm the run's target watch: when requests stop being answered, it asks the target's health once."""
    from conformance.sut import health
    from conformance.wire.target_watch import WATCH

    url, method = health.health_url(target.base_url, profile), health.health_method(profile)

    def check() -> str | None:
        with health.health_client(health.PREFLIGHT_BUDGET / 2) as client:
            return health.problem(client, method, url)

    from conformance.wire.sources import as_ipv4_literal

    WATCH.arm([target.base_url, as_ipv4_literal(target.base_url)], check)


def session_of(config) -> RunSession | None:
    """The run session the plugin keeps in ``config.stash`` (``None`` outside a conformance run)."""
    from conformance.run.keys import session_key

    return config.stash.get(session_key, None)


def usage_of_the_run(config) -> dict:
    """Requests sent, accounts created, retries and seconds of pacing, as the run's counters have them."""
    from conformance.wire import usage

    counts: dict = dict(usage.snapshot())
    session = session_of(config)
    if session is not None and session.api is not None:
        counts["paced_seconds"] = round(session.api.pacer.waited, 1)
    from conformance.wire import waiting

    counts["waited_seconds"] = round(waiting.total_waited(), 1)  # pacing, 429s waited out, windows, re-checks
    if session is not None and session.plan is not None and session.plan.needs and session.plan.single_source:
        counts["planned_wait_lower_bound_seconds"] = round(session.plan.lower_bound, 1)
    return counts
