"""The clause coverage matrix: for every clause of the catalogue, the probes (test node ids) that exercise it.

A probe declares its clauses with ``@pytest.mark.clause`` (validated at
collection by :mod:`conformance.plugin`); this module collects the suites
without running them (pytest ``--collect-only`` in-process, through the
launcher's pinned configuration, so no target is needed) and joins what the
probes declare with the catalogue. ``heallog-conformance coverage`` prints
the matrix; tests/core/test_coverage.py fails on a clause without a probe.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance import requirements


class CoverageError(RuntimeError):
    """The suites could not be collected (a collection error, an unknown clause ID...)."""


@dataclass(frozen=True)
class Row:
    requirement: str
    clause: str  # the clause ID, DATA-1/update
    probes: tuple[str, ...]  # node ids, in collection order

    def as_data(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "clause": self.clause, "probes": list(self.probes)}


@dataclass(frozen=True)
class Probe:
    """A collected test: the requirements its marker names and the clauses it declares."""

    requirements: tuple[str, ...]
    clauses: tuple[str, ...]

    def silent_on(self) -> list[str]:
        """Its requirements it declares no clause of."""
        return [rid for rid in self.requirements if not any(c.split("/", 1)[0] == rid for c in self.clauses)]


class _Collector:
    """A pytest plugin that keeps each collected test's requirements and clauses, and the collection errors."""

    def __init__(self) -> None:
        self.probes: dict[str, Probe] = {}
        self.errors: list[str] = []

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1:]}")

    def pytest_collection_finish(self, session: Any) -> None:
        from conformance.run.markers import clause_ids, requirement_ids

        for item in session.items:
            self.probes[item.nodeid] = Probe(tuple(requirement_ids(item)), tuple(clause_ids(item)))


def declared(paths: Sequence[str] = ()) -> dict[str, Probe]:
    """Node id -> what it declares, for every test of the suites (or of ``paths``)."""
    import pytest

    from conformance.run import launch

    collector = _Collector()
    args = launch.pytest_args(["--collect-only", "-q", "-p", "no:cacheprovider", *paths])
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        status = pytest.main(args, plugins=[launch.SuitePaths(), collector])
    if status != pytest.ExitCode.OK or collector.errors:
        details = "; ".join(collector.errors) or output.getvalue().strip().splitlines()[-1:]
        raise CoverageError(f"collecting the suites failed (pytest exit {int(status)}): {details}")
    return collector.probes


def matrix(probes_by_id: Mapping[str, Probe]) -> list[Row]:
    """One row per clause of the catalogue, in catalogue order, with the probes that declare it."""
    probes: dict[str, list[str]] = {cid: [] for cid in requirements.clauses()}
    for nodeid, probe in probes_by_id.items():
        for cid in probe.clauses:
            probes.setdefault(cid, []).append(nodeid)
    return [Row(clause.requirement, cid, tuple(probes[cid])) for cid, clause in requirements.clauses().items()]


def uncovered(rows: Iterable[Row]) -> list[str]:
    """The clause IDs no probe exercises."""
    return [row.clause for row in rows if not row.probes]


def silent(probes_by_id: Mapping[str, Probe]) -> list[str]:
    """``nodeid: REQ`` for each requirement a probe names but declares no clause of."""
    return [f"{nodeid}: {rid}" for nodeid, probe in probes_by_id.items() for rid in probe.silent_on()]


def as_json(rows: Iterable[Row]) -> str:
    return json.dumps([row.as_data() for row in rows], indent=2, ensure_ascii=False) + "\n"


def table(rows: Sequence[Row]) -> str:
    """The matrix for people: requirement, clause, then each probe on a line of its own."""
    lines = []
    for row in rows:
        head = f"{row.requirement:<8} {row.clause:<40}"
        if not row.probes:
            lines.append(f"{head} NO PROBE")
        for i, probe in enumerate(row.probes):
            lines.append(f"{head} {probe}" if i == 0 else f"{'':<49} {probe}")
    missing = uncovered(rows)
    clauses = len(rows)
    lines.append("")
    lines.append(
        f"{clauses} clauses of {len({r.requirement for r in rows})} requirements; "
        f"{clauses - len(missing)} with a probe, {len(missing)} without"
    )
    return "\n".join(lines) + "\n"


# -- a run's coverage: which clauses its tests judged -----------------------------------------

#: Test verdicts that judged a clause (a test not run, blocked, inconclusive... judged nothing).
JUDGING = ("pass", "fail", "warn")
#: Clause IDs a partial reason names before "and N more".
LISTED = 4


def clause_probes(
    requirement: requirements.Requirement, test_verdicts: Mapping[str, str], clauses_of: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, str]]:
    """Every clause of ``requirement`` -> {node id: verdict} of this run's tests that declare it."""
    return {
        clause.id: {
            nodeid: verdict for nodeid, verdict in test_verdicts.items() if clause.id in clauses_of.get(nodeid, ())
        }
        for clause in requirement.clauses
    }


def unjudged(
    requirement: requirements.Requirement, test_verdicts: Mapping[str, str], clauses_of: Mapping[str, Sequence[str]]
) -> list[str]:
    """The clauses no test of the run judged; none when its tests declare no clauses (suites without them)."""
    if not any(clauses_of.get(nodeid) for nodeid in test_verdicts):
        return []
    ran = clause_probes(requirement, test_verdicts, clauses_of)
    return [cid for cid, tests in ran.items() if not any(v in JUDGING for v in tests.values())]


def with_unjudged_clauses(
    verdict: tuple[str, str | None],
    requirement: requirements.Requirement,
    test_verdicts: Mapping[str, str],
    clauses_of: Mapping[str, Sequence[str]],
) -> tuple[str, str | None]:
    """A pass whose run left clauses unjudged (no probe, or none that ran) says so: ``partial: ...``.

    Whatever its tests found, a requirement is only explored as far as its
    clauses were: "DATA-1 pass" with update and delete never probed is a
    partial pass (../shared/PROBES.md §3).
    """
    state, reason = verdict
    missing = unjudged(requirement, test_verdicts, clauses_of) if state == "pass" else []
    if not missing:
        return verdict
    named = ", ".join(missing[:LISTED]) + (f" and {len(missing) - LISTED} more" if len(missing) > LISTED else "")
    head = f"partial: {len(missing)} of {len(requirement.clauses)} clauses not judged in this run ({named})"
    return state, (f"{head}; {reason.removeprefix('partial: ')}" if reason else head)
