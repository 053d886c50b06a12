"""The baseline workflow of issue 12, as a team runs it: the one command, from an empty directory outside the
project, a profile given with a space, against the managed reference with defects switched on."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from conformance.sut.process import run_bounded

SELECTION = "ENV-3,AUTH-3,HDR-1"


def one_command(workdir: Path, *args: str):
    script = shutil.which("heallog-conformance", path=str(Path(sys.executable).parent))
    assert script, "the console script is installed with the package"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    return run_bounded(
        [script, f"--requirements={SELECTION}", "--startup-timeout=60", *args], timeout=400, env=env, cwd=workdir
    )


@pytest.mark.timeout(1500)
def test_write_a_baseline_then_known_then_new_then_fixed(tmp_path):
    elsewhere, workdir = tmp_path / "config", tmp_path / "empty"
    elsewhere.mkdir()
    workdir.mkdir()
    profile = elsewhere / "p.toml"
    profile.write_text('[profile]\nname = "heallog"\n')
    common = ["--profile", str(profile), "--conformance-report=r.json"]

    written = one_command(
        workdir, *common, "--sut-env", "REFERENCE_DEFECTS=generic-codes", "--baseline-update", "--baseline", "b.json"
    )
    entries = json.loads((workdir / "b.json").read_text())["accepted"]
    assert written.returncode == 0 and entries, written.output[-2000:]
    assert {e["requirement"] for e in entries} <= {"ENV-3", "AUTH-3"}
    assert f"baseline written to b.json: {len(entries)} entr" in written.output
    assert "not in the baseline" not in written.output

    known = one_command(workdir, *common, "--sut-env", "REFERENCE_DEFECTS=generic-codes", "--baseline", "b.json")
    report = json.loads((workdir / "r.json").read_text())
    assert known.returncode == 0, known.output[-2000:]
    assert "still carry the placeholder reason" in known.output, "the reasons to fill in are not forgotten"
    assert report["requirements"]["ENV-3"]["verdict"] == "known" and report["baseline"]["new"] == []

    more = one_command(
        workdir, *common, "--sut-env", "REFERENCE_DEFECTS=generic-codes,headers-success-only", "--baseline", "b.json"
    )
    report = json.loads((workdir / "r.json").read_text())
    assert more.returncode == 1
    assert {e["requirement"] for e in report["baseline"]["new"]} == {"HDR-1"}, "only the new failures"
    assert "failure(s) not in the baseline" in more.output and '"requirement": "HDR-1"' in more.output

    fixed = one_command(workdir, *common, "--baseline", "b.json")
    report = json.loads((workdir / "r.json").read_text())
    assert fixed.returncode == 0
    assert report["requirements"]["ENV-3"]["verdict"] == "fixed" and report["baseline"]["fixed"]
    assert sorted(p.name for p in workdir.iterdir()) == ["b.json", "r.json"], "nothing else in the user's directory"
