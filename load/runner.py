"""``python -m load PROFILE``: start or reach the SUT, provision accounts, run locust, gate.

Locust runs in a subprocess: importing it monkey-patches the interpreter with
gevent, which would break the target's threads (SMTP sink, process readers)
in this process. Its exit code is the gate's verdict (0 pass, 1 an SLO or a
conformance check failed, 2 or more: the run itself broke).

Several load processes use locust's own distribution (:class:`Distribution`):
``--processes N`` forks N workers of this run's master on this machine;
``--master --expect-workers N`` waits for N workers started elsewhere with
``python -m load PROFILE --worker --master-host HOST``. Either way this
process provisions the accounts once and the master hands them to the
workers (:mod:`load.distributed`); the gate, CSV and HTML come from the master.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from conformance import profile as profiles
from conformance.outcomes import NotRun
from conformance.sut.base import Target
from conformance.sut.ports import free_port
from conformance.sut.process import run_bounded
from load.gate import SloError, parse_override
from load.provision import Needs, Provisioner, ProvisioningError, write_accounts

PACKAGE_DIR = Path(__file__).resolve().parent
PROFILES_DIR = PACKAGE_DIR / "profiles"
#: Each profile's needs. Sessions are per account: ``mixed`` rotates refresh
#: tokens, so each of its users needs a session of its own.
NEEDS = {
    "auth_read": lambda users: Needs(accounts=min(users, 3), privileged=True),
    "login_storm": lambda users: Needs(accounts=min(users, 3), patients_per_account=0),
    "revocation_churn": lambda users: Needs(accounts=min(users, 5), patients_per_account=0),
    "mixed": lambda users: Needs(
        accounts=min(users, 5), sessions_per_account=-(-users // min(users, 5)), privileged=True
    ),
}
PROFILES = tuple(NEEDS)
#: Seconds locust may take beyond --duration to start, stop its users and write its reports.
LOCUST_GRACE = 60.0
#: Seconds between SIGINT to locust's process group (it then writes its reports) and SIGKILL.
#: locust's default port for master-worker traffic.
LOCUST_MASTER_PORT = 5557


class RunnerError(RuntimeError):
    """Bad input or a broken run: reported as one line, exit code 2."""


@dataclass(frozen=True)
class Distribution:
    """How many locust processes, and where (locust's own --processes, --master and --worker).

    The default is one process. ``processes`` alone: this run's master forks
    that many workers here (they talk over ``bind_port`` on loopback).
    ``master``: wait for ``expect_workers`` workers from other machines on
    ``bind_host:bind_port``. ``worker``: be a worker (``processes`` of them)
    of the master at ``master_host:master_port``.
    """

    processes: int = 0
    master: bool = False
    worker: bool = False
    expect_workers: int = 0
    master_host: str = "127.0.0.1"
    master_port: int = LOCUST_MASTER_PORT
    bind_host: str = "*"
    bind_port: int = LOCUST_MASTER_PORT
    #: Seconds the master waits for its workers to connect (and a worker may wait for its master).
    wait: float = 120.0

    @property
    def distributed(self) -> bool:
        return bool(self.processes or self.master or self.worker)

    @property
    def workers(self) -> int:
        """Worker processes that run users in this run (1 for a single process)."""
        if self.master:
            return self.expect_workers
        if self.processes and not self.worker:
            return self.processes
        return 1

    def locust_args(self) -> list[str]:
        wait = str(max(1, math.ceil(self.wait)))
        if self.worker:
            args = ["--worker", "--master-host", self.master_host, "--master-port", str(self.master_port)]
            return args + (["--processes", str(self.processes)] if self.processes else [])
        if self.master:
            return [
                "--master",
                "--expect-workers",
                str(self.expect_workers),
                "--expect-workers-max-wait",
                wait,
                "--master-bind-host",
                self.bind_host,
                "--master-bind-port",
                str(self.bind_port),
            ]
        if self.processes:
            # The forked workers connect to --master-port, the master listens on --master-bind-port:
            # one free loopback port, so that runs side by side do not meet on locust's default 5557.
            return [
                "--processes",
                str(self.processes),
                "--expect-workers-max-wait",
                wait,
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(self.bind_port),
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(self.bind_port),
            ]
        return []


def index_space(users: int, workers: int) -> int:
    """How many user indexes a run hands out: each worker numbers its users slot + workers * k.

    locust spreads users evenly (the counts differ by at most one), so no
    worker numbers beyond ``workers * ceil(users / workers)``; provisioning
    that many sessions keeps every user's session its own.
    """
    return workers * math.ceil(users / workers)


@dataclass
class LoadRun:
    """Everything one locust run needs (built from the command line or by the benchmark)."""

    profile: str
    users: int = 5
    spawn_rate: float = 5.0
    duration: float = 10.0
    out: Path = field(default_factory=lambda: Path("load-out"))
    slo_file: Path | None = None
    thresholds: list[str] = field(default_factory=list)
    conformance_profile: str | None = None
    checks: bool = True
    distribution: Distribution = field(default_factory=Distribution)

    @property
    def timeout(self) -> float:
        """The bound on the locust process: the load, its start and reports, and the wait for workers."""
        wait = self.distribution.wait if self.distribution.distributed else 0.0
        return self.duration + LOCUST_GRACE + wait


@dataclass(frozen=True)
class LoadResult:
    exit_code: int
    out: Path
    gate_table: str
    stats_csv: Path


def load_sut_env(profile: profiles.Profile) -> dict[str, str]:
    """Settings of the embedded SUT for load runs.

    Every locust user comes from 127.0.0.1, so the per-IP rate limits of the
    profile (60 logins a minute by default) would turn any profile that logs in
    (revocation_churn, mixed) into a test of the rate limiter. The embedded SUT
    gets limits far above what a run sends; RATE-1 is the suites' business.
    ``--sut-env`` still wins, so a run can put them back.
    """
    return {variable: "1000000/60" for variable in profile.config.rate_limits.values()}


def is_loopback(base_url: str) -> bool:
    """True when ``base_url`` names this machine (localhost or a loopback address)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RunnerError(f"--sut-env {pair!r}: expected KEY=VALUE")
        env[key] = value
    return env


def open_load_target(args: argparse.Namespace, profile: profiles.Profile) -> Target:
    """The SUT: ``--base-url`` as given, else the embedded reference started the harness's way."""
    from conformance.sut import TargetError, TargetSettings, open_target

    if args.base_url and not is_loopback(args.base_url) and not args.i_own_this_system:
        raise RunnerError(
            f"refusing to load {args.base_url}: not a loopback address. A load test is a denial of service "
            "for anyone else's system; pass --i-own-this-system if this one is yours."
        )
    if args.base_url and args.sut_env:
        raise RunnerError("--sut-env configures the embedded SUT; it cannot change a SUT given by --base-url")
    sut_env = {} if args.base_url else {**load_sut_env(profile), **parse_env(args.sut_env)}
    settings = TargetSettings(
        base_url=args.base_url,
        profile_path=args.profile_file,
        sut_env=sut_env,
        otp_cmd=args.otp_cmd,
        fixed_otp=args.fixed_otp,
        accounts_file=args.accounts,
        startup_timeout=args.startup_timeout,
    )
    try:
        return open_target(settings, profile)
    except TargetError as exc:
        raise RunnerError(str(exc)) from exc


def provision(target: Target, profile: profiles.Profile, run: LoadRun) -> Path:
    needs = NEEDS[run.profile](index_space(run.users, run.distribution.workers))
    run.out.mkdir(parents=True, exist_ok=True)
    with Provisioner(target, profile, run_id=uuid.uuid4().hex[:8]) as provisioner:
        try:
            data = provisioner.provision(needs)
        except ProvisioningError as exc:
            raise RunnerError(f"provisioning accounts failed: {exc}") from exc
        except NotRun as exc:
            raise RunnerError(f"cannot provision accounts: {exc}") from exc
    return write_accounts(data, run.out / "accounts.json")


def locust_command(run: LoadRun, base_url: str | None, accounts_file: Path | None) -> list[str]:
    """locust's command line for ``run``: the load and gate options go to the master (or single process)."""
    command = [sys.executable, "-m", "locust", "-f", str(PROFILES_DIR / f"{run.profile}.py")]
    command += run.distribution.locust_args()
    if run.distribution.worker:
        return command  # everything else comes from the master
    command += [
        "--headless",
        "--only-summary",
        "--host",
        str(base_url),
        "--users",
        str(run.users),
        "--spawn-rate",
        str(run.spawn_rate),
        "--run-time",
        f"{max(1, round(run.duration))}s",
        "--stop-timeout",
        "5",
        "--csv",
        str(run.out / "locust"),
        "--html",
        str(run.out / "report.html"),
        "--gate-out",
        str(run.out),
        "--slo-profile",
        run.profile,
    ]
    if accounts_file is not None:
        command += ["--accounts-file", str(accounts_file)]
    if run.slo_file is not None:
        command += ["--slo-file", str(run.slo_file)]
    for threshold in run.thresholds:
        command += ["--threshold", threshold]
    if run.conformance_profile:
        command += ["--conformance-profile", run.conformance_profile]
    if not run.checks:
        command.append("--no-conformance-checks")
    return command


def run_locust(run: LoadRun, base_url: str | None, accounts_file: Path | None) -> LoadResult:
    """Run locust, bounded in time; its output goes to ``locust.log``, its verdict to ``gate.txt``."""
    run.out.mkdir(parents=True, exist_ok=True)
    for stale in ("gate.txt", "gate.json", "violations.txt"):
        (run.out / stale).unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH")])),
    }
    log_path = run.out / "locust.log"
    command = locust_command(run, base_url, accounts_file)
    done = run_bounded(command, timeout=run.timeout, env=env, cwd=run.out, output_path=log_path, what="locust")
    if done.returncode is None:
        raise RunnerError(f"locust did not finish within {run.timeout:.0f}s; its output is in {log_path}")
    code = done.returncode
    if run.distribution.worker:
        summary = f"locust worker exited with code {code}; its output is in {log_path}"
        return LoadResult(code, run.out, summary, run.out / "locust_stats.csv")
    gate_path = run.out / "gate.txt"
    if gate_path.exists():
        table = gate_path.read_text("utf-8")
    else:
        tail = log_path.read_text("utf-8", errors="replace").splitlines()[-20:]
        table = "locust ended without a gate verdict; last lines of its log:\n  " + "\n  ".join(tail)
        code = max(code, 2)
    return LoadResult(code, run.out, table, run.out / "locust_stats.csv")


