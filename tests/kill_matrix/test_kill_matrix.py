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
    report = report_of(matrix.result(plan.CLEAN_RUN))
    problems = judge.unclean(report, plan.NOT_RUN_ON_CLEAN)
    judge.expect_none(list(problems.values()), "the clean reference:", report, (), list(problems))
    assert report["exit_status"] == 0


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_defect_is_caught_by_its_requirements(matrix: RunPool, defect: str):
    own = DEFECTS[defect].requirements
    run = plan.run_for(defect)
    report = report_of(matrix.result(run))
    problems = judge.uncaught(report, own)
    # A full run's other verdicts are the precision test's business; a selected run must accuse nothing else.
    blamed = [] if run.requirements is None else judge.blamed_elsewhere(report, own)
    problems += [f"{judge.describe(report, rid)}, outside the defect's requirements" for rid in blamed]
    judge.expect_none(problems, f"defect {defect}:", report, own, blamed or list(own))


@pytest.mark.parametrize("defect", plan.PRECISION_SAMPLE)
def test_full_suite_blames_only_the_defects_requirements(matrix: RunPool, defect: str):
    """A fail or warn elsewhere is a false alarm or an overlap the catalogue must name; an inconclusive is not
    blame (a positive control may rightly stumble over the defect) and shows in the table only."""
    own = DEFECTS[defect].requirements
    report = report_of(matrix.result(plan.run_for(defect)))
    blamed = judge.blamed_elsewhere(report, own)
    problems = [f"{judge.describe(report, rid)}, outside the defect's requirements {', '.join(own)}" for rid in blamed]
    judge.expect_none(problems, f"defect {defect}, full suite:", report, own, blamed)
