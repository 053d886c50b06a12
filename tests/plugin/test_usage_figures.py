"""The report's request count is what the SUT was sent: every client of the harness counts, bursts, the
requests that warm their connections, health polls and the surface probe included (a user compares it with
the SUT's access log and its rate-limit allowances)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Loaded into the run with -p: counts every request at the bottom of httpx (httpcore) and of schemathesis
#: (requests), whoever sends it.
WIRE_COUNTER = """
import atexit, json, os
import httpcore, requests.adapters
sent = [0]
def counting(original):
    def handle(self, request, *args, **kwargs):
        sent[0] += 1
        return original(self, request, *args, **kwargs)
    return handle
def async_counting(original):
    async def handle(self, request):
        sent[0] += 1
        return await original(self, request)
    return handle
httpcore.ConnectionPool.handle_request = counting(httpcore.ConnectionPool.handle_request)
httpcore.AsyncConnectionPool.handle_async_request = async_counting(httpcore.AsyncConnectionPool.handle_async_request)
def sut_only(original):
    def send(self, request, *args, **kwargs):
        if request.url.startswith("http://127."):  # not the Docker probe (requests over the engine's socket)
            sent[0] += 1
        return original(self, request, *args, **kwargs)
    return send
requests.adapters.HTTPAdapter.send = sut_only(requests.adapters.HTTPAdapter.send)
atexit.register(lambda: open(os.environ["WIRE_COUNT_FILE"], "w").write(str(sent[0])))
"""


@pytest.mark.timeout(300)
def test_the_reports_request_count_is_every_request_on_the_wire(tmp_path):
    (tmp_path / "wire_counter.py").write_text(WIRE_COUNTER, "utf-8")
    report, count = tmp_path / "report.json", tmp_path / "count"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    env.update(PYTHONPATH=str(tmp_path), WIRE_COUNT_FILE=str(count))
    # Bursts from other source addresses with warmed connections (LOCK-2, RATE-1), a concurrent sample (RID-3),
    # schemathesis (API-1 within 10 s: a smaller budget may reach no operation, inconclusive); the start's health
    # polls and surface probe. (Not REV-3: the restart re-check waits out the ledger's 30 s, and its kept
    # connection is http.client, under neither counter.)
    selection = "--requirements=LOCK-2,RATE-1,RID-3,API-1"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "wire_counter",
            "-p",
            "no:cacheprovider",
            "-q",
            selection,
            "--fuzz-budget=10",
            f"--conformance-report={report}",
            "--startup-timeout=60",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    usage = json.loads(report.read_text("utf-8"))["usage"]
    on_the_wire = int(count.read_text())
    assert usage["requests"] == on_the_wire, (usage, on_the_wire)
