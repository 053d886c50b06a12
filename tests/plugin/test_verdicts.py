"""Test outcomes become requirement verdicts, terminal lines and the exit code."""

from __future__ import annotations

import pytest

from conformance.report import NOTHING_JUDGED

HEADER = """
import pytest
from conformance.outcomes import Inconclusive, NotApplicable, NotRun, Violation
"""


def test_passing_test_gives_pass_and_exit_0(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("ENV-1")
def test_ok():
    pass
"""
    )
    assert result.ret == 0
    assert report["requirements"]["ENV-1"]["verdict"] == "pass"
    assert report["requirements"]["ENV-1"]["tests"] == ["test_suite.py::test_ok"]


def test_must_violation_fails_only_the_violated_requirement(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("ENV-1", "ENV-3")
def test_codes():
    raise Violation("ENV-3", expected="404 with code NOT_FOUND", actual="404 with code UNKNOWN")
"""
    )
    assert result.ret == 1
    result.assert_outcomes(failed=1)
    env3 = report["requirements"]["ENV-3"]
    assert env3["verdict"] == "fail"
    assert env3["first_failure"].startswith("ENV-3  Status and code per the table")
    assert "Actual: 404 with code UNKNOWN" in env3["first_failure"]
    assert report["requirements"]["ENV-1"]["verdict"] == "not run"


def test_other_errors_fail_every_requirement_of_the_test(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("ENV-1", "ENV-3")
def test_broken():
    raise RuntimeError("boom")
"""
    )
    assert result.ret == 1
    assert report["requirements"]["ENV-1"]["verdict"] == "fail"
    assert report["requirements"]["ENV-3"]["verdict"] == "fail"
    assert report["requirements"]["ENV-1"]["first_failure"] == "RuntimeError: boom"


def test_not_run_is_a_skip_naming_the_option_and_never_a_pass(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("REV-4")
def test_peer():
    raise NotRun("no second instance", option="--peer-url")
""",
        "-rs",
    )
    assert result.ret == NOTHING_JUDGED, "a run that judged nothing is no success"
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*not run: no second instance (enable with --peer-url)*"])
    rev4 = report["requirements"]["REV-4"]
    assert (rev4["verdict"], rev4["reason"]) == ("not run", "no second instance (enable with --peer-url)")


def test_not_run_from_a_fixture_is_reported_as_not_run(run):
    result, report = run(
        HEADER
        + """
@pytest.fixture(scope="session")
def admin():
    raise NotRun("no privileged account", option="--accounts")

@pytest.mark.requirement("AUTH-3")
def test_admin(admin):
    pass
"""
    )
    assert result.ret == NOTHING_JUDGED
    assert report["requirements"]["AUTH-3"]["verdict"] == "not run"
    assert "--accounts" in report["requirements"]["AUTH-3"]["reason"]


def test_inconclusive_must_fails_the_run_although_pytest_counts_a_skip(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("REV-3")
def test_restart():
    raise Inconclusive("positive control failed: an unrevoked token was rejected after the restart")
""",
        "-rs",
    )
    result.assert_outcomes(skipped=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*inconclusive: positive control failed*"])
    assert report["requirements"]["REV-3"]["verdict"] == "inconclusive"
    assert report["requirements"]["REV-3"]["reason"].startswith("positive control failed")
    assert report["exit_status"] == 1


def test_inconclusive_should_does_not_fail_the_run(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("AUTH-4")
def test_challenge():
    raise Inconclusive("could not provoke a 401")

@pytest.mark.requirement("AUTH-5")
def test_judged():
    pass
"""
    )
    assert result.ret == 0
    assert report["requirements"]["AUTH-4"]["verdict"] == "inconclusive"


SHOULD_VIOLATION = (
    HEADER
    + """
@pytest.mark.requirement("AUTH-4")
def test_challenge():
    raise Violation("AUTH-4", expected="WWW-Authenticate: Bearer", actual="no WWW-Authenticate header")
"""
)


def test_should_violation_is_a_warning_shown_as_xfail(run):
    result, report = run(SHOULD_VIOLATION, "-rx")
    assert result.ret == 0
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(["*warn: AUTH-4*"])
    assert report["requirements"]["AUTH-4"]["verdict"] == "warn"
    assert "no WWW-Authenticate header" in report["requirements"]["AUTH-4"]["first_failure"]


@pytest.mark.parametrize("flag", ["--conformance-strict", "--strict"])
def test_should_violation_fails_under_strict(run, flag):
    result, report = run(SHOULD_VIOLATION, flag)
    assert result.ret == 1
    result.assert_outcomes(failed=1)
    assert report["requirements"]["AUTH-4"]["verdict"] == "fail"
    assert report["strict"] is True


