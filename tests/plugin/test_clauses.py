"""The clause marker at collection: validated like requirement IDs, filled from parameters, carried to reports."""

from __future__ import annotations

import pytest


def test_an_unknown_clause_is_a_collection_error_naming_the_nearest(run, fake_target):
    result, _ = run("""
import pytest

@pytest.mark.requirement("DATA-1")
@pytest.mark.clause("DATA-1/updat")
def test_typo():
    pass
""")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_suite.py::test_typo: unknown clause ID 'DATA-1/updat'; did you mean DATA-1/update?*"]
    )
    assert fake_target.calls == []


def test_a_clause_of_a_requirement_the_test_does_not_name_is_a_collection_error(run):
    result, _ = run("""
import pytest

@pytest.mark.requirement("DATA-2")
@pytest.mark.clause("DATA-1/update")
def test_elsewhere():
    pass
""")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*clause 'DATA-1/update' belongs to DATA-1, which the test's requirement marker does not name (DATA-2)*"]
    )


def test_a_placeholder_that_is_no_parameter_is_a_collection_error(run):
    result, _ = run("""
import pytest

@pytest.mark.requirement("AUTH-1")
@pytest.mark.clause("AUTH-1/{guard}-success")
@pytest.mark.parametrize("klass", ["user"])
def test_placeholder(klass):
    pass
""")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*clause 'AUTH-1/{guard}-success': 'guard' is not a parameter of the test*"])


def test_clauses_are_filled_from_parameters_and_marks_and_carried_to_the_reports(pytester, fake_target):
    pytester.makepyfile(
        test_suite="""
import pytest

@pytest.mark.requirement("AUTH-1", "AUTH-3")
@pytest.mark.clause("AUTH-1/{klass}-success")
@pytest.mark.parametrize("klass", ["pro", pytest.param("role", marks=pytest.mark.clause("AUTH-3/right-role"))])
def test_guard(klass):
    pass
"""
    )
    seen = {}

    class Spy:
        def pytest_runtest_logreport(self, report):
            if report.when == "call":
                seen[report.nodeid.split("::")[-1]] = report.conformance["clauses"]

    result = pytester.runpytest("-p", "no:cacheprovider", plugins=[Spy()])
    result.assert_outcomes(passed=2)
    assert seen == {
        "test_guard[pro]": ["AUTH-1/pro-success"],
        "test_guard[role]": ["AUTH-1/role-success", "AUTH-3/right-role"],
    }


def test_the_clause_marker_is_registered_for_strict_markers(run):
    result, _ = run(
        """
import pytest

@pytest.mark.requirement("RATE-1")
@pytest.mark.clause("RATE-1/retry-after")
def test_ok():
    pass
""",
        "--strict-markers",
    )
    result.assert_outcomes(passed=1)


def test_a_pass_that_left_clauses_unjudged_is_partial_and_the_report_maps_clauses_to_tests(run):
    result, report = run("""
import pytest
from conformance.outcomes import NotRun

@pytest.mark.requirement("RATE-1")
@pytest.mark.clause("RATE-1/status-and-code")
def test_code():
    pass

@pytest.mark.requirement("RATE-1")
@pytest.mark.clause("RATE-1/retry-after")
def test_retry_after():
    raise NotRun("no loopback", option="a loopback target")

@pytest.mark.requirement("RID-3")
@pytest.mark.clause("RID-3/success-responses", "RID-3/error-responses", "RID-3/concurrent")
def test_ids():
    pass

@pytest.mark.requirement("ENV-4")
def test_without_clauses():
    pass
""")
    result.assert_outcomes(passed=3, skipped=1)
    rate = report["requirements"]["RATE-1"]
    assert rate["verdict"] == "pass"
    assert rate["reason"].startswith(
        "partial: 1 of 2 clauses not judged in this run (RATE-1/retry-after); 1 of 2 tests"
    )
    assert rate["clauses"] == {
        "RATE-1/status-and-code": {"test_suite.py::test_code": "pass"},
        "RATE-1/retry-after": {"test_suite.py::test_retry_after": "not run"},
    }
    assert report["requirements"]["RID-3"]["reason"] is None, "every clause judged: a plain pass"
    assert report["requirements"]["ENV-4"]["reason"] is None, "tests that declare no clauses: judged as before"
