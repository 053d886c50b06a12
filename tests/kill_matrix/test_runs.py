"""A harness run's command (how it is stopped is ``run_bounded``'s, tested in tests/target/test_process.py)."""

from __future__ import annotations

from tests.kill_matrix.runs import HarnessRun

def test_a_run_names_its_defect_and_scope_and_builds_its_command(tmp_path):
    run = HarnessRun(defect="generic-codes", requirements=("ENV-3", "AUTH-3"), timeout_s=1)
    assert run.name == "generic-codes [ENV-3,AUTH-3]"
    argv = run.argv(tmp_path / "r.json")
    assert argv[1:4] == ["-m", "pytest", "-p"]
    assert ["--sut-env", "REFERENCE_DEFECTS=generic-codes"] == argv[argv.index("--sut-env"):][:2]
    assert "--requirements=ENV-3,AUTH-3" in argv, "path and list options with '=' (never a space: see spaced_options)"
    assert not any(a.startswith("--requirements") for a in HarnessRun(defect=None, requirements=None,
                                                                       timeout_s=1).argv(tmp_path / "r.json"))
    strict = HarnessRun(defect=None, requirements=None, timeout_s=1, variant="strict-limits").argv(tmp_path / "r.json")
    profile = next(a for a in strict if a.startswith("--profile=")).removeprefix("--profile=")
    assert 'login = "5/60"' in open(profile).read()
