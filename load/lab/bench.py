"""``python -m load.lab.bench decode-cost``: the standard's performance claims, measured side by side.

A benchmark, not a test: it prints figures. Each comparison starts the
embedded reference twice (a baseline and a variant: a defect, or more server
processes), provisions both, and then runs the same locust profile against
them alternately (ABBA order, so drift on a shared machine hits both sides
alike). It reports requests per second and p95 of every round, the CPU the
SUT's processes and each locust process used, their medians and the ratios.

    decode-cost       auth_read, clean vs REFERENCE_DEFECTS=multi-decode (one JWT decode vs three);
                      first the instructions per request of both (callgrind, :mod:`load.lab.instructions`),
                      twice: exit code 1 if the two ratios differ by 2 % or more
    revocation-store  auth_read, Redis revocation store vs REFERENCE_DEFECTS=memory-revocation
    workers           auth_read with the checks on, from 2 locust worker processes, against
                      `serve` (one process) vs `serve --workers 2`
    generator         one locust worker process, checks on vs off, against the replay server
                      (:mod:`load.lab.replay`: the reference's answers recorded once, replayed at no cost),
                      so the generator and not the SUT is the limit
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import profile as profiles
from conformance.sut import TargetError, TargetSettings, open_target
from conformance.wire import factory
from load.lab import instructions, procfs, replay
from load.provision import Needs, Provisioner, ProvisioningError
from load.runner import (
    LOCUST_MASTER_PORT,
    Distribution,
    LoadRun,
    RunnerError,
    free_port,
    load_sut_env,
    provision,
    run_locust,
)

REFERENCE_CMD = "{python} -m reference serve --host {host} --port {port} --data-dir {data_dir}"
#: With a --sut-cmd of its own the harness needs the seed command spelled out (plan and role included).
SEED_CMD = (
    "{python} -m reference seed-user --email {email} --password-stdin --data-dir {data_dir} --plan {plan} --role {role}"
)
STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Comparison:
    profile: str
    claim: str
    baseline: str
    variant: str
    variant_env: dict[str, str] = field(default_factory=dict)
    #: The variant's SUT command (None: the embedded reference as the harness starts it).
    variant_cmd: str | None = None
    #: locust worker processes (0: one locust process).
    processes: int = 0
    #: The conformance checks on every response (off: the generator's CPU goes to load only).
    checks: bool = False
    #: The variant's checks when they differ (the generator comparison); None: as ``checks``.
    variant_checks: bool | None = None

    def checks_of(self, side: int) -> bool:
        return self.checks if side == 0 or self.variant_checks is None else self.variant_checks


COMPARISONS = {
    "decode-cost": Comparison(
        "auth_read",
        "one JWT decode per request instead of three",
        "clean",
        "multi-decode",
        {"REFERENCE_DEFECTS": "multi-decode"},
    ),
    "revocation-store": Comparison(
        "auth_read",
        "revocation in Redis (shared, survives restarts) vs a process dict",
        "redis",
        "memory-revocation",
        {"REFERENCE_DEFECTS": "memory-revocation"},
    ),
    "workers": Comparison(
        "auth_read",
        "one reference process vs two on the same Redis and SQLite (checks on, 2 locust workers)",
        "1 worker",
        "2 workers",
        variant_cmd=REFERENCE_CMD + " --workers 2",
        processes=2,
        checks=True,
    ),
    "generator": Comparison(
        "auth_read",
        "what one locust worker process sustains (SUT: the replay server, its CPU under SUT cores)",
        "checks on",
        "checks off",
        processes=1,
        checks=True,
        variant_checks=False,
    ),
}


@dataclass(frozen=True)
class Figures:
    rps: float
    p95: float | None
    requests: int
    failures: int
    #: Cores the SUT's processes used during the round (CPU seconds / wall seconds); None: not measured.
    sut_cores: float | None = None
    #: Each locust process's report: role, requests, cpu_seconds, wall_seconds, cpu_share.
    processes: tuple[dict[str, Any], ...] = ()

    @property
    def generator_shares(self) -> str:
        """Each locust process's share of a core, master first: "m 0.01  w 0.34  w 0.31"."""
        return "  ".join(f"{p['role'][0]} {p['cpu_share']:.2f}" for p in self.processes)

    @property
    def worker_requests_per_cpu_second(self) -> float | None:
        """What one locust process that runs users gets through per second of its own CPU."""
        users = [p for p in self.processes if p["role"] != "master" and p["cpu_seconds"] > 0]
        if not users:
            return None
        return statistics.median(p["requests"] / p["cpu_seconds"] for p in users)