def execute(run: LoadRun, target: Target, profile: profiles.Profile) -> LoadResult:
    """Provision, then load ``target`` with ``run``."""
    accounts_file = provision(target, profile, run)
    return run_locust(run, target.base_url, accounts_file)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m load",
        description="Run a HealLog load profile with conformance checks and an SLO gate (PERF-1).",
    )
    parser.add_argument("profile", choices=PROFILES, help="load profile")
    parser.add_argument("--base-url", help="SUT to load; without it the embedded reference is started")
    parser.add_argument("--users", type=int, default=5, help="concurrent users (default 5)")
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second (default 5)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load (default 10)")
    parser.add_argument("--slo", type=Path, help="SLO thresholds (TOML); default: the packaged load/slo.toml")
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="SCOPE.METRIC=VALUE",
        help="override one SLO, e.g. total.p95=800",
    )
    parser.add_argument("--out", type=Path, default=Path("load-out"), help="folder for CSV, HTML and the gate table")
    parser.add_argument("--sut-env", action="append", default=[], metavar="K=V", help="setting for the embedded SUT")
    parser.add_argument("--profile-file", help="harness profile TOML of the SUT (default: HealLog)")
    parser.add_argument("--otp-cmd", help="command printing the OTP for {email} (external SUT)")
    parser.add_argument("--fixed-otp", help="the OTP of an external SUT that pins codes")
    parser.add_argument("--accounts", help="TOML of pre-provisioned privileged accounts (external SUT)")
    parser.add_argument("--startup-timeout", type=float, default=30.0, help="seconds for the embedded SUT to start")
    parser.add_argument("--i-own-this-system", action="store_true", help="allow a non-loopback --base-url")
    group = parser.add_argument_group("several load processes (locust's distribution)")
    group.add_argument("--processes", type=int, help="fork N locust workers on this machine (-1: one per CPU)")
    group.add_argument("--master", action="store_true", help="be the master of workers on other machines")
    group.add_argument("--expect-workers", type=int, help="with --master: worker processes to wait for")
    group.add_argument("--master-bind-host", default="*", help="with --master: interface to listen on (default all)")
    group.add_argument("--master-bind-port", type=int, default=LOCUST_MASTER_PORT, help="with --master (default 5557)")
    group.add_argument("--worker", action="store_true", help="be a worker of the master at --master-host")
    group.add_argument(
        "--master-host", default="127.0.0.1", help="with --worker: the master's host (default 127.0.0.1)"
    )
    group.add_argument("--master-port", type=int, default=LOCUST_MASTER_PORT, help="with --worker (default 5557)")
    group.add_argument(
        "--workers-wait",
        type=float,
        default=120.0,
        help="seconds the master waits for its workers to connect (default 120)",
    )
    return parser


