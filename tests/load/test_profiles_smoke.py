"""A few seconds of each load profile against the embedded reference, through ``python -m load``.

Nothing here asserts a timing (the machine is shared and noisy): the SLO file
of these tests only bounds failures, so a run passes when every answer was the
expected one and every response passed the conformance checks. The defect
test shows the other side: the same run against ``multi-decode`` fails the
gate, and names AUTH-1 and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import profile as profiles

REPO = Path(__file__).resolve().parents[2]
SMOKE_SLO = Path(__file__).with_name("smoke_slo.toml")
FIXED_OTP = "246810"
#: Per run: locust start-up, a few seconds of load, reports; far above what a run takes.
RUN_TIMEOUT = 120


@pytest.fixture(scope="module")
def embedded_sut():
    """One embedded reference for the smoke runs, started the way the harness starts it."""
    from conformance.sut import TargetSettings, open_target
    from load.runner import load_sut_env

    profile = profiles.load()
    # A pinned OTP lets the runner (an external client here) verify its accounts.
    env = {**load_sut_env(profile), "REFERENCE_FIXED_OTP": FIXED_OTP}
    target = open_target(TargetSettings(sut_env=env), profile)
    try:
        yield target
    finally:
        target.close()


def run_load(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "load", *args, "--slo", str(SMOKE_SLO), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)


def explain(result: subprocess.CompletedProcess[str], out: Path) -> str:
    violations = out / "violations.txt"
    log = out / "locust.log"
    return "\n".join(
        [
            f"exit code {result.returncode}",
            result.stdout[-4000:],
            result.stderr[-2000:],
            violations.read_text()[:4000] if violations.exists() else "",
            log.read_text()[-3000:] if log.exists() else "",
        ]
    )


#: Per profile, a request name that must have been exercised (the profile really ran).
EXERCISED = {
    "auth_read": "GET /api/users/me",
    "login_storm": "POST /api/auth/login [wrong password]",
    "revocation_churn": "GET /api/users/me [revoked]",
    "mixed": "GET /api/patients/",
}


@pytest.mark.parametrize("profile", sorted(EXERCISED))
def test_profile_runs_clean_against_the_reference(embedded_sut, profile, tmp_path):
    result = run_load(
        profile,
        "--base-url",
        embedded_sut.base_url,
        "--fixed-otp",
        FIXED_OTP,
        "--users",
        "3",
        "--spawn-rate",
        "3",
        "--duration",
        "3",
        out=tmp_path,
    )
    assert result.returncode == 0, explain(result, tmp_path)
    assert "RESULT: PASS" in result.stdout
    report = json.loads((tmp_path / "gate.json").read_text())
    assert report["passed"] is True
    assert report["measurement"]["endpoints"][EXERCISED[profile]]["requests"] > 0
    assert report["measurement"]["violations"] == {}
    for artefact in ("locust_stats.csv", "locust_failures.csv", "report.html", "gate.txt"):
        assert (tmp_path / artefact).is_file(), artefact


def test_gate_fails_on_multi_decode_and_names_auth_1(tmp_path):
    result = run_load(
        "auth_read",
        "--sut-env",
        "REFERENCE_DEFECTS=multi-decode",
        "--users",
        "2",
        "--spawn-rate",
        "2",
        "--duration",
        "3",
        out=tmp_path,
    )
    assert result.returncode == 1, explain(result, tmp_path)
    assert "AUTH-1" in result.stdout and "RESULT: FAIL (AUTH-1)" in result.stdout
    report = json.loads((tmp_path / "gate.json").read_text())
    assert report["failed_requirements"] == ["AUTH-1"]
    assert any(name.startswith("AUTH-1 ") for name in report["measurement"]["violations"])
    assert "X-Debug-JWT-Decodes" in (tmp_path / "violations.txt").read_text()


def test_external_target_without_an_otp_source_is_refused_before_any_load(embedded_sut, tmp_path):
    result = run_load("auth_read", "--base-url", embedded_sut.base_url, "--duration", "1", out=tmp_path)
    assert result.returncode == 2
    assert "cannot provision accounts" in result.stderr and "--fixed-otp" in result.stderr
    assert not (tmp_path / "locust.log").exists()
