"""Measure how often a DATA-1 plan catches a SUT, run after run.

    python -m scenarios.measure.isolation_race --runs 20 --defects current-user-cache
    python -m scenarios.measure.isolation_race --runs 20 --defects current-user-cache --plan sequential
    python -m scenarios.measure.isolation_race --runs 20 --sut-cmd 'cd ../other && {python} -m reference serve ...'

Each run is one example of the isolation scenario (``scenarios.kit.crossings``):
fresh users from a fresh loopback address, the plan's burst, the listings
after it, judged by ``crossings.judge``. Plans: ``warm`` and ``after-writes``
are the scenario's pinned dense examples; ``sequential`` is ``warm`` sent one
request at a time (concurrency 1), which a race in the SUT should never show.
Prints one line per run and a summary: runs flagged / judged, and by which
requirement.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
import time

from conformance import profile as profiles
from conformance.actors.accounts import AccountFactory
from conformance.outcomes import Inconclusive, Violation
from conformance.sut import TargetSettings, open_target
from conformance.wire.client import ApiClient
from scenarios.conftest import Sides
from scenarios.kit.crossings import carry_out, judge
from scenarios.test_isolation import DENSE_AFTER_WRITES, DENSE_WARM

PLANS = {
    "warm": DENSE_WARM,
    "after-writes": DENSE_AFTER_WRITES,
    "sequential": dataclasses.replace(DENSE_WARM, concurrency=1),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios.measure.isolation_race", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--plan", choices=sorted(PLANS), default="warm")
    parser.add_argument("--defects", default="", help="REFERENCE_DEFECTS for the managed SUT")
    parser.add_argument("--sut-cmd", help="the managed SUT's start command (placeholders as for --sut-cmd)")
    parser.add_argument("--base-url", help="an already running SUT instead of a managed one")
    parser.add_argument("--profile", help="profile TOML merged over the default")
    args = parser.parse_args(argv)

    profile = profiles.load(args.profile)
    env = {"REFERENCE_DEFECTS": args.defects} if args.defects else {}
    target = open_target(TargetSettings(base_url=args.base_url, sut_cmd=args.sut_cmd, sut_env=env), profile)
    api = ApiClient(target.base_url, profile)
    sides = Sides(target, profile, api, AccountFactory(api, target, profile))
    try:
        return _measure(target.base_url, profile, sides, args.plan, args.runs, label=args.defects or "clean")
    finally:
        sides.close()
        api.close()
        target.close()


def _measure(base_url: str, profile, sides: Sides, plan_name: str, runs: int, *, label: str) -> int:
    plan = PLANS[plan_name]
    verdicts: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    for run in range(1, runs + 1):
        try:
            judged = judge(carry_out(plan, sides.new(), profile, base_url))
            verdict = "passed" if judged else "inconclusive"
        except Violation as violation:
            verdict = f"flagged {violation.requirement}"
            print(f"run {run:3}: {verdict}: {violation.actual[:160]}", flush=True)
        except Inconclusive as why:
            verdict = "inconclusive"
            print(f"run {run:3}: inconclusive: {why}", flush=True)
        else:
            print(f"run {run:3}: {verdict} ({judged} listings judged)", flush=True)
        verdicts[verdict] += 1
    flagged = sum(n for verdict, n in verdicts.items() if verdict.startswith("flagged"))
    judged_runs = runs - verdicts["inconclusive"]
    print(
        f"\n{label}, plan {plan_name} ({len(plan.steps)} requests of {plan.users} users, {plan.concurrency} "
        f"in flight, {'warm' if plan.warm else 'cold'}): flagged {flagged}/{judged_runs} judged runs in "
        f"{time.monotonic() - started:.0f} s; " + ", ".join(f"{v}: {n}" for v, n in sorted(verdicts.items()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