def test_requirement_verdict_is_the_worst_of_its_tests(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("ENV-2")
def test_a():
    pass

@pytest.mark.requirement("ENV-2")
def test_b():
    raise NotRun("no admin", option="--accounts")

@pytest.mark.requirement("ENV-4")
def test_c():
    raise NotRun("no admin", option="--accounts")

@pytest.mark.requirement("ENV-4")
def test_d():
    raise Inconclusive("control failed")

@pytest.mark.requirement("ENV-5")
def test_e():
    raise Inconclusive("control failed")

@pytest.mark.requirement("ENV-5")
def test_f():
    raise Violation("ENV-5", expected="field", actual="none")
"""
    )
    verdicts = {rid: (r["verdict"], r["reason"]) for rid, r in report["requirements"].items()}
    assert verdicts["ENV-2"] == ("pass", "partial: 1 of 2 tests not run: no admin (enable with --accounts)")
    assert verdicts["ENV-4"] == ("inconclusive", "control failed")
    assert verdicts["ENV-5"][0] == "fail"
    assert verdicts["ENV-6"] == ("not run", "no test in this run")
    assert report["summary"]["pass"] == 1 and report["summary"]["fail"] == 1
    assert result.ret == 1


def test_exception_group_of_violations_fails_each_named_requirement(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("ENV-1", "RID-1", "HDR-1")
def test_every_response():
    raise ExceptionGroup("2 violations", [
        Violation("ENV-1", expected="envelope", actual="html"),
        Violation("RID-1", expected="X-Request-ID", actual="none"),
    ])
"""
    )
    assert result.ret == 1
    verdicts = {rid: r["verdict"] for rid, r in report["requirements"].items()}
    assert (verdicts["ENV-1"], verdicts["RID-1"], verdicts["HDR-1"]) == ("fail", "fail", "not run")


def test_violation_beside_not_run_still_fails_only_its_requirement(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("HDR-1", "HDR-3")
def test_headers():
    raise ExceptionGroup("mixed", [
        NotRun("no admin", option="--accounts"),
        Violation("HDR-3", expected="a", actual="b"),
    ])
"""
    )
    assert result.ret == 1
    verdicts = {rid: r["verdict"] for rid, r in report["requirements"].items()}
    assert (verdicts["HDR-1"], verdicts["HDR-3"]) == ("not run", "fail")


def test_terminal_table_lists_every_requirement(run):
    result, _ = run(
        HEADER
        + """
@pytest.mark.requirement("ENV-7")
def test_failure_not_success():
    raise Violation("ENV-7", expected="status >= 400", actual="200 with success false")
"""
    )
    result.stdout.fnmatch_lines(
        [
            "*= requirements =*",
            "ID*level*verdict*tests*first failure / reason",
            "ENV-1*MUST*not run*0*no test in this run",
            "ENV-7*MUST*fail*1*Actual: 200 with success false",
            "RID-2*SHOULD*not run*",
        ]
    )


def test_failing_test_shows_its_recorded_exchanges_with_secrets_masked(run):
    result, _ = run(
        HEADER
        + """
from conformance.exchange import Exchange

@pytest.mark.requirement("ENV-1")
def test_envelope(api):
    exchange = api.record(Exchange.build(
        "POST", "http://sut/api/auth/login", 500,
        request_headers={"Authorization": "Bearer abc.def.ghi"},
        request_body=b"username=a%40b.c&password=Sup3r!secret",
        response_headers={"content-type": "text/html", "x-request-id": "r-1"},
        response_body="<html>Internal Server Error</html>",
    ))
    raise Violation("ENV-1", expected="the envelope", actual="one of several requests failed")
"""
    )
    assert result.ret == 1
    out = result.stdout.str()
    assert "recorded exchanges (latest last)" in out
    section = out.split("recorded exchanges (latest last)", 1)[1].split("= requirements =", 1)[0]
    assert "< 500" in section and "x-request-id: r-1" in section
    assert "Bearer ${TOKEN}" in section and "password=${PASSWORD}" in section
    assert "abc.def.ghi" not in section and "Sup3r!secret" not in section


def test_a_check_blocked_by_another_requirements_failure_is_blocked_and_names_it(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("RID-1")
def test_header():
    raise Violation("RID-1", expected="a X-Request-ID header", actual="none")

@pytest.mark.requirement("RID-2")
def test_propagation():
    raise NotApplicable("no X-Request-ID in the response", blocked_by="RID-1")
""",
        "-rs",
        "--tb=long",
    )
    assert result.ret == 1
    rid2 = report["requirements"]["RID-2"]
    assert rid2["verdict"] == "blocked"
    assert rid2["reason"] == "blocked by RID-1: no X-Request-ID in the response"
    out = result.stdout.str()
    assert "NotApplicable" not in out and "Traceback" not in out, "a check that does not apply is no traceback"


