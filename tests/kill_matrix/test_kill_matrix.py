"""Every defect of the reference is caught by its requirements; the full suite blames nothing else; clean is clean.

Each test reads the JSON report of one harness run (see plan.py for which
run judges which defect). A failure shows that run's verdict table and the
first relevant failure message.
"""

from __future__ import annotations

import pytest

from reference.defects import DEFECTS
from tests.kill_matrix import judge, plan
from tests.kill_matrix.runs import RunPool, RunResult

# The runs have their own timeouts; a test may wait for a few of them queued before its own.
pytestmark = pytest.mark.timeout(1200)


def report_of(result: RunResult) -> dict:
    __tracebackhide__ = True
    if result.report is None:
        pytest.fail(result.describe_failure_to_run(), pytrace=False)
    return result.report


def test_clean_reference_passes_every_requirement(matrix: RunPool):
    result = matrix.result(plan.CLEAN_RUN)
    report = report_of(result)
    problems = judge.unclean(report, plan.NOT_RUN_ON_CLEAN)
    sentences = list(problems.values())
    if report["exit_status"] != 0:
        sentences.append(f"the run exited with {report['exit_status']}; end of its output:\n{result.output_tail}")
    judge.expect_none(sentences, "the clean reference:", report, list(problems))


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_defect_is_caught_by_its_requirements(matrix: RunPool, defect: str):
    entry = DEFECTS[defect]
    run = plan.run_for(defect)
    report = report_of(matrix.result(run))
    problems = judge.uncaught(report, entry.requirements)
    # A full run's other verdicts are the precision test's business; a selected run must accuse nothing else.
    blamed = [] if run.requirements is None else judge.blamed_elsewhere(report, entry.violates)
    problems += [f"{judge.describe(report, rid)}, not in the defect's catalogue entry" for rid in blamed]
    judge.expect_none(
        problems,
        f"defect {defect}:",
        report,
        blamed or list(entry.requirements),
        own=entry.requirements,
        also=entry.also,
    )


@pytest.mark.parametrize("defect", plan.PRECISION_SAMPLE)
def test_full_suite_blames_only_the_defects_requirements(matrix: RunPool, defect: str):
    """Only the catalogue entry's ``requirements + also`` may fail or warn: anything else is a false alarm or an
    overlap the catalogue must name. An inconclusive is not blame (a positive control may rightly stumble over
    the defect) and shows in the table only."""
    entry = DEFECTS[defect]
    report = report_of(matrix.result(plan.run_for(defect)))
    blamed = judge.blamed_elsewhere(report, entry.violates)
    allowed = ", ".join(entry.violates)
    problems = [f"{judge.describe(report, rid)}, not in the defect's catalogue entry ({allowed})" for rid in blamed]
    judge.expect_none(
        problems, f"defect {defect}, full suite:", report, blamed, own=entry.requirements, also=entry.also
    )


@pytest.mark.parametrize("harness_run", [plan.STRICT_RUN], ids=["strict-limits"])
def test_strict_limits_declared_in_the_profile_change_no_verdict(matrix: RunPool, harness_run):
    """The conforming variant (5 registrations and logins a minute, declared): every requirement passes, zero
    inconclusive. The harness paces itself and waits out 429s instead of judging through them."""
    result = matrix.result(harness_run)
    report = report_of(result)
    problems = judge.unclean(report, plan.NOT_RUN_ON_CLEAN)
    judge.expect_none(list(problems.values()), "the clean reference with strict limits:", report, list(problems))


@pytest.mark.parametrize("harness_run", [plan.SINGLE_SOURCE_RUNS["clean"]], ids=["single-source"])
def test_one_source_address_at_strict_limits_changes_no_verdict(matrix: RunPool, harness_run):
    """The staging case: every request from one address at 5 registrations and logins a minute. RATE-1 is judged
    from that address (its burst runs last); nothing fails, nothing is inconclusive; the run waits, it never
    times out."""
    report = report_of(matrix.result(harness_run))
    entries = report["requirements"]
    problems = [
        judge.describe(report, rid)
        for rid in plan.SINGLE_SOURCE_SELECTION
        if entries[rid]["verdict"] != "pass" or judge.beyond_known_gaps(entries[rid]["reason"])
    ]
    judge.expect_none(problems, "the clean reference from one address:", report, list(plan.SINGLE_SOURCE_SELECTION))


@pytest.mark.parametrize("defect", ["no-retry-after", "user-enumeration"])
def test_defects_are_caught_from_one_source_address(matrix: RunPool, defect: str):
    entry = DEFECTS[defect]
    report = report_of(matrix.result(plan.SINGLE_SOURCE_RUNS[defect]))
    own = tuple(rid for rid in entry.requirements if rid in plan.SINGLE_SOURCE_SELECTION)
    problems = judge.uncaught(report, own)
    blamed = judge.blamed_elsewhere(report, entry.violates)
    problems += [f"{judge.describe(report, rid)}, not in the defect's catalogue entry" for rid in blamed]
    judge.expect_none(
        problems,
        f"defect {defect} from one address:",
        report,
        blamed or list(own),
        own=entry.requirements,
        also=entry.also,
    )


@pytest.mark.parametrize("harness_run", list(plan.BUNDLE_RUNS.values()), ids=list(plan.BUNDLE_RUNS))
def test_a_bundle_of_defects_is_caught_member_by_member_and_accuses_nothing_else(matrix: RunPool, harness_run):
    """Like a legacy service: every member's requirements fail; nothing outside the union of the members'
    catalogue entries is accused; nothing is inconclusive (blocked is fine: it names a failing blocker)."""
    members = [DEFECTS[name] for name in harness_run.defects]
    report = report_of(matrix.result(harness_run))
    own = tuple(dict.fromkeys(rid for entry in members for rid in entry.requirements))
    allowed = tuple(dict.fromkeys(rid for entry in members for rid in entry.violates))
    problems = judge.uncaught(report, own)
    problems += [
        f"{judge.describe(report, rid)}, outside every member's catalogue entry"
        for rid in judge.blamed_elsewhere(report, allowed)
    ]
    problems += [
        judge.describe(report, rid)
        for rid, entry in report["requirements"].items()
        if entry["verdict"] == "inconclusive"
    ]
    judge.expect_none(
        problems,
        f"bundle {harness_run.label}:",
        report,
        list(own),
        own=own,
        also=tuple(r for r in allowed if r not in own),
    )


@pytest.mark.parametrize("defect", ["guard-crash"])
def test_a_connection_closed_after_an_error_is_never_blamed_on_the_next_request(matrix: RunPool, defect: str):
    """guard-crash answers a plain 500 and closes the kept-alive connection without saying so (uvicorn's habit):
    no failure of the full suite may then say "no response" for a request that got one."""
    report = report_of(matrix.result(plan.run_for(defect)))
    blamed = [
        f"{rid}: {failure['test']}"
        for rid, entry in report["requirements"].items()
        for failure in entry.get("failures", ())
        if "no response" in failure["message"]
    ]
    assert blamed == [], blamed
    assert any("closed a kept-alive connection" in text for text in report["observations"]), "and it is noticed"