def figures_of(gate_json: Path, sut_cores: float | None = None) -> Figures:
    """The run's total from the gate's JSON (the in-process final stats, not the periodic CSV)."""
    report = json.loads(gate_json.read_text("utf-8"))
    total = report["measurement"]["total"]
    return Figures(
        total["rps"], total["p95"], total["requests"], total["failures"], sut_cores, tuple(report.get("processes", ()))
    )


def order(rounds: int) -> list[tuple[int, int]]:
    """ABBA: (round, side) pairs, side 0 = baseline, 1 = variant, alternating who goes first."""
    pairs = []
    for n in range(rounds):
        sides = (0, 1) if n % 2 == 0 else (1, 0)
        pairs += [(n, side) for side in sides]
    return pairs


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def report(comparison: Comparison, results: list[list[Figures]]) -> str:
    names = (comparison.baseline, comparison.variant)
    measured_cpu = any(f.sut_cores is not None or f.processes for runs in results for f in runs)
    header = f"{'round':<7}{'side':<20}{'rps':>10}{'p95 ms':>10}{'requests':>10}{'failed':>8}"
    if measured_cpu:
        header += f"{'SUT cores':>11}  locust CPU share per process"
    lines = [f"{comparison.profile}: {comparison.claim}", header]
    for side, runs in enumerate(results):
        for n, f in enumerate(runs):
            p95 = "-" if f.p95 is None else f"{f.p95:.0f}"
            line = f"{n + 1:<7}{names[side]:<20}{f.rps:>10.1f}{p95:>10}{f.requests:>10}{f.failures:>8}"
            if measured_cpu:
                cores = "-" if f.sut_cores is None else f"{f.sut_cores:.2f}"
                line += f"{cores:>11}  {f.generator_shares}"
            lines.append(line)
    medians = [(statistics.median(f.rps for f in runs), _median([f.p95 for f in runs])) for runs in results]
    for side, (rps, p95) in enumerate(medians):
        line = f"median {names[side]:<20}{rps:>10.1f}{'-' if p95 is None else f'{p95:.0f}':>10}"
        cores = _median([f.sut_cores for f in results[side]])
        if measured_cpu and cores is not None:
            line += f"{'':>18}{cores:>11.2f}"
        lines.append(line)
    rps_ratio = ratio(medians[0][0], medians[1][0])
    p95_ratio = ratio(medians[1][1], medians[0][1])
    lines.append(
        f"ratio: {comparison.baseline} serves {rps_ratio:.2f}x the requests per second of {comparison.variant}"
        if rps_ratio is not None
        else "ratio: not measurable (no requests)"
    )
    if p95_ratio is not None:
        lines.append(f"ratio: p95 of {comparison.variant} is {p95_ratio:.2f}x that of {comparison.baseline}")
    capacities = [_median([f.worker_requests_per_cpu_second for f in runs]) for runs in results]
    if any(c is not None for c in capacities):
        parts = [
            f"{names[side]} {'-' if c is None else f'{c:.0f}'} (checks {'on' if comparison.checks_of(side) else 'off'})"
            for side, c in enumerate(capacities)
        ]
        lines.append("load generator, requests per CPU-second of a locust process running users: " + ", ".join(parts))
    lines.append(
        f"machine: {platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}, {platform.platform()}"
    )
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
    return str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


def sides(comparison: Comparison, base_env: dict[str, str]) -> list[TargetSettings]:
    baseline = TargetSettings(sut_env=base_env, startup_timeout=STARTUP_TIMEOUT)
    variant = TargetSettings(
        sut_env={**base_env, **comparison.variant_env},
        sut_cmd=comparison.variant_cmd,
        seed_cmd=SEED_CMD if comparison.variant_cmd else None,
        startup_timeout=STARTUP_TIMEOUT,
    )
    return [baseline, variant]


def sut_group(target: Any) -> int:
    """The process group of the SUT (the reference and any workers it spawned; not the harness's Redis)."""
    return os.getpgid(procfs.find_pid(f"--data-dir {target.extra['data_dir']}"))


