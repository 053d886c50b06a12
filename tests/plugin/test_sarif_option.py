"""``--conformance-sarif FILE``: a run writes its failing requirements as SARIF, like its other reports."""

from __future__ import annotations

import json

from tests.plugin.test_gate import FAILING


def test_a_run_writes_the_sarif_file_it_was_asked_for(run, pytester):
    path = pytester.path / "out" / "conformance.sarif"
    result, report = run(FAILING, f"--conformance-sarif={path}")
    assert result.ret == 1
    log = json.loads(path.read_text("utf-8"))
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["ENV-3"] and results[0]["level"] == "error"
    assert results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "test_suite.py::test_codes"
    assert log["runs"][0]["invocations"][0]["exitCode"] == report["exit_status"] == 1
    result.stdout.fnmatch_lines([f"conformance report written to {path}"])


def test_the_option_has_an_environment_variable(run, pytester, monkeypatch):
    path = pytester.path / "env.sarif"
    monkeypatch.setenv("CONFORMANCE_SARIF", str(path))
    run(FAILING)
    assert json.loads(path.read_text("utf-8"))["version"] == "2.1.0"
