"""PERF-1: the load profiles meet their SLOs, and every response under load still conforms.

Load is destructive for a shared system, so it runs only with ``--load``. The
profiles run in a subprocess (``python -m load``: locust's gevent patching must
not enter this process). In managed mode the load runner starts its own
embedded SUT with the same ``--sut-env`` (the harness's SUT has the profile's
per-IP login limit, which every locust user would share); against an external
target it loads ``--base-url`` with the run's OTP and account options.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conformance.outcomes import NotRun, Violation
from conformance.run.options import RunOptions
from conformance.sut.process import run_bounded

PROFILES = ("auth_read", "login_storm", "revocation_churn", "mixed")
#: Seconds the runner may take besides the load itself (provisioning, start-up, reports).
OVERHEAD_SECONDS = 120
#: Exit codes of ``python -m load``.
GATE_FAILED = 1


def chosen_profiles(options: RunOptions) -> list[str]:
    return list(PROFILES) if list(options.load) == ["all"] else list(options.load)


def load_command(options: RunOptions, target, profile_name: str, out: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "load",
        profile_name,
        "--out",
        str(out),
        "--duration",
        f"{options.load_duration:g}",
    ]
    if options.load_processes > 1:
        command += ["--processes", str(options.load_processes)]
    if target.mode == "managed":
        for key, value in options.sut.sut_env.items():
            command += ["--sut-env", f"{key}={value}"]
        return command
    command += ["--base-url", target.base_url]
    settings = options.sut
    for option, value in (
        ("--fixed-otp", settings.fixed_otp),
        ("--otp-cmd", settings.otp_cmd),
        ("--accounts", settings.accounts_file),
        ("--profile-file", settings.profile_path),
    ):
        if value:
            command += [option, value]
    return command


@pytest.mark.requirement("PERF-1")
@pytest.mark.clause("PERF-1/latency", "PERF-1/error-ratio", "PERF-1/envelope", "PERF-1/decodes")
@pytest.mark.parametrize("profile_name", PROFILES)
def test_load_profile_meets_its_slos(run_options, target, profile_name, tmp_path):
    chosen = chosen_profiles(run_options)
    if not chosen:
        raise NotRun("load is sent only when asked for", option="--load all (or --load PROFILE,...)")
    if profile_name not in chosen:
        raise NotRun(f"load profile {profile_name} was not asked for", option=f"--load {profile_name} (or --load all)")
    unknown = sorted(set(chosen) - set(PROFILES))
    if unknown:
        pytest.fail(f"--load: unknown profile(s) {', '.join(unknown)}; known: {', '.join(PROFILES)}")
    command = load_command(run_options, target, profile_name, tmp_path)
    done = run_bounded(
        command, timeout=run_options.load_duration + OVERHEAD_SECONDS, what=f"python -m load {profile_name}"
    )
    if done.returncode not in (0, GATE_FAILED):
        ended = "did not finish in time" if done.returncode is None else f"exit {done.returncode}"
        pytest.fail(f"python -m load {profile_name} could not run ({ended}):\n{done.output[-3000:]}")
    if done.returncode == GATE_FAILED:
        gate = tmp_path / "gate.txt"
        table = gate.read_text() if gate.exists() else done.output[-3000:]
        raise Violation(
            "PERF-1",
            expected=f"every SLO of {profile_name} met and every response conforming",
            actual=f"the gate failed:\n{table}",
            hint=f"reproduce with: {' '.join(command[1:])}",
        )