def run_round(
    comparison: Comparison,
    n: int,
    side: int,
    *,
    base_url: str,
    accounts_file: Path,
    users: int,
    duration: float,
    out: Path,
    server_cpu: Callable[[], float],
) -> Figures:
    """One round of one side; ``server_cpu`` reads the CPU seconds of whatever answers (SUT or replay server)."""
    distribution = Distribution(
        processes=comparison.processes, bind_port=free_port() if comparison.processes else LOCUST_MASTER_PORT
    )
    run = LoadRun(
        comparison.profile,
        users=users,
        spawn_rate=users,
        duration=duration,
        out=out / f"side{side}" / f"round{n + 1}",
        checks=comparison.checks_of(side),
        distribution=distribution,
    )
    run.out.mkdir(parents=True, exist_ok=True)
    cpu_before = server_cpu()
    result = run_locust(run, base_url, accounts_file)
    cpu = server_cpu() - cpu_before
    gate_json = run.out / "gate.json"
    name = (comparison.baseline, comparison.variant)[side]
    if not gate_json.exists():
        raise RunnerError(f"round {n + 1} of {name} gave no figures:\n{result.gate_table}")
    wall = max((p["wall_seconds"] for p in json.loads(gate_json.read_text())["processes"]), default=duration)
    figures = figures_of(gate_json, sut_cores=cpu / wall if wall else None)
    print(
        f"  round {n + 1} {name}: {figures.rps:.1f} rps, p95 {figures.p95} ms, locust {figures.generator_shares}",
        flush=True,
    )
    return figures


def bench(comparison: Comparison, *, rounds: int, users: int, duration: float, out: Path) -> str:
    profile = profiles.load()
    targets = []
    try:
        for settings in sides(comparison, load_sut_env(profile)):
            targets.append(open_target(settings, profile))
        groups = [sut_group(target) for target in targets]
        accounts = []
        for side, target in enumerate(targets):
            run = LoadRun(
                comparison.profile,
                users=users,
                out=out / f"side{side}",
                distribution=Distribution(processes=comparison.processes),
            )
            accounts.append(provision(target, profile, run))
        results: list[list[Figures]] = [[], []]
        for n, side in order(rounds):
            group = groups[side]
            results[side].append(
                run_round(
                    comparison,
                    n,
                    side,
                    base_url=targets[side].base_url,
                    accounts_file=accounts[side],
                    users=users,
                    duration=duration,
                    out=out,
                    server_cpu=lambda group=group: procfs.group_cpu_seconds(group),
                )
            )
    finally:
        for target in targets:
            target.close()
    return report(comparison, results)


def auth_read_recordings(data: dict[str, Any], profile: profiles.Profile) -> list[replay.Recording]:
    """Every request auth_read sends, with the token it sends it with (the answers differ by account)."""
    first = data["accounts"][0]["sessions"][0]["access_token"]
    recordings = []
    for account in data["accounts"]:
        token = account["sessions"][0]["access_token"]
        recordings += [
            replay.Recording(profile.operation("get_patient").url_path(id=p), token) for p in account["patients"]
        ]
    for operation, kind in (("me", None), ("list_patients", None), ("pro_feature", "pro"), ("list_users", "admin")):
        privileged = data.get(kind) if kind else None
        token = privileged["sessions"][0]["access_token"] if privileged else first
        recordings.append(replay.Recording(profile.operation(operation).url_path(), token))
    return recordings


def generator(comparison: Comparison, *, rounds: int, users: int, duration: float, out: Path) -> str:
    """One locust worker process against the replay server, checks on and off in ABBA order."""
    profile = profiles.load()
    target = open_target(TargetSettings(sut_env=load_sut_env(profile), startup_timeout=STARTUP_TIMEOUT), profile)
    try:
        first = LoadRun(
            comparison.profile, users=users, out=out, distribution=Distribution(processes=comparison.processes)
        )
        accounts_file = provision(target, profile, first)
        answers = replay.record(target.base_url, auth_read_recordings(json.loads(accounts_file.read_text()), profile))
    finally:
        target.close()  # the reference's CPU is the generator's now
    server = replay.ReplayServer(answers).start()
    results: list[list[Figures]] = [[], []]
    try:
        for n, side in order(rounds):
            results[side].append(
                run_round(
                    comparison,
                    n,
                    side,
                    base_url=server.base_url,
                    accounts_file=accounts_file,
                    users=users,
                    duration=duration,
                    out=out,
                    server_cpu=server.cpu_seconds,
                )
            )
    finally:
        server.stop()
    return report(comparison, results)


