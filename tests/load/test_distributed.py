"""Short distributed load runs on loopback: locust's --processes, and --master with a separate --worker.

What must hold whatever the machine's speed: one gate table, printed by the
master; the master's totals are the sum of what every worker says it sent
(the final statistics reached it before it judged); conformance violations
found on the workers fail the master's gate under their requirement's name;
no locust process outlives the run. Nothing here asserts a time or a rate.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import profile as profiles

REPO = Path(__file__).resolve().parents[2]
SMOKE_SLO = Path(__file__).with_name("smoke_slo.toml")
FIXED_OTP = "246810"
RUN_TIMEOUT = 180
GATE_HEADER = "SLO gate for profile"
#: Seconds for an embedded reference to start: several boot at once on a busy two-core machine.
STARTUP_TIMEOUT = 60


@pytest.fixture(scope="module")
def embedded_sut():
    from conformance.sut import TargetSettings, open_target
    from load.runner import load_sut_env

    profile = profiles.load()
    env = {**load_sut_env(profile), "REFERENCE_FIXED_OTP": FIXED_OTP}
    target = open_target(TargetSettings(sut_env=env, startup_timeout=STARTUP_TIMEOUT), profile)
    try:
        yield target
    finally:
        target.close()


def load_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "load", *args]


def load_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def run_load(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    command = load_command(*args, "--slo", str(SMOKE_SLO), "--out", str(out))
    return subprocess.run(command, cwd=REPO, env=load_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)


def explain(result: subprocess.CompletedProcess[str], out: Path) -> str:
    log = out / "locust.log"
    return "\n".join(
        [
            f"exit code {result.returncode}",
            result.stdout[-4000:],
            result.stderr[-2000:],
            log.read_text()[-4000:] if log.exists() else "",
        ]
    )


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_one_master_judged(report: dict, workers: int) -> None:
    """The master's figures are complete: every worker confirmed, and the totals add up."""
    processes = report["processes"]
    assert [p["role"] for p in processes] == ["master"] + ["worker"] * workers
    assert report["complete"] is True
    sent = [p["requests"] for p in processes if p["role"] == "worker"]
    assert all(count > 0 for count in sent), f"every worker ran users: {sent}"
    assert sum(sent) == report["measurement"]["total"]["requests"]
    assert not any(is_alive(p["pid"]) for p in processes), "a locust process outlived the run"


def test_two_forked_workers_pass_the_clean_reference_with_one_gate(embedded_sut, tmp_path):
    result = run_load(
        "auth_read",
        "--base-url",
        embedded_sut.base_url,
        "--fixed-otp",
        FIXED_OTP,
        "--processes",
        "2",
        "--users",
        "4",
        "--spawn-rate",
        "4",
        "--duration",
        "4",
        out=tmp_path,
    )
    assert result.returncode == 0, explain(result, tmp_path)
    assert result.stdout.count(GATE_HEADER) == 1 and "RESULT: PASS" in result.stdout
    assert (tmp_path / "locust.log").read_text().count(GATE_HEADER) == 1, "only the master prints a gate"
    report = json.loads((tmp_path / "gate.json").read_text())
    assert report["passed"] is True and report["measurement"]["violations"] == {}
    assert_one_master_judged(report, workers=2)
    for artefact in ("locust_stats.csv", "report.html", "gate.txt"):
        assert (tmp_path / artefact).is_file(), artefact


def test_two_forked_workers_fail_multi_decode_on_auth_1(tmp_path):
    result = run_load(
        "auth_read",
        "--sut-env",
        "REFERENCE_DEFECTS=multi-decode",
        "--startup-timeout",
        str(STARTUP_TIMEOUT),
        "--processes",
        "2",
        "--users",
        "4",
        "--spawn-rate",
        "4",
        "--duration",
        "4",
        out=tmp_path,
    )
    assert result.returncode == 1, explain(result, tmp_path)
    assert result.stdout.count(GATE_HEADER) == 1 and "RESULT: FAIL (AUTH-1)" in result.stdout
    report = json.loads((tmp_path / "gate.json").read_text())
    assert report["failed_requirements"] == ["AUTH-1"]
    assert_one_master_judged(report, workers=2)
    # The renderings travelled from the workers; the master kept one per kind.
    violations = (tmp_path / "violations.txt").read_text()
    kinds = report["measurement"]["violations"]
    headers = [line for line in violations.splitlines() if line.startswith("AUTH-1  ")]
    assert kinds and len(headers) == len(kinds)
    assert "X-Debug-JWT-Decodes" in violations and "Reproduce: curl" in violations


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_worker_started_separately_gets_its_accounts_from_the_master(embedded_sut, tmp_path):
    """--master and --worker as two commands, the way two machines run them: the worker has no accounts file."""
    port = str(free_port())
    worker_out = tmp_path / "worker"
    worker_out.mkdir()
    master = subprocess.Popen(
        load_command(
            "auth_read",
            "--base-url",
            embedded_sut.base_url,
            "--fixed-otp",
            FIXED_OTP,
            "--master",
            "--expect-workers",
            "1",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "--workers-wait",
            "60",
            "--users",
            "2",
            "--spawn-rate",
            "2",
            "--duration",
            "4",
            "--slo",
            str(SMOKE_SLO),
            "--out",
            str(tmp_path / "master"),
        ),
        cwd=REPO,
        env=load_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker = subprocess.run(
            load_command("auth_read", "--worker", "--master-port", port, "--duration", "4", "--out", str(worker_out)),
            cwd=REPO,
            env=load_env(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        stdout, stderr = master.communicate(timeout=RUN_TIMEOUT)
    finally:
        if master.poll() is None:
            master.kill()
            master.wait()
    assert master.returncode == 0, f"{stdout}\n{stderr}\n{(tmp_path / 'master' / 'locust.log').read_text()[-3000:]}"
    assert worker.returncode == 0, worker.stdout + worker.stderr + (worker_out / "locust.log").read_text()[-3000:]
    assert not list(worker_out.glob("accounts.json")) and not list(worker_out.glob("gate.*"))
    report = json.loads((tmp_path / "master" / "gate.json").read_text())
    assert report["passed"] is True
    assert_one_master_judged(report, workers=1)
    assert report["measurement"]["endpoints"]["GET /api/users/me"]["requests"] > 0
