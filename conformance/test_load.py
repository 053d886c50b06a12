"""PERF-1: the load profiles meet their SLOs, and every response under load still conforms.

Load is destructive for a shared system, so it runs only with ``--load``. The
profiles run in a subprocess (``python -m load``: locust's gevent patching must
not enter this process). In managed mode the load runner starts its own
embedded SUT with the same ``--sut-env`` (the harness's SUT has the profile's
per-IP login limit, which every locust user would share); against an external
target it loads ``--base-url`` with the run's OTP and account options.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.outcomes import NotRun, Violation
from conformance.plugin import setting

PROFILES = ("auth_read", "login_storm", "revocation_churn", "mixed")
#: Seconds the runner may take besides the load itself (provisioning, start-up, reports).
OVERHEAD_SECONDS = 120
#: Exit codes of ``python -m load``.
GATE_FAILED, BROKEN_RUN = 1, 2


def chosen_profiles(config: pytest.Config) -> list[str]:
    value = setting(config, "--load") or ""
    names = [name.strip() for name in value.split(",") if name.strip()]
    return list(PROFILES) if names == ["all"] else names


def load_command(config: pytest.Config, target, profile_name: str, out: Path) -> list[str]:
    command = [sys.executable, "-m", "load", profile_name, "--out", str(out)]
    command += ["--duration", setting(config, "--load-duration")]
    if target.mode == "managed":
        for assignment in config.getoption("sut_env") or []:
            command += ["--sut-env", assignment]
        return command
    command += ["--base-url", target.base_url]
    for option in ("--fixed-otp", "--otp-cmd", "--accounts"):
        if value := setting(config, option):
            command += [option, value]
    if value := setting(config, "--profile"):
        command += ["--profile-file", value]
    return command


@pytest.mark.requirement("PERF-1")
@pytest.mark.parametrize("profile_name", PROFILES)
def test_load_profile_meets_its_slos(request, target, profile_name, tmp_path):
    config = request.config
    chosen = chosen_profiles(config)
    if not chosen:
        raise NotRun("load is sent only when asked for", option="--load all (or --load PROFILE,...)")
    if profile_name not in chosen:
        raise NotRun(f"load profile {profile_name} was not asked for", option=f"--load {profile_name} (or --load all)")
    unknown = sorted(set(chosen) - set(PROFILES))
    if unknown:
        pytest.fail(f"--load: unknown profile(s) {', '.join(unknown)}; known: {', '.join(PROFILES)}")
    command = load_command(config, target, profile_name, tmp_path)
    timeout = float(setting(config, "--load-duration")) + OVERHEAD_SECONDS
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    output = (done.stdout + done.stderr).strip()
    if done.returncode == BROKEN_RUN or done.returncode not in (0, GATE_FAILED):
        pytest.fail(f"python -m load {profile_name} could not run (exit {done.returncode}):\n{output[-3000:]}")
    if done.returncode == GATE_FAILED:
        gate = tmp_path / "gate.txt"
        table = gate.read_text() if gate.exists() else output[-3000:]
        raise Violation(
            "PERF-1",
            expected=f"every SLO of {profile_name} met and every response conforming",
            actual=f"the gate failed:\n{table}",
            hint=f"reproduce with: {' '.join(command[1:])}",
        )