def instruction_counts(
    comparison: Comparison, *, cycles: int, repetitions: int, warmup: int = instructions.WARMUP_CYCLES
) -> list[instructions.Repetition]:
    """Instructions per request of both sides (callgrind), ``repetitions`` times."""
    profile = profiles.load()
    # A fixed hash seed: dict and set layouts, and so the work of a request, repeat from run to run.
    base_env = {**load_sut_env(profile), "PYTHONHASHSEED": "0"}
    envs = (base_env, {**base_env, **comparison.variant_env})
    targets, sessions, controls = [], [], []
    try:
        for env in envs:
            settings = TargetSettings(
                sut_cmd=instructions.SUT_CMD, sut_env=env, startup_timeout=instructions.STARTUP_TIMEOUT
            )
            targets.append(open_target(settings, profile))
        for target in targets:
            with Provisioner(target, profile, run_id=uuid.uuid4().hex[:8]) as provisioner:
                account = provisioner.new_account(Needs(accounts=1))
            client = factory.client(
                factory.Purpose.BENCH, base_url=target.base_url, timeout=instructions.CONTROL_TIMEOUT, recorder=None
            )
            sessions.append(
                instructions.Session(client, account["sessions"][0]["access_token"], account["patients"][0], profile)
            )
            marker = f"--callgrind-out-file={target.extra['data_dir']}/callgrind.out"
            controls.append(instructions.Callgrind(procfs.find_pid(marker)))
        for control, session in zip(controls, sessions):
            control.instrument()
            session.cycles(warmup)
        repeated = []
        for n in range(repetitions):
            pairs = list(zip(controls, sessions))
            per = [
                instructions.measure(control, session, cycles)
                for control, session in (pairs if n % 2 == 0 else pairs[::-1])
            ]
            baseline, variant = per if n % 2 == 0 else per[::-1]
            repeated.append(instructions.Repetition(baseline, variant))
            print(f"  instructions, repetition {n + 1}: {baseline:,.0f} vs {variant:,.0f} per request", flush=True)
    finally:
        for session in sessions:
            session.client.close()
        for target in targets:
            target.close()
    return repeated


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.lab.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("comparison", choices=sorted(COMPARISONS))
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side (default 3)")
    parser.add_argument("--users", type=int, default=8, help="concurrent users (default 8)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round (default 10)")
    parser.add_argument("--out", type=Path, default=Path("load-out/bench"), help="folder for each round's reports")
    parser.add_argument(
        "--cycles", type=int, default=20, help="decode-cost: sequences per instruction window (default 20)"
    )
    parser.add_argument("--repetitions", type=int, default=2, help="decode-cost: instruction measurements (default 2)")
    parser.add_argument("--no-rps", action="store_true", help="decode-cost: instruction counts only")
    parser.add_argument("--no-instructions", action="store_true", help="decode-cost: requests per second only")
    args = parser.parse_args(argv)
    comparison = COMPARISONS[args.comparison]
    stable = True
    try:
        if args.comparison == "decode-cost":
            print(f"one HS256 verification (PyJWT) costs {hs256_verify_microseconds():.1f} us here", flush=True)
            problem = instructions.available()
            if problem:
                print(f"instruction counts: skipped, valgrind {problem}", flush=True)
            elif not args.no_instructions:
                windows = f"windows of {args.cycles} and {2 * args.cycles} sequences"
                print(f"instruction counts: {args.repetitions} repetitions, {windows}", flush=True)
                repeated = instruction_counts(comparison, cycles=args.cycles, repetitions=args.repetitions)
                print(instructions.report((comparison.baseline, comparison.variant), args.cycles, repeated), flush=True)
                ratios = [rep.ratio for rep in repeated]
                stable = len(ratios) < 2 or instructions.is_stable(ratios)
            if args.no_rps:
                return 0 if stable else 1
        print(f"{args.comparison}: {args.rounds} rounds x 2 sides x {args.duration:g}s, {args.users} users", flush=True)
        run = generator if args.comparison == "generator" else bench
        out = args.out.resolve() / args.comparison
        text = run(comparison, rounds=args.rounds, users=args.users, duration=args.duration, out=out)
    except (RunnerError, TargetError, ProvisioningError, instructions.InstructionError, procfs.ProcError) as exc:
        print(f"python -m load.lab.bench: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0 if stable else 1


if __name__ == "__main__":
    sys.exit(main())
