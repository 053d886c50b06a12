"""The whole harness against a SUT it was not written for: the stub SUT, which sends no X-Request-ID at all.

RID-1 must fail; RID-2 (propagate or replace an incoming id) has nothing to
judge and is *blocked by RID-1*, with a reason and without a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conformance.sut.health import problem
from conformance.sut.ports import free_port
from conformance.sut.process import ManagedProcess, run_bounded

from .conftest import stub_argv

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def stub_sut(tmp_path):
    import httpx

    port = free_port()
    process = ManagedProcess(stub_argv(port, tmp_path), env=dict(os.environ), log_path=tmp_path / "stub.log", port=port)
    process.start()
    try:
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            url = f"http://127.0.0.1:{port}"
            process.wait_ready(lambda: problem(client, "GET", url + "/health"), timeout=30, what="health")
        yield url
    finally:
        process.stop()


@pytest.mark.timeout(240)
def test_a_sut_without_request_ids_fails_rid1_and_blocks_rid2_without_tracebacks(stub_sut, tmp_path):
    report_path = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    done = run_bounded(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--base-url",
            stub_sut,
            "--requirements",
            "RID-1,RID-2",
            f"--conformance-report={report_path}",
            "-rs",
        ],
        timeout=200,
        env=env,
        cwd=REPO,
    )
    output = done.output
    report = json.loads(report_path.read_text())
    rid1, rid2 = report["requirements"]["RID-1"], report["requirements"]["RID-2"]
    assert rid1["verdict"] == "fail", output[-3000:]
    assert rid2["verdict"] == "blocked" and rid2["reason"].startswith("blocked by RID-1: no X-Request-ID"), rid2
    assert "NotApplicable" not in output
    assert not [
        line for line in output.splitlines() if line.startswith("FAILED") and "request_id_is_propagated" in line
    ]
    assert done.returncode == 1
