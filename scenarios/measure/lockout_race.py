"""Measure how often the LOCK-2 race burst catches a SUT, run after run.

    python -m scenarios.measure.lockout_race --runs 100                    # the clean embedded reference
    python -m scenarios.measure.lockout_race --runs 100 --defects racy-lockout
    python -m scenarios.measure.lockout_race --runs 20 --base-url http://127.0.0.1:8000

Each run is exactly what the scenario test does (``scenarios.kit.race``):
``RACE_ROUNDS`` bursts, each of ``RACE_BURST`` concurrent wrong passwords for a
fresh unknown email from a fresh loopback address, judged by
``lockout.at_most_n_invalid_credentials``; a run is flagged when any burst is.
Prints one line per run and a summary: runs flagged / judged / inconclusive,
bursts flagged, and the spread of INVALID_CREDENTIALS answers per burst.
"""

from __future__ import annotations

import argparse
import collections
import secrets
import sys
import time

from conformance import profile as profiles
from conformance.checks import lockout
from conformance.sut import TargetSettings, open_target
from conformance.wire.sources import SourceAddresses
from scenarios.kit.race import RACE_ROUNDS, burst_size, wrong_password_burst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios.measure.lockout_race", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--defects", default="", help="REFERENCE_DEFECTS for the embedded reference (managed mode)")
    parser.add_argument("--base-url", help="an already running SUT instead of the embedded reference")
    parser.add_argument("--profile", help="profile TOML merged over the default")
    args = parser.parse_args(argv)

    profile = profiles.load(args.profile)
    env = {"REFERENCE_DEFECTS": args.defects} if args.defects else {}
    target = open_target(TargetSettings(base_url=args.base_url, sut_env=env), profile)
    try:
        return _measure(target.base_url, profile, args.runs, label=args.defects or "clean")
    finally:
        target.close()


def _measure(base_url: str, profile: profiles.Profile, runs: int, *, label: str) -> int:
    threshold = profile.limits.lockout_threshold
    sources = SourceAddresses(base_url, profile.sources)
    size = burst_size(profile, own_address=sources.enabled)
    password = "Wrong-" + secrets.token_urlsafe(12) + "1!"
    verdicts: collections.Counter[str] = collections.Counter()
    invalid_counts: list[int] = []
    started = time.monotonic()
    bursts_flagged = 0
    for run in range(1, runs + 1):
        outcomes = []
        for _ in range(RACE_ROUNDS):
            email = f"hlc-race-{secrets.token_hex(4)}@example.com"
            exchanges = wrong_password_burst(
                base_url, profile, email, password, size=size, local_address=sources.next()
            )
            kinds = collections.Counter(lockout.answer_kind(e) for e in exchanges)
            invalid_counts.append(kinds[lockout.FAILED])
            outcomes.append(_verdict(exchanges, kinds, size, threshold))
            bursts_flagged += outcomes[-1] == "flagged"
            print(
                f"run {run:3}: {outcomes[-1]:12} " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())), flush=True
            )
        verdict = "flagged" if "flagged" in outcomes else "inconclusive" if "inconclusive" in outcomes else "passed"
        verdicts[verdict] += 1
    judged = verdicts["passed"] + verdicts["flagged"]
    spread = collections.Counter(invalid_counts)
    print(
        f"\n{label}: {RACE_ROUNDS} bursts of {size} per run, threshold {threshold}, {runs} runs in "
        f"{time.monotonic() - started:.0f} s: flagged {verdicts['flagged']}/{judged} judged runs "
        f"(bursts: {bursts_flagged}/{runs * RACE_ROUNDS}), inconclusive {verdicts['inconclusive']}"
    )
    print("INVALID_CREDENTIALS per burst: " + ", ".join(f"{k}: {n}×" for k, n in sorted(spread.items())))
    return 0


def _verdict(exchanges, kinds, size: int, threshold: int) -> str:
    if size - kinds[lockout.LIMITED] <= threshold:
        return "inconclusive"
    flagged = len(lockout.refused_as_invalid(exchanges)) > threshold or any(e.response.status >= 500 for e in exchanges)
    return "flagged" if flagged else "passed"


if __name__ == "__main__":
    sys.exit(main())
