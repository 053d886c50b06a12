"""From test outcomes to one verdict per requirement: pure functions over the data a test report carries.

Every report the plugin makes carries a ``conformance`` attribute (a dict that
survives xdist's serialization, unlike attributes of the item): the
requirement IDs of the test, the requirements a Violation broke, the test's
notes and observations. :func:`classify` turns one phase report into
``(requirement, verdict, reason, message)``; :class:`RequirementResult`
aggregates a requirement's tests:

    fail          a test of it failed (a MUST violation, an error, a SHOULD under --strict)
    inconclusive  a test could not be judged (a positive control or provisioning failed)
    warn          a SHOULD (or a SHOULD clause of a MUST) was violated
    pass          every executed test passed (the reason notes tests that were not judged)
    blocked       no test could judge it: another requirement's failure took the precondition away
    not run       no test of it was executed (capability missing, deselected, not implemented)
    not applicable  every test found the property does not apply to this SUT

in that order of precedence. The baseline adds ``known`` and ``fixed``
(:mod:`conformance.verdicts.baseline`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import requirements
from conformance.outcomes import (
    BLOCKED_PREFIX, INCONCLUSIVE_PREFIX, NOT_APPLICABLE_PREFIX, NOT_RUN_PREFIX, WARN_PREFIX,
)  # fmt: skip

#: Requirement verdicts, worst first (the precedence of a test's verdict over another's).
VERDICTS = ("fail", "inconclusive", "warn", "pass", "blocked", "not run", "not applicable")
#: Verdicts that mean the requirement was judged.
JUDGED = ("fail", "warn", "pass", "known", "fixed")
MESSAGE_LIMIT = 4000
#: Failures kept per requirement for the reports (the table shows the first).
FAILURES_KEPT = 20
SELF_DESCRIBING = ("Violation", "TransportFailure")  # exception names dropped from failure messages
ATTRIBUTE = "conformance"


def data_of(report: Any) -> dict[str, Any]:
    """The conformance data a report carries (empty for reports of tests without requirements)."""
    data = getattr(report, ATTRIBUTE, None)
    return data if isinstance(data, dict) else {}


@dataclass
class RequirementResult:
    requirement: requirements.Requirement
    tests: dict[str, str] = field(default_factory=dict)  # nodeid -> verdict of that test for this requirement
    reasons: dict[str, str] = field(default_factory=dict)  # nodeid -> reason (not run, inconclusive)
    failures: list[dict[str, str]] = field(default_factory=list)  # {"test", "message"} of fail and warn

    @property
    def first_failure(self) -> str | None:
        return self.failures[0]["message"] if self.failures else None

    def add(self, nodeid: str, verdict: str, reason: str | None, message: str | None) -> None:
        previous = self.tests.get(nodeid)
        if previous is None or VERDICTS.index(verdict) < VERDICTS.index(previous):
            self.tests[nodeid] = verdict
            if reason:
                self.reasons[nodeid] = reason
        if verdict in ("fail", "warn") and message and len(self.failures) < FAILURES_KEPT:
            if not any(f["test"] == nodeid for f in self.failures):
                self.failures.append({"test": nodeid, "message": message[:MESSAGE_LIMIT]})

    def verdict(self, selected: bool) -> tuple[str, str | None]:
        """The requirement's verdict and its reason.

        A requirement with passing tests passes, saying how many others could
        not be judged; with none, it is *blocked* when a test was blocked by
        another requirement's failure, else *not run* (a missing capability),
        else *not applicable*.
        """
        if not self.tests:
            return "not run", ("no test in this run" if selected else "not selected (--requirements)")
        counts = {v: sum(1 for t in self.tests.values() if t == v) for v in VERDICTS}
        worst = next(v for v in VERDICTS if counts[v])
        if worst in ("inconclusive", "blocked", "not run", "not applicable"):
            return worst, self._first_reason(worst)
        unjudged = [v for v in ("blocked", "not run", "not applicable") if counts[v]]
        if worst == "pass" and unjudged:
            skipped = sum(counts[v] for v in unjudged)
            first = self._first_reason(unjudged[0])
            label = unjudged[0] if len(unjudged) == 1 else "not judged"
            return "pass", f"partial: {skipped} of {len(self.tests)} tests {label}: {first}"
        return worst, None

    def failing_tests(self) -> list[str]:
        return [nodeid for nodeid, verdict in self.tests.items() if verdict in ("fail", "warn")]

    def blockers(self) -> list[str]:
        """The requirement IDs named by the blocked tests' reasons."""
        found: list[str] = []
        for nodeid, verdict in self.tests.items():
            if verdict == "blocked":
                found += [rid for rid in blockers_of(self.reasons.get(nodeid, "")) if rid not in found]
        return found

    def _first_reason(self, verdict: str) -> str | None:
        return next((self.reasons.get(n) for n, v in self.tests.items() if v == verdict and self.reasons.get(n)), None)


