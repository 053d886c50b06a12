"""The kill matrix's shared runs: started once per session, two at a time, only those the selected tests need.

With ``KILL_MATRIX_DOC=docs/kill-matrix.md`` the session also writes the
matrix document from what it observed; with ``KILL_MATRIX_MERGE=1`` as well, it
updates the rows it observed in the existing document instead (a session of a
few rows, ``-k``, need not run the whole matrix). It always writes one into
pytest's base temporary directory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kill_matrix import document, plan
from tests.kill_matrix.runs import HarnessRun, RunPool

DOC_ENV = "KILL_MATRIX_DOC"
MERGE_ENV = "KILL_MATRIX_MERGE"


def needed_runs(items: list[pytest.Item]) -> list[HarnessRun]:
    """The runs of the collected tests that use the pool: a ``defect`` parameter names one, no parameter is clean."""
    wanted = set()
    for item in items:
        if "matrix" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec else {}
        if "harness_run" in params:  # the strict-limits variant, a bundle
            wanted.add(params["harness_run"])
            continue
        defect = params.get("defect")
        if item.name.startswith("test_defects_are_caught_from_one_source_address"):
            wanted.add(plan.SINGLE_SOURCE_RUNS[defect])
            continue
        wanted.add(plan.run_for(defect) if defect else plan.CLEAN_RUN)
    return [run for run in plan.all_runs() if run in wanted]


@pytest.fixture(scope="session")
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunPool]:
    started = time.monotonic()
    pool = RunPool(needed_runs(request.session.items), tmp_path_factory.mktemp("kill-matrix"))
    try:
        yield pool
    finally:
        pool.close()
        results = pool.finished_results()
        text = document.render(results, time.monotonic() - started)
        (tmp_path_factory.getbasetemp() / "kill-matrix.md").write_text(text, "utf-8")
        if os.environ.get(DOC_ENV):
            path = Path(os.environ[DOC_ENV])
            if os.environ.get(MERGE_ENV) == "1" and path.exists():
                text = document.merge(path.read_text("utf-8"), text)
            path.write_text(text, "utf-8")