def test_a_blocked_check_whose_blocker_passed_is_inconclusive(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("RID-1")
def test_header():
    pass

@pytest.mark.requirement("RID-2")
def test_propagation():
    raise NotApplicable("no X-Request-ID in the response", blocked_by="RID-1")
"""
    )
    rid2 = report["requirements"]["RID-2"]
    assert rid2["verdict"] == "inconclusive" and "RID-1 did not fail" in rid2["reason"]
    assert result.ret == 0, "RID-2 is a SHOULD"


def test_not_applicable_raised_anywhere_is_neither_a_failure_nor_a_pass(run):
    result, report = run(
        HEADER
        + """
@pytest.fixture
def nothing():
    raise NotApplicable("the SUT has no such answer")

@pytest.mark.requirement("ENV-6")
def test_leaks(nothing):
    pass

@pytest.mark.requirement("ENV-4")
def test_ok():
    pass

@pytest.mark.requirement("ENV-4")
def test_na():
    raise NotApplicable("no 404 here")
"""
    )
    assert result.ret == 0
    assert (report["requirements"]["ENV-6"]["verdict"], report["requirements"]["ENV-6"]["reason"]) == (
        "not applicable",
        "the SUT has no such answer",
    )
    env4 = report["requirements"]["ENV-4"]
    assert env4["verdict"] == "pass" and env4["reason"] == "partial: 1 of 2 tests not applicable: no 404 here"


# -- outcomes travel as data: nothing reads a reason or a rendering back ------------------------------
@pytest.mark.parametrize(
    "reason",
    [
        "blocked by RID-1: looks like a blocker",
        "inconclusive: looks inconclusive",
        "not applicable: looks not applicable",
        "warn: looks like a warning",
    ],
)
def test_a_plain_skip_is_not_run_whatever_its_reason_says(run, reason):
    """A skip reason is text for people: one that reads like a harness outcome does not become that outcome."""
    result, report = run(
        HEADER
        + f"""
@pytest.mark.requirement("RID-1")
def test_header():
    raise Violation("RID-1", expected="a X-Request-ID header", actual="none")

@pytest.mark.requirement("RID-2")
def test_skipped():
    pytest.skip({reason!r})

@pytest.mark.requirement("ENV-4")
@pytest.mark.xfail(reason={reason!r})
def test_expected_to_fail():
    assert False
"""
    )
    rid2, env4 = report["requirements"]["RID-2"], report["requirements"]["ENV-4"]
    assert (rid2["verdict"], rid2["reason"]) == ("not run", reason)
    assert (env4["verdict"], env4["reason"]) == ("not run", f"xfail: {reason}")
    assert rid2["blocked_by"] == []


def test_a_blocked_test_names_its_blockers_as_data(run):
    result, report = run(
        HEADER
        + """
@pytest.mark.requirement("RID-1", "ENV-1")
def test_header():
    raise ExceptionGroup("two", [Violation("RID-1", expected="a X-Request-ID header", actual="none"),
                                 Violation("ENV-1", expected="the envelope", actual="html")])

@pytest.mark.requirement("RID-2")
def test_propagation():
    raise NotApplicable("nothing to compare: the reason may say anything, blocked by NOPE-1: even this",
                        blocked_by=("RID-1", "ENV-1"))
"""
    )
    rid2 = report["requirements"]["RID-2"]
    assert rid2["verdict"] == "blocked" and rid2["blocked_by"] == ["RID-1", "ENV-1"]
    assert (
        rid2["reason"] == "blocked by RID-1, ENV-1: nothing to compare: the reason may say anything, "
        "blocked by NOPE-1: even this"
    )
    env1 = report["requirements"]["ENV-1"]["failures"][0]
    assert [v["requirement"] for v in env1["violations"]] == ["ENV-1"], "each requirement keeps its own violations"
    assert env1["message"].startswith("ENV-1  ") and "RID-1" not in env1["message"]


TRICKY_ACTUAL = "the body said:\nHint: x\nExpected: y\n  Reproduce: not a command"


def test_a_violations_fields_reach_every_rendering_as_fields(run, pytester):
    """An Actual that holds lines looking like other labels stays one Actual (a regex over the text split it)."""
    from html.parser import HTMLParser

    from conformance.render.markdown import render_summary

    html_path = pytester.path / "report.html"
    result, report = run(
        HEADER
        + f"""
from conformance.exchange import Exchange

@pytest.mark.requirement("ENV-3")
def test_codes(api):
    exchange = api.record(Exchange.build("GET", "http://sut/api/patients/x", 404,
                                         response_headers={{"content-type": "application/json", "x-request-id": "r-9"}},
                                         response_body={{"success": False}}))
    raise Violation("ENV-3", expected="404 with code NOT_FOUND", actual={TRICKY_ACTUAL!r}, exchange=exchange,
                    hint="the real hint")
""",
        f"--conformance-html={html_path}",
    )
    assert result.ret == 1
    failure = report["requirements"]["ENV-3"]["failures"][0]
    (violation,) = failure["violations"]
    assert violation["actual"] == TRICKY_ACTUAL and violation["expected"] == "404 with code NOT_FOUND"
    assert (violation["hint"], violation["exchange"], violation["request_id"]) == (
        "the real hint",
        "GET http://sut/api/patients/x",
        "r-9",
    )
    assert violation["reproduce"].startswith("curl -i -X GET") and violation["response"]["status"] == 404
    assert failure["test"] == "test_suite.py::test_codes" and failure["message"].startswith("ENV-3  ")

    class Parts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[list[str]] = []
            self.tag = ""

        def handle_starttag(self, tag, attrs):
            self.tag = tag
            if tag == "dt":
                self.parts.append([])

        def handle_endtag(self, tag):
            self.tag = ""

        def handle_data(self, data):
            if self.parts and self.tag in ("dt", "dd", "pre"):
                self.parts[-1].append(data)

    page = Parts()
    page.feed(html_path.read_text())
    shown = {texts[0]: "".join(texts[1:]) for texts in page.parts}
    assert list(shown) == ["Expected", "Actual", "Response", "Reproduce", "Hint"]
    assert shown["Actual"] == TRICKY_ACTUAL and shown["Expected"] == "404 with code NOT_FOUND"
    assert shown["Hint"] == "the real hint" and shown["Reproduce"].startswith("curl -i -X GET")
    assert "x-request-id: r-9" in shown["Response"]
    result.stdout.fnmatch_lines(["ENV-3*MUST*fail*1*Actual: the body said:"])
    summary = render_summary(report)
    assert "| Actual: the body said: |" in summary and "    Actual: the body said:\nHint: x\nExpected: y" in summary


def test_the_data_the_reports_read_is_redacted_like_the_texts_were(run, pytester):
    """A reason and a violation's fields carry no registered secret to any rendering (the skip text was redacted)."""
    html, summary = pytester.path / "r.html", pytester.path / "summary.md"
    result, report = run(
        HEADER
        + """
from conformance import redaction

SECRET = "Pw-Zq8#kP2-only-in-this-reason"

@pytest.mark.requirement("REV-3")
def test_restart():
    redaction.register(SECRET, "password")
    raise Inconclusive(f"the control account {SECRET} was refused")

@pytest.mark.requirement("ENV-3")
def test_codes():
    redaction.register(SECRET, "password")
    raise Violation("ENV-3", expected="no echo", actual=f"echoed {SECRET}", hint=f"do not echo {SECRET}")
""",
        f"--conformance-html={html}",
        f"--conformance-summary={summary}",
    )
    assert report["requirements"]["REV-3"]["reason"] == "the control account *** was refused"
    assert report["requirements"]["ENV-3"]["failures"][0]["violations"][0]["actual"] == "echoed ***"
    for text in (result.stdout.str(), html.read_text(), summary.read_text()):
        assert "Pw-Zq8#kP2-only-in-this-reason" not in text and "the control account *** was refused" in text


def test_a_group_of_failures_raised_on_one_line_is_shown_whole_and_redacted(run):
    """Another plugin's exception hook (schemathesis') rewrote such a failure: one of two Violations, secrets raw."""
    result, _ = run(
        HEADER
        + """
from conformance import redaction

@pytest.mark.requirement("ENV-1", "RID-1")
def test_every_response():
    raise ExceptionGroup("two", [Violation(rid, expected="x", actual=f"wrong {rid}") for rid in ("ENV-1", "RID-1")])

@pytest.mark.requirement("ENV-3")
def test_checks():
    redaction.register("Pw-Zq8#kP2-in-a-group", "password")
    errors = []
    for n in range(2):
        try:
            assert n == 5, "the body echoed Pw-Zq8#kP2-in-a-group"
        except AssertionError as exc:
            errors.append(exc)
    raise ExceptionGroup("checks", errors)
"""
    )
    out = result.stdout.str()
    assert "\n  Expected: x\n    Actual: wrong ENV-1\n" in out and "\n  Expected: x\n    Actual: wrong RID-1\n" in out
    assert "Pw-Zq8#kP2-in-a-group" not in out and out.count("AssertionError: the body echoed ***") == 2
