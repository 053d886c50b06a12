"""``python -m load PROFILE``: start or reach the SUT, provision accounts, run locust, gate.

Locust runs in a subprocess: importing it monkey-patches the interpreter with
gevent, which would break the target's threads (SMTP sink, process readers)
in this process. Its exit code is the gate's verdict (0 pass, 1 an SLO or a
conformance check failed, 2 or more: the run itself broke).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from conformance import profile as profiles
from conformance.outcomes import NotRun
from conformance.target.base import Target
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
    "mixed": lambda users: Needs(accounts=min(users, 5), sessions_per_account=-(-users // min(users, 5)), privileged=True),
}
PROFILES = tuple(NEEDS)
#: Seconds locust may take beyond --duration to start, stop its users and write its reports.
LOCUST_GRACE = 60.0


class RunnerError(RuntimeError):
    """Bad input or a broken run: reported as one line, exit code 2."""


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
    from conformance.target import TargetError, TargetSettings, open_target

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
    needs = NEEDS[run.profile](run.users)
    run.out.mkdir(parents=True, exist_ok=True)
    with Provisioner(target, profile, run_id=uuid.uuid4().hex[:8]) as provisioner:
        try:
            data = provisioner.provision(needs)
        except ProvisioningError as exc:
            raise RunnerError(f"provisioning accounts failed: {exc}") from exc
        except NotRun as exc:
            raise RunnerError(f"cannot provision accounts: {exc}") from exc
    return write_accounts(data, run.out / "accounts.json")


def locust_command(run: LoadRun, base_url: str, accounts_file: Path) -> list[str]:
    command = [
        sys.executable, "-m", "locust",
        "-f", str(PROFILES_DIR / f"{run.profile}.py"),
        "--headless", "--only-summary",
        "--host", base_url,
        "--users", str(run.users),
        "--spawn-rate", str(run.spawn_rate),
        "--run-time", f"{max(1, round(run.duration))}s",
        "--stop-timeout", "5",
        "--csv", str(run.out / "locust"),
        "--html", str(run.out / "report.html"),
        "--accounts-file", str(accounts_file),
        "--gate-out", str(run.out),
        "--slo-profile", run.profile,
    ]  # fmt: skip
    if run.slo_file is not None:
        command += ["--slo-file", str(run.slo_file)]
    for threshold in run.thresholds:
        command += ["--threshold", threshold]
    if run.conformance_profile:
        command += ["--conformance-profile", run.conformance_profile]
    if not run.checks:
        command.append("--no-conformance-checks")
    return command


def run_locust(run: LoadRun, base_url: str, accounts_file: Path) -> LoadResult:
    """Run locust in its own process group, bounded in time; its output goes to ``locust.log``."""
    run.out.mkdir(parents=True, exist_ok=True)
    for stale in ("gate.txt", "gate.json", "violations.txt"):
        (run.out / stale).unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH")]))}
    log_path = run.out / "locust.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            locust_command(run, base_url, accounts_file),
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=run.out, start_new_session=True,
        )  # fmt: skip
        try:
            code = process.wait(timeout=run.duration + LOCUST_GRACE)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            raise RunnerError(
                f"locust did not finish within {run.duration + LOCUST_GRACE:.0f}s; its output is in {log_path}"
            ) from None
        except BaseException:  # Ctrl-C included: never leave locust behind
            _stop_group(process)
            raise
    gate_path = run.out / "gate.txt"
    if gate_path.exists():
        table = gate_path.read_text("utf-8")
    else:
        tail = log_path.read_text("utf-8", errors="replace").splitlines()[-20:]
        table = "locust ended without a gate verdict; last lines of its log:\n  " + "\n  ".join(tail)
        code = code or 2
    return LoadResult(code, run.out, table, run.out / "locust_stats.csv")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


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
        "--threshold", action="append", default=[], metavar="SCOPE.METRIC=VALUE", help="override one SLO, e.g. total.p95=800"
    )
    parser.add_argument("--out", type=Path, default=Path("load-out"), help="folder for CSV, HTML and the gate table")
    parser.add_argument("--sut-env", action="append", default=[], metavar="K=V", help="setting for the embedded SUT")
    parser.add_argument("--profile-file", help="harness profile TOML of the SUT (default: HealLog)")
    parser.add_argument("--otp-cmd", help="command printing the OTP for {email} (external SUT)")
    parser.add_argument("--fixed-otp", help="the OTP of an external SUT that pins codes")
    parser.add_argument("--accounts", help="TOML of pre-provisioned privileged accounts (external SUT)")
    parser.add_argument("--startup-timeout", type=float, default=30.0, help="seconds for the embedded SUT to start")
    parser.add_argument("--i-own-this-system", action="store_true", help="allow a non-loopback --base-url")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.users < 1 or args.spawn_rate <= 0 or args.duration <= 0:
            raise RunnerError("--users, --spawn-rate and --duration must be positive")
        for threshold in args.threshold:
            parse_override(threshold)
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
        )
        started = time.monotonic()
        target = open_load_target(args, profile)
        try:
            print(f"load {run.profile}: {run.users} users for {run.duration:g}s against {target.base_url}", flush=True)
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
