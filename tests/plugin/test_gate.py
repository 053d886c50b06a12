"""The gate policy: baseline (known, new, expired, fixed), nothing judged, --conformance-require-all,
SHOULD clauses of MUST requirements, and what a failure prints."""

from __future__ import annotations

import json

from conformance.report import NOTHING_JUDGED

FAILING = """
import pytest
from conformance.outcomes import Violation, NotRun, should_clause

@pytest.mark.requirement("ENV-3")
def test_codes():
    raise Violation("ENV-3", expected="404 with code NOT_FOUND", actual="404 with code UNKNOWN_ERROR")

@pytest.mark.requirement("RID-1")
def test_ids():
    pass
"""
ANOTHER_FAILURE = """
@pytest.mark.requirement("HDR-1")
def test_headers():
    raise Violation("HDR-1", expected="nosniff", actual="missing")
"""


def test_the_baseline_workflow_known_then_new_then_fixed(run, pytester):
    path = pytester.path / "b.json"
    result, report = run(FAILING, f"--baseline={path}", "--baseline-update")
    written = json.loads(path.read_text())["accepted"]
    assert [(e["requirement"], e["test"]) for e in written] == [("ENV-3", "test_suite.py::test_codes")]
    assert result.ret == 0, "the run that writes the baseline is judged against it"
    assert report["requirements"]["ENV-3"]["verdict"] == "known" and report["baseline"]["known"][0]["new"] is True
    result.stdout.fnmatch_lines(
        [
            f"baseline written to {path}: 1 entry (1 new, 0 fixed one(s) dropped)",
            '  new: {"requirement": "ENV-3", "test": "test_suite.py::test_codes"*',
        ]
    )
    assert "not in the baseline" not in result.stdout.str()

    result, report = run(FAILING, f"--baseline={path}")
    assert result.ret == 0 and report["requirements"]["ENV-3"]["verdict"] == "known"
    assert report["baseline"]["known"][0]["test"] == "test_suite.py::test_codes"
    result.stdout.fnmatch_lines(["warning: 1 baseline entr(y/ies) in * still carry the placeholder reason*"])

    result, report = run(FAILING + ANOTHER_FAILURE, f"--baseline={path}")
    assert result.ret == 1
    assert (
        report["requirements"]["HDR-1"]["verdict"] == "fail" and report["requirements"]["ENV-3"]["verdict"] == "known"
    )
    result.stdout.fnmatch_lines(
        ["*1 failure(s) not in the baseline*", '*{"requirement": "HDR-1", "test": "test_suite.py::test_headers"*']
    )

    fixed = FAILING.replace(
        'raise Violation("ENV-3", expected="404 with code NOT_FOUND", actual="404 with code UNKNOWN_ERROR")', "pass"
    )
    result, report = run(fixed, f"--baseline={path}")
    assert result.ret == 0 and report["requirements"]["ENV-3"]["verdict"] == "fixed"
    assert report["baseline"]["fixed"][0]["requirement"] == "ENV-3"
    result, _ = run(fixed, f"--baseline={path}", "--conformance-strict")
    assert result.ret == 1, "under strict, a fixed entry fails the run so the file shrinks"


def test_an_expired_baseline_entry_fails_the_run(run, pytester):
    path = pytester.path / "b.json"
    path.write_text(json.dumps({"accepted": [{"requirement": "ENV-3", "reason": "r", "expires": "2020-01-01"}]}))
    result, report = run(FAILING, f"--baseline={path}")
    assert result.ret == 1 and "expired on 2020-01-01" in report["requirements"]["ENV-3"]["reason"]


def test_a_run_that_judged_nothing_has_its_own_exit_code(run):
    result, report = run("""
import pytest
from conformance.outcomes import NotRun

@pytest.mark.requirement("PERF-1")
def test_load():
    raise NotRun("load is sent only when asked for", option="--load all")
""")
    assert result.ret == NOTHING_JUDGED and report["exit_status"] == NOTHING_JUDGED


def test_require_all_fails_a_run_with_a_must_not_run(run):
    suite = FAILING.replace(
        'raise Violation("ENV-3", expected="404 with code NOT_FOUND", actual="404 with code UNKNOWN_ERROR")',
        'raise NotRun("no admin", option="--accounts")',
    )
    assert run(suite)[0].ret == 0
    assert run(suite, "--conformance-require-all")[0].ret == 1


def test_a_should_clause_of_a_must_requirement_warns_and_fails_only_under_strict(run):
    suite = """
import pytest
from conformance.outcomes import Violation, should_clause

@pytest.mark.requirement("REV-2")
def test_rotation():
    should_clause(lambda: (_ for _ in ()).throw(Violation("REV-2", expected="401 for a reused refresh token",
                                                          actual="200")))
"""
    result, report = run(suite)
    assert result.ret == 0 and report["requirements"]["REV-2"]["verdict"] == "warn"
    assert "[a SHOULD clause of it]" in report["requirements"]["REV-2"]["first_failure"]
    result, report = run(suite, "--conformance-strict")
    assert result.ret == 1 and report["requirements"]["REV-2"]["verdict"] == "fail"


def test_a_failure_prints_its_violation_block_not_the_traceback_unless_asked(run):
    result, _ = run(FAILING)
    out = result.stdout.str()
    assert "Expected: 404 with code NOT_FOUND" in out and "Traceback" not in out and "raise Violation" not in out
    result, _ = run(FAILING, "--tb=long")
    assert "raise Violation" in result.stdout.str(), "--tb still gives everything"


def test_the_table_shows_a_title_beside_each_id(run):
    result, _ = run(FAILING)
    result.stdout.fnmatch_lines(["ENV-3*MUST*fail*1*Status and code per the table*Actual: 404 with code UNKNOWN_ERROR"])


def test_one_run_renders_json_html_summary_and_har_of_the_same_verdicts(run, pytester, monkeypatch):
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    html, har = pytester.path / "r.html", pytester.path / "r.har"
    suite = FAILING.replace(
        "def test_codes():",
        "def test_codes(api):\n    from conformance.exchange import Exchange\n"
        "    api.record(Exchange.build('GET', 'http://sut/health', 200))",
    )
    result, report = run(suite, f"--conformance-html={html}", f"--conformance-har={har}")
    assert result.ret == 1
    page = html.read_text()
    assert "ENV-3" in page and "Status and code per the table" in page and "404 with code UNKNOWN_ERROR" in page
    assert "ENV-3" in summary.read_text() and "</details>" in summary.read_text()
    entries = json.loads(har.read_text())["log"]["entries"]
    assert entries and entries[0]["request"]["url"].endswith("/health")
    assert report["requirements"]["ENV-3"]["failures"][0]["test"] == "test_suite.py::test_codes"
