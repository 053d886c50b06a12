"""pytest -n 2 on the managed reference: one SUT for all workers, and the same verdicts as a serial run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conformance.sut.process import run_bounded

REPO = Path(__file__).resolve().parents[2]
SELECTION = "ENV-1,ENV-3,RID-*,AUTH-1,AUTH-4,HDR-*,LOG-*,DATA-4,REV-3"


def harness(tmp_path: Path, name: str, *args: str) -> tuple[dict, int]:
    starts = tmp_path / f"{name}-starts.txt"
    report = tmp_path / f"{name}.json"
    sut = (
        f"sh -c 'echo started >> {starts}; exec {{python}} -m reference serve --host {{host}} --port {{port}} "
        "--data-dir {data_dir}'"
    )
    seed = "{python} -m reference seed-user --email {email} --password-stdin --data-dir {data_dir} --plan {plan} --role {role}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    done = run_bounded(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--sut-cmd={sut}",
            f"--seed-cmd={seed}",
            f"--requirements={SELECTION}",
            f"--conformance-report={report}",
            "--startup-timeout=60",
            *args,
        ],
        timeout=500,
        env=env,
        cwd=REPO,
    )
    assert report.exists(), done.output[-3000:]
    return json.loads(report.read_text()), len(starts.read_text().splitlines())


@pytest.mark.timeout(900)
def test_two_workers_share_one_sut_and_reach_the_serial_verdicts(tmp_path):
    parallel, parallel_starts = harness(tmp_path, "parallel", "-n", "2")
    serial, serial_starts = harness(tmp_path, "serial")
    # REV-3 restarts the SUT once in both runs (the restart test is exclusive: nothing else runs meanwhile).
    assert parallel_starts == serial_starts == 2, "one SUT (and its one restart), not one per worker"
    assert parallel["usage"]["workers"] == 2
    verdicts = {rid: e["verdict"] for rid, e in parallel["requirements"].items()}
    assert verdicts == {rid: e["verdict"] for rid, e in serial["requirements"].items()}
    # The one difference allowed: the end-of-run re-check of the ledger needs a run without -n (a partial pass).
    differing = {
        rid for rid, e in parallel["requirements"].items() if e["reason"] != serial["requirements"][rid]["reason"]
    }
    assert all("without -n" in (parallel["requirements"][rid]["reason"] or "") for rid in differing), differing
    assert parallel["exit_status"] == serial["exit_status"] == 0


OUTCOMES_SUITE = """
import pytest
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, NotRun, Violation

@pytest.mark.requirement("RID-1")
def test_header(api):
    exchange = api.record(Exchange.build("GET", "http://sut/health", 200, response_headers={"x-request-id": "r-7"}))
    raise Violation("RID-1", expected="a X-Request-ID header", actual="none\\nHint: not a hint", exchange=exchange,
                    hint="set it in a middleware")

@pytest.mark.requirement("RID-2")
def test_propagation():
    raise NotApplicable("nothing to compare", blocked_by="RID-1")

@pytest.mark.requirement("REV-3")
def test_restart():
    raise Inconclusive("positive control failed")

@pytest.mark.requirement("REV-4")
def test_peer():
    raise NotRun("no second instance", option="--peer-url")

@pytest.mark.requirement("AUTH-4")
def test_challenge():
    raise Violation("AUTH-4", expected="WWW-Authenticate: Bearer", actual="no header")

@pytest.mark.requirement("ENV-1")
def test_plain_skip():
    pytest.skip("blocked by RID-1: only words")
"""


@pytest.mark.timeout(300)
def test_outcomes_and_violation_fields_cross_from_the_workers_as_data(run):
    """Under -n 2 the controller's report has the workers' outcomes: verdicts, reasons, blockers, violation fields."""
    result, report = run(OUTCOMES_SUITE, "-n", "2")
    assert report["usage"]["workers"] == 2, "the tests ran on workers"
    entries = report["requirements"]
    verdicts = {
        rid: (entries[rid]["verdict"], entries[rid]["reason"])
        for rid in ("RID-1", "RID-2", "REV-3", "REV-4", "AUTH-4", "ENV-1")
    }
    assert verdicts == {
        "RID-1": ("fail", None),
        "RID-2": ("blocked", "blocked by RID-1: nothing to compare"),
        "REV-3": ("inconclusive", "positive control failed"),
        "REV-4": ("not run", "no second instance (enable with --peer-url)"),
        "AUTH-4": ("warn", None),
        "ENV-1": ("not run", "blocked by RID-1: only words"),
    }
    assert entries["RID-2"]["blocked_by"] == ["RID-1"]
    (violation,) = entries["RID-1"]["failures"][0]["violations"]
    assert {key: violation[key] for key in ("requirement", "expected", "actual", "hint", "exchange", "request_id")} == {
        "requirement": "RID-1",
        "expected": "a X-Request-ID header",
        "actual": "none\nHint: not a hint",
        "hint": "set it in a middleware",
        "exchange": "GET http://sut/health",
        "request_id": "r-7",
    }
    assert violation["reproduce"] == "curl -i -X GET http://sut/health"
    assert entries["AUTH-4"]["failures"][0]["violations"][0]["actual"] == "no header"
