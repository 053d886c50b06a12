"""``python -m load.bench decode-cost``: the standard's performance claims, measured side by side.

A benchmark, not a test: it prints figures and never fails on them. Each
comparison starts the embedded reference twice, clean and with one defect,
provisions both, and then runs the same locust profile against them
alternately (ABBA order, so drift on a shared machine hits both sides alike),
with the conformance checks off so that the load generator spends its CPU on
load. It reports requests per second and p95 of every round, their medians
and the ratios.

    decode-cost       auth_read, clean vs REFERENCE_DEFECTS=multi-decode (one JWT decode vs three)
    revocation-store  auth_read, Redis revocation store vs REFERENCE_DEFECTS=memory-revocation
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance import profile as profiles
from conformance.target import TargetError, TargetSettings, open_target
from load.runner import LoadRun, RunnerError, load_sut_env, provision, run_locust


@dataclass(frozen=True)
class Comparison:
    profile: str
    claim: str
    baseline: str
    variant: str
    variant_env: dict[str, str]


COMPARISONS = {
    "decode-cost": Comparison(
        "auth_read", "one JWT decode per request instead of three", "clean", "multi-decode",
        {"REFERENCE_DEFECTS": "multi-decode"},
    ),
    "revocation-store": Comparison(
        "auth_read", "revocation in Redis (shared, survives restarts) vs a process dict", "redis", "memory-revocation",
        {"REFERENCE_DEFECTS": "memory-revocation"},
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Figures:
    rps: float
    p95: float | None
    requests: int
    failures: int


def figures_of(gate_json: Path) -> Figures:
    """The run's total from the gate's JSON (the in-process final stats, not the periodic CSV)."""
    total = json.loads(gate_json.read_text("utf-8"))["measurement"]["total"]
    return Figures(total["rps"], total["p95"], total["requests"], total["failures"])


def order(rounds: int) -> list[tuple[int, int]]:
    """ABBA: (round, side) pairs, side 0 = baseline, 1 = variant, alternating who goes first."""
    pairs = []
    for n in range(rounds):
        sides = (0, 1) if n % 2 == 0 else (1, 0)
        pairs += [(n, side) for side in sides]
    return pairs


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def report(comparison: Comparison, results: list[list[Figures]]) -> str:
    names = (comparison.baseline, comparison.variant)
    lines = [f"{comparison.profile}: {comparison.claim}", f"{'round':<7}{'side':<20}{'rps':>10}{'p95 ms':>10}{'requests':>10}{'failed':>8}"]
    for side, runs in enumerate(results):
        for n, f in enumerate(runs):
            p95 = "-" if f.p95 is None else f"{f.p95:.0f}"
            lines.append(f"{n + 1:<7}{names[side]:<20}{f.rps:>10.1f}{p95:>10}{f.requests:>10}{f.failures:>8}")
    medians = [
        (statistics.median(f.rps for f in runs), statistics.median(f.p95 for f in runs if f.p95 is not None) if any(f.p95 is not None for f in runs) else None)
        for runs in results
    ]
    for side, (rps, p95) in enumerate(medians):
        lines.append(f"median {names[side]:<20}{rps:>10.1f}{'-' if p95 is None else f'{p95:.0f}':>10}")
    rps_ratio = ratio(medians[0][0], medians[1][0])
    p95_ratio = ratio(medians[1][1], medians[0][1])
    lines.append(
        f"ratio: {comparison.baseline} serves {rps_ratio:.2f}x the requests per second of {comparison.variant}"
        if rps_ratio is not None
        else "ratio: not measurable (no requests)"
    )
    if p95_ratio is not None:
        lines.append(f"ratio: p95 of {comparison.variant} is {p95_ratio:.2f}x that of {comparison.baseline}")
    lines.append(f"machine: {platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    return "\n".join(lines)


def hs256_verify_microseconds(iterations: int = 2000) -> float:
    """What one HS256 verification (PyJWT, as the reference does it) costs here, in microseconds.

    The end-to-end figures above are noisy on a shared machine; this is the
    floor of what each extra decode adds to a request.
    """
    import timeit

    import jwt

    secret = "k" * 64
    token = jwt.encode({"sub": "1", "exp": 4102444800, "jti": "x", "type": "access"}, secret, algorithm="HS256")
    seconds = timeit.timeit(lambda: jwt.decode(token, secret, algorithms=["HS256"]), number=iterations)
    return seconds / iterations * 1e6


def _cpus() -> str:
    import os

    return str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


def bench(comparison: Comparison, *, rounds: int, users: int, duration: float, out: Path) -> str:
    profile = profiles.load()
    base_env = load_sut_env(profile)
    envs = (base_env, {**base_env, **comparison.variant_env})
    targets = []
    try:
        for env in envs:
            targets.append(open_target(TargetSettings(sut_env=env), profile))
        accounts = []
        for side, target in enumerate(targets):
            run = LoadRun(comparison.profile, users=users, out=out / f"side{side}")
            accounts.append(provision(target, profile, run))
        results: list[list[Figures]] = [[], []]
        for n, side in order(rounds):
            run = LoadRun(
                comparison.profile, users=users, spawn_rate=users, duration=duration,
                out=out / f"side{side}" / f"round{n + 1}", checks=False,
            )  # fmt: skip
            run.out.mkdir(parents=True, exist_ok=True)
            result = run_locust(run, targets[side].base_url, accounts[side])
            gate_json = run.out / "gate.json"
            if not gate_json.exists():
                raise RunnerError(f"round {n + 1} against {envs[side]} gave no figures:\n{result.gate_table}")
            results[side].append(figures_of(gate_json))
            print(f"  round {n + 1} {(comparison.baseline, comparison.variant)[side]}: {results[side][-1]}", flush=True)
    finally:
        for target in targets:
            target.close()
    return report(comparison, results)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("comparison", choices=sorted(COMPARISONS))
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side (default 3)")
    parser.add_argument("--users", type=int, default=8, help="concurrent users (default 8)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round (default 10)")
    parser.add_argument("--out", type=Path, default=Path("load-out/bench"), help="folder for each round's reports")
    args = parser.parse_args(argv)
    comparison = COMPARISONS[args.comparison]
    if args.comparison == "decode-cost":
        print(f"one HS256 verification (PyJWT) costs {hs256_verify_microseconds():.1f} us here", flush=True)
    print(f"{args.comparison}: {args.rounds} rounds x 2 sides x {args.duration:g}s, {args.users} users", flush=True)
    try:
        text = bench(comparison, rounds=args.rounds, users=args.users, duration=args.duration, out=args.out.resolve() / args.comparison)
    except (RunnerError, TargetError) as exc:
        print(f"python -m load.bench: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
