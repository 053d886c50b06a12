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
    sut = (f"sh -c 'echo started >> {starts}; exec {{python}} -m reference serve --host {{host}} --port {{port}} "
           "--data-dir {data_dir}'")  # fmt: skip
    seed = "{python} -m reference seed-user --email {email} --password-stdin --data-dir {data_dir} --plan {plan} --role {role}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    done = run_bounded([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--sut-cmd={sut}",
                        f"--seed-cmd={seed}", f"--requirements={SELECTION}", f"--conformance-report={report}",
                        "--startup-timeout=60", *args], timeout=500, env=env, cwd=REPO)  # fmt: skip
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
    differing = {rid for rid, e in parallel["requirements"].items() if e["reason"] != serial["requirements"][rid]["reason"]}
    assert all("without -n" in (parallel["requirements"][rid]["reason"] or "") for rid in differing), differing
    assert parallel["exit_status"] == serial["exit_status"] == 0
