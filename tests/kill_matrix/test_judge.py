"""The kill matrix's judgements on hand-made reports: each can fail, and says why."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kill_matrix import judge


def report(**verdicts: str | tuple[str, str]) -> dict[str, Any]:
    """A report with the given verdicts (``ENV_1="fail"`` or ``PERF_1=("not run", reason)``); SHOULD if 'RID-2'."""
    entries = {}
    for key, value in verdicts.items():
        rid = key.replace("_", "-")
        verdict, reason = value if isinstance(value, tuple) else (value, None)
        entries[rid] = {
            "level": "SHOULD" if rid == "RID-2" else "MUST",
            "verdict": verdict,
            "reason": reason,
            "first_failure": f"{rid}  broken\n  Expected: x\n    Actual: y" if verdict == "fail" else None,
        }
    return {"requirements": entries}


def test_a_must_is_caught_only_by_fail():
    assert judge.uncaught(report(ENV_3="fail"), ("ENV-3",)) == []
    assert judge.uncaught(report(ENV_3="pass"), ("ENV-3",)) == ["ENV-3 (MUST) is pass, expected fail"]
    assert judge.uncaught(report(ENV_3="warn"), ("ENV-3",)) != []


def test_a_should_is_caught_by_warn():
    assert judge.uncaught(report(RID_2="warn"), ("RID-2",)) == []
    assert judge.uncaught(report(RID_2=("inconclusive", "control failed")), ("RID-2",)) == [
        "RID-2 (SHOULD) is inconclusive (control failed), expected warn or fail"
    ]


def test_blame_outside_the_defects_requirements_is_named():
    run = report(ENV_3="fail", AUTH_3="fail", RID_2="warn", LOCK_1=("inconclusive", "x"), HDR_1="pass")
    assert judge.blamed_elsewhere(run, ("ENV-3",)) == ["AUTH-3", "RID-2"]


def test_clean_run_allows_only_the_named_not_run():
    allowed = {"PERF-1": "(enable with --load"}
    not_asked = ("not run", "not asked for (enable with --load all)")
    assert judge.unclean(report(ENV_1="pass", PERF_1=not_asked), allowed) == {}
    assert list(judge.unclean(report(PERF_1=("not run", "no test in this run")), allowed)) == ["PERF-1"]
    problems = judge.unclean(
        report(ENV_1=("pass", "partial: 1 of 2 tests not run: x"), REV_4=("not run", "y"), PERF_1="pass"), allowed
    )
    assert list(problems) == ["ENV-1", "REV-4", "PERF-1"]


def test_explanation_shows_the_table_and_the_first_failure():
    run = report(
        ENV_3="fail", AUTH_3="fail", HDR_1=("not run", "not selected (--requirements)"), ENV_1="pass", ENV_2="pass"
    )
    text = judge.explain(run, ["AUTH-3 (MUST) is fail"], ["AUTH-3"], own=("ENV-3",), also=("ENV-1",))
    assert "* ENV-3    MUST   fail" in text and "  AUTH-3   MUST   fail" in text
    assert "  pass: ENV-1, ENV-2" in text
    assert "HDR-1" not in text  # unselected rows are noise
    assert "first failure of AUTH-3:\n    AUTH-3  broken\n      Expected: x" in text


def test_problems_fail_the_test_with_the_explanation():
    run = report(ENV_3="pass")
    with pytest.raises(pytest.fail.Exception, match="(?s)defect x:.*- ENV-3 .*is pass"):
        judge.expect_none(judge.uncaught(run, ("ENV-3",)), "defect x:", run, ["ENV-3"], own=("ENV-3",))
    judge.expect_none([], "defect x:", run, ["ENV-3"], own=("ENV-3",))


def test_a_partial_pass_only_for_clauses_without_a_probe_yet_is_clean(monkeypatch):
    monkeypatch.setattr(judge, "KNOWN_GAPS", {"DATA-1/update": "no probe yet", "DATA-1/delete": "no probe yet"})
    known = "partial: 2 of 7 clauses not judged in this run (DATA-1/update, DATA-1/delete)"
    assert judge.beyond_known_gaps(known) is None
    assert judge.beyond_known_gaps(known + "; 1 of 2 tests not run: x") == "partial: 1 of 2 tests not run: x"
    probed = "partial: 1 of 7 clauses not judged in this run (DATA-1/list)"
    assert judge.beyond_known_gaps(probed) == probed
    problems = judge.unclean(report(DATA_1=("pass", known), ENV_1=("pass", probed)), {})
    assert list(problems) == ["ENV-1"]