def classify(report: pytest.TestReport) -> list[tuple[str, str, str | None, str | None]]:
    """``(requirement, verdict, reason, message)`` for each requirement one phase report speaks about."""
    data = data_of(report)
    test_requirements = list(data.get("requirements", ()))
    violated = list(data.get("violated", ()))
    if not test_requirements:
        return []
    if report.passed:
        if report.when != "call":
            return []
        return [(rid, "pass", None, None) for rid in test_requirements]
    if report.skipped:
        wasxfail = getattr(report, "wasxfail", None)
        if wasxfail is not None:
            if wasxfail.startswith(WARN_PREFIX):
                return [(rid, "warn", None, failure_message(report)) for rid in (violated or test_requirements)]
            return [(rid, "not run", f"xfail: {wasxfail}", None) for rid in test_requirements]
        reason = skip_reason(report)
        for prefix, verdict in ((INCONCLUSIVE_PREFIX, "inconclusive"), (NOT_APPLICABLE_PREFIX, "not applicable")):
            if reason.startswith(prefix):
                return [(rid, verdict, reason[len(prefix):], None) for rid in test_requirements]
        if reason.startswith(BLOCKED_PREFIX):
            return [(rid, "blocked", reason, None) for rid in test_requirements]
        reason = reason.removeprefix(NOT_RUN_PREFIX)
        return [(rid, "not run", reason, None) for rid in test_requirements]
    message = failure_message(report)
    return [(rid, "fail", None, message) for rid in (violated or test_requirements)]


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def failure_message(report: pytest.TestReport) -> str:
    """The exception's own text (a Violation's rendering), without the traceback."""
    text = data_of(report).get("message") or ""
    if not text:
        crash = getattr(report.longrepr, "reprcrash", None)
        text = crash.message if crash is not None else report.longreprtext
    head, sep, rest = text.partition(": ")
    # "conformance.outcomes.Violation: ENV-3 ..." -> "ENV-3 ...": these messages say what they are.
    if sep and head.endswith(SELF_DESCRIBING):
        text = rest
    return f"[{report.when}] {text}" if report.when != "call" else text


def blockers_of(reason: str) -> list[str]:
    """The IDs of a "blocked by RID-1, ENV-3: ..." reason."""
    names = reason.removeprefix(BLOCKED_PREFIX).split(":", 1)[0]
    return [name.strip() for name in names.split(",") if name.strip() in requirements.catalogue()]


def requirement_verdicts(results: dict[str, RequirementResult], selected: set[str]) -> dict[str, tuple[str, str | None]]:
    """Each requirement's verdict; a *blocked* one whose blockers did not fail is *inconclusive* instead:
    the harness could not judge it and cannot say why."""
    raw = {rid: result.verdict(rid in selected) for rid, result in results.items()}
    verdicts = dict(raw)
    for rid, (verdict, reason) in raw.items():
        if verdict != "blocked":
            continue
        named = results[rid].blockers()
        if not any(raw.get(blocker, ("",))[0] in ("fail", "warn") for blocker in named):
            verdicts[rid] = ("inconclusive", f"{reason} (but {', '.join(named) or 'no blocker'} did not fail)")
    return verdicts


def headline(message: str) -> str:
    """One line of a failure for the table: its "Actual:" line (the row names the requirement), else its first."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Actual:")), lines[0] if lines else "")