#: Options a worker must not be given: the master decides them, and a worker would silently ignore them.
MASTER_ONLY = {
    "base_url": "--base-url",
    "sut_env": "--sut-env",
    "slo": "--slo",
    "threshold": "--threshold",
    "profile_file": "--profile-file",
    "otp_cmd": "--otp-cmd",
    "fixed_otp": "--fixed-otp",
    "accounts": "--accounts",
}


def distribution_of(args: argparse.Namespace) -> Distribution:
    """The distribution options, checked against each other (one clear line per mistake)."""
    if args.master and args.worker:
        raise RunnerError("--master and --worker exclude each other")
    if args.expect_workers is not None and not args.master:
        raise RunnerError("--expect-workers needs --master (with --processes the master expects its own forks)")
    if args.master and args.processes:
        raise RunnerError(
            "--master cannot be combined with --processes: --processes alone makes this run the master of N local "
            "workers; for workers on other machines use --master --expect-workers N"
        )
    if args.master and (args.expect_workers or 0) < 1:
        raise RunnerError("--master needs --expect-workers N (N >= 1): the worker processes to wait for")
    processes = args.processes or 0
    if processes == -1:
        processes = os.cpu_count() or 1
    if processes < 0 or args.processes == 0:
        raise RunnerError(f"--processes {args.processes}: expected a positive count or -1 (one per CPU)")
    if args.workers_wait <= 0:
        raise RunnerError("--workers-wait must be positive")
    if args.worker:
        given = [flag for key, flag in MASTER_ONLY.items() if getattr(args, key)]
        if given:
            raise RunnerError(f"{', '.join(given)}: a worker takes the run from its master; give these to the master")
    return Distribution(
        processes=processes,
        master=args.master,
        worker=args.worker,
        expect_workers=args.expect_workers or 0,
        master_host=args.master_host,
        master_port=args.master_port,
        bind_host=args.master_bind_host,
        bind_port=args.master_bind_port if args.master or not processes else free_port(),
        wait=args.workers_wait,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.users < 1 or args.spawn_rate <= 0 or args.duration <= 0:
            raise RunnerError("--users, --spawn-rate and --duration must be positive")
        for threshold in args.threshold:
            parse_override(threshold)
        distribution = distribution_of(args)
        profile = profiles.load(args.profile_file)
        run = LoadRun(
            profile=args.profile,
            users=args.users,
            spawn_rate=args.spawn_rate,
            duration=args.duration,
            out=args.out.resolve(),
            slo_file=args.slo.resolve() if args.slo else None,
            thresholds=list(args.threshold),
            conformance_profile=str(Path(args.profile_file).resolve()) if args.profile_file else None,
            distribution=distribution,
        )
        started = time.monotonic()
        if distribution.worker:
            where = f"{distribution.master_host}:{distribution.master_port}"
            workers = max(1, distribution.processes)
            print(f"load {run.profile}: {workers} worker process(es) of the master at {where}", flush=True)
            result = run_locust(run, None, None)
            print(result.gate_table)
            return result.exit_code
        target = open_load_target(args, profile)
        try:
            processes = f" ({distribution.workers} worker processes)" if distribution.distributed else ""
            where = f"against {target.base_url}{processes}"
            print(f"load {run.profile}: {run.users} users for {run.duration:g}s {where}", flush=True)
            result = execute(run, target, profile)
        finally:
            target.close()
    except (RunnerError, SloError, profiles.ProfileError) as exc:
        print(f"python -m load: {exc}", file=sys.stderr)
        return 2
    print(result.gate_table.rstrip())
    print(f"reports in {result.out} (locust_stats.csv, report.html, gate.json); {time.monotonic() - started:.0f}s")
    violations = result.out / "violations.txt"
    if violations.exists():
        print(f"first violation of each kind, with a curl line to reproduce: {violations}")
    return result.exit_code
