"""Pure verdicts on conformance reports: is a defect caught, is the blame precise, is the clean reference clean.

Each function returns the problems it found as sentences (empty: all good),
so a test asserts on an empty list and its message says what to act on.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.core.test_coverage import KNOWN_GAPS

BLAME = ("fail", "warn")  # verdicts that accuse the SUT
FIRST_FAILURE_LINES = 12
#: The head a pass's reason gets when clauses were judged by no test of the run (conformance/verdicts/coverage.py).
CLAUSE_PARTIAL = re.compile(r"partial: \d+ of \d+ clauses not judged in this run \(([^)]*)\)(?:; (.*))?", re.DOTALL)


def beyond_known_gaps(reason: str | None) -> str | None:
    """The reason less a clause partial that names only clauses no probe exercises yet (KNOWN_GAPS): those make
    every run partial until their probes land, and tests/core/test_coverage.py keeps the list honest."""
    match = CLAUSE_PARTIAL.fullmatch(reason or "")
    if match is None or not set(match.group(1).split(", ")) <= set(KNOWN_GAPS):
        return reason
    return f"partial: {match.group(2)}" if match.group(2) else None


def expected_catch(level: str) -> tuple[str, ...]:
    """The verdicts that show a violated requirement caught: a SHOULD only warns outside --strict."""
    return ("fail",) if level == "MUST" else ("warn", "fail")


def uncaught(report: dict[str, Any], own: tuple[str, ...]) -> list[str]:
    """The defect's requirements that the run did not catch."""
    problems = []
    for rid in own:
        entry = report["requirements"][rid]
        wanted = expected_catch(entry["level"])
        if entry["verdict"] not in wanted:
            reason = f" ({entry['reason']})" if entry["reason"] else ""
            tests = f" over {len(entry['tests'])} tests" if entry.get("tests") else ""
            problems.append(
                f"{rid} ({entry['level']}) is {entry['verdict']}{reason}{tests}, expected {' or '.join(wanted)}"
            )
    return problems


def blamed_elsewhere(report: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    """IDs outside ``allowed`` (a defect's requirements and catalogued consequences) that the run accused:
    false alarms, or overlaps the catalogue does not name."""
    return [rid for rid, entry in report["requirements"].items() if rid not in allowed and entry["verdict"] in BLAME]


def describe(report: dict[str, Any], rid: str) -> str:
    entry = report["requirements"][rid]
    return f"{rid} ({entry['level']}) is {entry['verdict']}" + (f" ({entry['reason']})" if entry["reason"] else "")


def unclean(report: dict[str, Any], allowed_not_run: dict[str, str]) -> dict[str, str]:
    """Requirements of the clean reference that did not plainly pass, ID -> sentence (a partial pass counts).

    ``allowed_not_run`` maps the IDs that may be *not run* to a text their reason must contain.
    """
    problems = {}
    for rid, entry in report["requirements"].items():
        verdict, reason = entry["verdict"], beyond_known_gaps(entry["reason"])
        if rid in allowed_not_run:
            if verdict != "not run" or allowed_not_run[rid] not in (reason or ""):
                problems[rid] = f"{rid} is {verdict} ({reason}), expected not run ({allowed_not_run[rid]}...)"
        elif verdict != "pass" or reason:
            problems[rid] = describe(report, rid)
    return problems


def verdict_table(report: dict[str, Any], own: tuple[str, ...] = (), also: tuple[str, ...] = ()) -> str:
    """The report's verdicts as text: the defect's own requirements (marked '*'), its catalogued consequences
    ('+') and every one that did not pass get a row; passing ones share a line; unselected ones are left out."""
    lines = [f"  {'ID':<8} {'level':<6} {'verdict':<12} reason"]
    passed = []
    for rid, entry in report["requirements"].items():
        if rid not in own and entry["reason"] == "not selected (--requirements)":
            continue
        if rid not in own and entry["verdict"] == "pass" and not entry["reason"]:
            passed.append(rid)
            continue
        mark = "*" if rid in own else "+" if rid in also else " "
        lines.append(f"{mark} {rid:<8} {entry['level']:<6} {entry['verdict']:<12} {entry['reason'] or ''}".rstrip())
    if passed:
        lines.append(f"  pass: {', '.join(passed)}")
    return "\n".join(lines)


def first_failures(report: dict[str, Any], requirement_ids: list[str]) -> str:
    """The first failure message of the first requirement named that has one, shortened."""
    for rid in requirement_ids:
        message = report["requirements"][rid].get("first_failure")
        if message:
            lines = message.splitlines()
            shown = ["    " + line for line in lines[:FIRST_FAILURE_LINES]]
            if len(lines) > FIRST_FAILURE_LINES:
                shown.append(f"    ... ({len(lines) - FIRST_FAILURE_LINES} more lines)")
            return f"first failure of {rid}:\n" + "\n".join(shown)
    return f"no failure message for {', '.join(requirement_ids)} in the report"


def expect_none(
    problems: list[str],
    headline: str,
    report: dict[str, Any],
    focus: list[str],
    own: tuple[str, ...] = (),
    also: tuple[str, ...] = (),
) -> None:
    """Fail the test with ``explain``'s message when there are problems."""
    __tracebackhide__ = True
    if problems:
        pytest.fail(headline + explain(report, problems, focus, own, also), pytrace=False)


def explain(
    report: dict[str, Any], problems: list[str], focus: list[str], own: tuple[str, ...] = (), also: tuple[str, ...] = ()
) -> str:
    """A failure message a reader can act on: the problems, the verdict table, the first failure among ``focus``."""
    legend = "verdicts (* the defect's requirements, + its catalogued consequences):"
    return "\n".join(
        [
            "",
            *(f"- {p}" for p in problems),
            "",
            legend,
            verdict_table(report, own, also),
            "",
            first_failures(report, focus),
        ]
    )
