"""A target that dies mid-run: one line saying when and after which request, the rest not run, exit 7, a short
output (a staging server killed 20 s into a run gave 35 MUST failures and 17,539 lines, none saying it was gone)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conformance.report import TARGET_GONE
from conformance.sut.health import health_client, problem
from conformance.sut.ports import free_port
from conformance.sut.process import ManagedProcess
from conformance.sut.providers import LocalRedis, local_redis_binary

FIXED_OTP = "135791"


@pytest.fixture
def reference(tmp_path: Path):
    redis = LocalRedis(local_redis_binary() or "redis-server", tmp_path).open()
    port = free_port()
    env = dict(
        os.environ,
        SECRET_KEY="x" * 40,
        REDIS_URL=redis.url,
        REFERENCE_FIXED_OTP=FIXED_OTP,
        DEBUG_JWT_DECODES="1",
        PYTHONUNBUFFERED="1",
    )
    server = ManagedProcess(
        [
            sys.executable,
            "-m",
            "reference",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env,
        log_path=tmp_path / "sut.log",
        port=port,
    )
    server.start()
    url = f"http://127.0.0.1:{port}"
    with health_client(2.0) as client:
        server.wait_ready(lambda: problem(client, "GET", url + "/health"), timeout=60, what="health")
    yield server, url
    server.stop()
    redis.close()


@pytest.mark.timeout(400)
def test_a_target_killed_mid_run_stops_the_run_with_one_line(reference, tmp_path):
    server, url = reference
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    harness = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            f"--base-url={url}",
            f"--fixed-otp={FIXED_OTP}",
            f"--conformance-report={report}",
            "-p",
            "no:randomly",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    killer = threading.Timer(12.0, server.stop)  # well past the preflight, in the middle of the suites
    killer.start()
    try:
        output, _ = harness.communicate(timeout=360)
    finally:
        killer.cancel()
    lines = [line for line in output.splitlines() if line.strip()]
    assert harness.returncode == TARGET_GONE, output[-3000:]
    assert len(lines) <= 60, f"{len(lines)} lines:\n" + "\n".join(lines)
    stopped = [line for line in lines if "the target stopped answering at" in line]
    assert stopped, output[-3000:]
    document = json.loads(report.read_text("utf-8"))
    not_run = [
        rid
        for rid, entry in document["requirements"].items()
        if entry["verdict"] == "not run" and "target unreachable" in (entry.get("reason") or "")
    ]
    assert not_run, document["requirements"]
    failed = [rid for rid, entry in document["requirements"].items() if entry["verdict"] == "fail"]
    assert failed == [], f"nothing is blamed on a target that went away: {failed}"


def test_a_violation_seen_before_the_target_went_stands(monkeypatch):
    """A probe whose own request brings the target down failed first: that verdict is not turned into not run."""
    import types

    from conformance import plugin
    from conformance.outcomes import Violation
    from conformance.wire.target_watch import WATCH

    monkeypatch.setattr(WATCH, "gone", object())
    try:
        raise ExceptionGroup("two", [Violation("ENV-6", expected="no traceback", actual="a traceback"), OSError()])
    except ExceptionGroup as group:
        call = types.SimpleNamespace(excinfo=types.SimpleNamespace(value=group))
    assert plugin._stopped_by_a_gone_target(None, call, None) is False  # type: ignore[arg-type]
