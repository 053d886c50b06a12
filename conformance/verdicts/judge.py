"""From test outcomes to one verdict per requirement: pure functions over the data a test report carries.

Every report the plugin makes carries a ``conformance`` attribute (a dict of
plain JSON-able values, which survives xdist's serialization, unlike attributes
of the item): the requirement IDs of the test (``requirements``), its notes and
observations, and, when the test did not simply pass or fail, its ``outcome``
(:meth:`conformance.outcomes.Outcome.to_data`: the verdict, the reason, the
blockers and each Violation's fields). :func:`classify` turns one phase report
into a :class:`TestRecord`; :class:`RequirementResult` aggregates a
requirement's records:

    fail          a test of it failed (a MUST violation, an error, a SHOULD under --strict)
    inconclusive  a test could not be judged (a positive control or provisioning failed)
    warn          a SHOULD (or a SHOULD clause of a MUST) was violated
    pass          every executed test passed (the reason notes tests that were not judged)
    blocked       no test could judge it: another requirement's failure took the precondition away
    not run       no test of it was executed (capability missing, deselected, not implemented)
    not applicable  every test found the property does not apply to this SUT

in that order of precedence. The baseline adds ``known`` and ``fixed``
(:mod:`conformance.verdicts.baseline`). Nothing here reads a skip reason or a
failure's text to learn what happened: pytest's own skips and xfails (a marker,
``pytest.skip``) are *not run* whatever their reason says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from conformance import requirements
from conformance.outcomes import NOT_JUDGED, Verdict, ViolationData

#: Test verdicts, worst first (the precedence of a test's verdict over another's).
VERDICTS = (
    Verdict.FAIL,
    Verdict.INCONCLUSIVE,
    Verdict.WARN,
    Verdict.PASS,
    Verdict.BLOCKED,
    Verdict.NOT_RUN,
    Verdict.NOT_APPLICABLE,
)
#: Verdicts that mean the requirement was judged.
JUDGED = (Verdict.FAIL, Verdict.WARN, Verdict.PASS, Verdict.KNOWN, Verdict.FIXED)
#: Verdicts of a test that failed its requirement (they keep the failure).
FAILED = (Verdict.FAIL, Verdict.WARN)
MESSAGE_LIMIT = 4000
#: Failures kept per requirement for the reports (the table shows the first).
FAILURES_KEPT = 20
SELF_DESCRIBING = ("Violation", "TransportFailure")  # exception names dropped from failure messages
ATTRIBUTE = "conformance"


def data_of(report: Any) -> dict[str, Any]:
    """The conformance data a report carries (empty for reports of tests without requirements)."""
    data = getattr(report, ATTRIBUTE, None)
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class TestRecord:
    """What one phase report of a test says: the verdict it gives to ``requirements``.

    ``requirements`` are the test's own, or, for a Violation, only the ones the
    violations name. ``message`` is the failure's text when no Violation explains
    it (``RuntimeError: boom``, ``[setup] ...``).
    """

    __test__: ClassVar[bool] = False  # not a pytest test class, although its name starts with "Test"

    nodeid: str
    requirements: tuple[str, ...]
    verdict: Verdict
    reason: str | None = None
    blocked_by: tuple[str, ...] = ()
    violations: tuple[ViolationData, ...] = ()
    message: str | None = None
    when: str = "call"

    @property
    def explanation(self) -> str | None:
        """The reason as the report words it (``blocked by RID-1: ...`` for a blocked test)."""
        if self.verdict is Verdict.BLOCKED:
            return f"blocked by {', '.join(self.blocked_by)}: {self.reason or ''}"
        return self.reason

    def violations_of(self, requirement: str) -> tuple[ViolationData, ...]:
        return tuple(v for v in self.violations if v.requirement == requirement)

    def failure_of(self, requirement: str) -> Failure | None:
        """The failure this record gives ``requirement`` (``None`` unless it failed or warned)."""
        if self.verdict not in FAILED:
            return None
        own = self.violations_of(requirement)
        text = "\n\n".join(v.render() for v in own) if own else (self.message or "")
        if self.when != "call":
            text = f"[{self.when}] {text}"
        return Failure(self.nodeid, text[:MESSAGE_LIMIT], own)


@dataclass(frozen=True)
class Failure:
    """One failing test of a requirement: its violations' fields, and their rendering (or the error's text)."""

    test: str
    message: str
    violations: tuple[ViolationData, ...] = ()

    def headline(self) -> str:
        """One line for the table: the first violation's Actual, else the message's first line."""
        if self.violations:
            actual = self.violations[0].actual.strip().splitlines()
            return f"Actual: {actual[0] if actual else ''}"
        return next((line.strip() for line in self.message.splitlines() if line.strip()), "")

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "message": self.message, "violations": [v.to_json() for v in self.violations]}


@dataclass
class RequirementResult:
    requirement: requirements.Requirement
    tests: dict[str, Verdict] = field(default_factory=dict)  # nodeid -> verdict of that test for this requirement
    reasons: dict[str, str] = field(default_factory=dict)  # nodeid -> reason (not run, inconclusive, blocked)
    blocked_by: dict[str, tuple[str, ...]] = field(default_factory=dict)  # nodeid -> blockers of a blocked test
    failures: list[Failure] = field(default_factory=list)  # of fail and warn, one per test

    @property
    def first_failure(self) -> str | None:
        return self.failures[0].message if self.failures else None

    def add(self, record: TestRecord) -> None:
        rid, nodeid = self.requirement.id, record.nodeid
        previous = self.tests.get(nodeid)
        if previous is None or VERDICTS.index(record.verdict) < VERDICTS.index(previous):
            self.tests[nodeid] = record.verdict
            if record.explanation:
                self.reasons[nodeid] = record.explanation
            if record.blocked_by:
                self.blocked_by[nodeid] = record.blocked_by
        failure = record.failure_of(rid)
        if failure is not None and failure.message and len(self.failures) < FAILURES_KEPT:
            if not any(f.test == nodeid for f in self.failures):
                self.failures.append(failure)

    def verdict(self, selected: bool) -> tuple[Verdict, str | None]:
        """The requirement's verdict and its reason.

        A requirement with passing tests passes, saying how many others could
        not be judged; with none, it is *blocked* when a test was blocked by
        another requirement's failure, else *not run* (a missing capability),
        else *not applicable*.
        """
        if not self.tests:
            return Verdict.NOT_RUN, ("no test in this run" if selected else "not selected (--requirements)")
        counts = {v: sum(1 for t in self.tests.values() if t == v) for v in VERDICTS}
        worst = next(v for v in VERDICTS if counts[v])
        if worst in NOT_JUDGED:
            return worst, self._first_reason(worst)
        unjudged = [v for v in (Verdict.BLOCKED, Verdict.NOT_RUN, Verdict.NOT_APPLICABLE) if counts[v]]
        if worst is Verdict.PASS and unjudged:
            skipped = sum(counts[v] for v in unjudged)
            first = self._first_reason(unjudged[0])
            label = unjudged[0].value if len(unjudged) == 1 else "not judged"
            return Verdict.PASS, f"partial: {skipped} of {len(self.tests)} tests {label}: {first}"
        return worst, None

    def failing_tests(self) -> list[str]:
        return [nodeid for nodeid, verdict in self.tests.items() if verdict in FAILED]

    def blockers(self) -> list[str]:
        """The catalogue requirements the blocked tests name as their blockers."""
        found: list[str] = []
        for nodeid, verdict in self.tests.items():
            if verdict is Verdict.BLOCKED:
                found += [
                    rid
                    for rid in self.blocked_by.get(nodeid, ())
                    if rid not in found and rid in requirements.catalogue()
                ]
        return found

    def _first_reason(self, verdict: Verdict) -> str | None:
        return next((self.reasons.get(n) for n, v in self.tests.items() if v == verdict and self.reasons.get(n)), None)


def classify(report: pytest.TestReport) -> TestRecord | None:
    """The record of one phase report (``None`` when it says nothing: a test without requirements, a passing setup).

    The plugin's ``outcome`` data decides; without it, a passed call passes, a
    failure (an error the plugin did not explain) fails every requirement of the
    test, and pytest's own skips and xfails are *not run*, with pytest's reason.
    """
    data = data_of(report)
    names = tuple(data.get("requirements", ()))
    if not names:
        return None
    if report.passed:
        return TestRecord(report.nodeid, names, Verdict.PASS) if report.when == "call" else None
    outcome = data.get("outcome")
    if isinstance(outcome, Mapping):
        return _record_of(report, names, outcome)
    if report.skipped:
        wasxfail = getattr(report, "wasxfail", None)
        reason = f"xfail: {wasxfail}" if wasxfail is not None else skip_reason(report)
        return TestRecord(report.nodeid, names, Verdict.NOT_RUN, reason=reason, when=report.when)
    return TestRecord(report.nodeid, names, Verdict.FAIL, message=failure_message(report), when=report.when)


def _record_of(report: pytest.TestReport, names: tuple[str, ...], outcome: Mapping[str, Any]) -> TestRecord:
    verdict = Verdict(outcome["verdict"])
    violations = tuple(ViolationData.from_json(v) for v in outcome.get("violations") or ())
    if verdict in FAILED:
        if outcome.get("error") or not violations:  # an error its violations (if any) do not explain: all fail
            return TestRecord(report.nodeid, names, Verdict.FAIL, message=failure_message(report), when=report.when)
        violated = tuple(dict.fromkeys(v.requirement for v in violations))
        return TestRecord(report.nodeid, violated, verdict, violations=violations, when=report.when)
    return TestRecord(
        report.nodeid,
        names,
        verdict,
        reason=str(outcome.get("reason") or "") or None,
        blocked_by=tuple(outcome.get("blocked_by") or ()),
        when=report.when,
    )


def skip_reason(report: pytest.TestReport) -> str:
    """pytest's reason for a skip of its own (``pytest.skip``, a ``skip``/``skipif`` marker), as it printed it."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def failure_message(report: pytest.TestReport) -> str:
    """The exception's own text, without the traceback (for failures no Violation explains)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    head, sep, rest = text.partition(": ")
    # "conformance.wire.client.TransportFailure: ..." -> "...": these messages say what they are.
    if sep and head.endswith(SELF_DESCRIBING):
        text = rest
    return text


def requirement_verdicts(
    results: dict[str, RequirementResult], selected: set[str]
) -> dict[str, tuple[Verdict, str | None]]:
    """Each requirement's verdict; a *blocked* one whose blockers did not fail is *inconclusive* instead:
    the harness could not judge it and cannot say why."""
    raw = {rid: result.verdict(rid in selected) for rid, result in results.items()}
    verdicts = dict(raw)
    for rid, (verdict, reason) in raw.items():
        if verdict is not Verdict.BLOCKED:
            continue
        named = results[rid].blockers()
        if not any(blocker in raw and raw[blocker][0] in FAILED for blocker in named):
            verdicts[rid] = (Verdict.INCONCLUSIVE, f"{reason} (but {', '.join(named) or 'no blocker'} did not fail)")
    return verdicts
