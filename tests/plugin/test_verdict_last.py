"""The run ends with the requirement table and one verdict line; the table's reasons are cut at a word; a
requirement with more failures than the reports keep says how many are shown."""

from __future__ import annotations

import re

HEADER = """
import pytest
from conformance.outcomes import Violation
"""

FAILING = (
    HEADER
    + """
@pytest.mark.requirement("ENV-7")
def test_failure_not_success():
    raise Violation("ENV-7", expected="status >= 400", actual="200 with success false")

@pytest.mark.requirement("ENV-1")
def test_ok():
    pass
"""
)


def _non_empty(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip()]


def test_a_failing_run_ends_with_the_table_then_the_verdict_line(run):
    result, report = run(FAILING, "-rf")
    assert result.ret == 1
    lines = _non_empty(result.stdout.str())
    counts = {v: n for v, n in report["summary"].items() if n}
    assert lines[-1] == (
        f"conformance: FAIL — {counts['fail']} fail, {counts['pass']} pass, {counts['not run']} not run (exit 1)"
    )
    # pytest's FAILED list (-rf still works) and its counts line come before the table, not after it.
    failed_at = next(i for i, line in enumerate(lines) if line.startswith("FAILED test_suite.py::test_failure"))
    counts_at = next(i for i, line in enumerate(lines) if re.search(r"=+ 1 failed, 1 passed", line))
    table_at = next(i for i, line in enumerate(lines) if "= requirements =" in line)
    assert failed_at < counts_at < table_at < len(lines) - 1
    assert lines[-2].startswith("conformance report written to")


def test_a_passing_run_ends_with_the_pass_line(run):
    result, _ = run(
        HEADER
        + """
@pytest.mark.requirement("ENV-1")
def test_ok():
    pass
"""
    )
    assert result.ret == 0
    last = _non_empty(result.stdout.str())[-1]
    assert last.startswith("conformance: PASS — 1 pass, ") and last.endswith(" not run (exit 0)")


def test_a_run_without_requirement_tests_has_no_verdict_line(run):
    result, _ = run("def test_plain():\n    pass\n")
    assert "conformance:" not in result.stdout.str().split("passed", 1)[1]


def test_the_table_cuts_a_long_reason_at_a_word_and_the_report_keeps_it_whole(run):
    url = "https://example.test/a/very/long/path/that/must/not/be/cut/in/the/middle/" + "x" * 40
    actual = "the answer " + "pointed elsewhere " * 5 + url + " and more words after it"
    result, report = run(
        HEADER
        + f"""
@pytest.mark.requirement("ENV-7")
def test_long():
    raise Violation("ENV-7", expected="an error status", actual={actual!r})
"""
    )
    row = next(line for line in result.stdout.lines if line.startswith("ENV-7    MUST"))
    assert row.endswith("…")
    assert url not in row and url[:30] not in row, "the URL is left out whole, not cut in the middle"
    assert url in report["requirements"]["ENV-7"]["first_failure"]


def test_cut_at_word():
    from conformance.report import cut_at_word

    assert cut_at_word("short text", 20) == "short text"
    assert cut_at_word("one two three four", 12) == "one two…"
    assert cut_at_word("x" * 30, 10) == "x" * 9 + "…"  # one long word: cut where it must


def test_more_failures_than_kept_say_how_many_are_shown(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("ENV-3")
@pytest.mark.parametrize("n", range(25))
def test_codes(n):
    raise Violation("ENV-3", expected="404", actual=f"500 ({n})")
"""
    )
    entry = report["requirements"]["ENV-3"]
    assert len(entry["failures"]) == 20
    assert entry["failures_total"] == 25
    assert entry["failures_note"] == "20 of 25 shown"


def test_the_verdict_line_says_pass_fail_interrupted_and_the_exit_code():
    from conformance.outcomes import Verdict
    from conformance.report import verdict_line

    verdicts = {
        "ENV-1": (Verdict.PASS, None),
        "ENV-3": (Verdict.FAIL, None),
        "REV-4": (Verdict.NOT_RUN, "x"),
        "HDR-2": (Verdict.WARN, None),
        "ENV-7": (Verdict.FAIL, None),
    }
    assert verdict_line(verdicts, 1) == "conformance: FAIL — 2 fail, 1 warn, 1 pass, 1 not run (exit 1)"
    assert verdict_line(verdicts, 2).startswith("conformance: interrupted — 2 fail")
    assert verdict_line({"ENV-1": (Verdict.PASS, None)}, 0) == "conformance: PASS — 1 pass (exit 0)"
