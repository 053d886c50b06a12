"""The per-requirement report: a plugin object, like pytest's junitxml ``LogXML``.

It is registered on the controller only, reads nothing but test reports (so it
works the same under xdist), and turns test outcomes into one verdict per
requirement of the catalogue:

    fail          a test of it failed (a MUST violation, an error, a SHOULD under --strict)
    inconclusive  a test could not be judged (a positive control or provisioning failed)
    warn          a SHOULD was violated (test shown as xfail "warn: ...")
    pass          every executed test passed (reason notes tests that were not run)
    not run       no test of it was executed (capability missing, deselected, not implemented)

in that order of precedence. The plugin's ``pytest_runtest_makereport``
wrapper has already put the outcome into the report: a skip reason starting
"not run:" or "inconclusive:", an xfail reason starting "warn:", and
``("violated", ID)`` user properties naming the requirement a Violation broke.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import requirements
from conformance.outcomes import (
    BLOCKED_PREFIX, INCONCLUSIVE_PREFIX, NOT_APPLICABLE_PREFIX, NOT_RUN_PREFIX, WARN_PREFIX,
)  # fmt: skip

#: Requirement verdicts, worst first (the precedence of a test's verdict over another's).
VERDICTS = ("fail", "inconclusive", "warn", "pass", "blocked", "not run", "not applicable")
SCHEMA_VERSION = 1
MESSAGE_LIMIT = 4000
SELF_DESCRIBING = ("Violation", "TransportFailure")  # exception names dropped from failure messages


@dataclass
class RequirementResult:
    requirement: requirements.Requirement
    tests: dict[str, str] = field(default_factory=dict)  # nodeid -> verdict of that test for this requirement
    reasons: dict[str, str] = field(default_factory=dict)  # nodeid -> reason (not run, inconclusive)
    first_failure: str | None = None

    def add(self, nodeid: str, verdict: str, reason: str | None, message: str | None) -> None:
        previous = self.tests.get(nodeid)
        if previous is None or VERDICTS.index(verdict) < VERDICTS.index(previous):
            self.tests[nodeid] = verdict
            if reason:
                self.reasons[nodeid] = reason
        if verdict in ("fail", "warn") and message and self.first_failure is None:
            self.first_failure = message[:MESSAGE_LIMIT]

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

    def blockers(self) -> list[str]:
        """The requirement IDs named by the blocked tests' reasons."""
        found: list[str] = []
        for nodeid, verdict in self.tests.items():
            if verdict == "blocked":
                found += [rid for rid in _blockers_of(self.reasons.get(nodeid, "")) if rid not in found]
        return found

    def _first_reason(self, verdict: str) -> str | None:
        return next((self.reasons.get(n) for n, v in self.tests.items() if v == verdict and self.reasons.get(n)), None)


def classify(report: pytest.TestReport, test_requirements: list[str]) -> list[tuple[str, str, str | None, str | None]]:
    """``(requirement, verdict, reason, message)`` for each requirement one phase report speaks about."""
    violated = [value for name, value in report.user_properties if name == "violated"]
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
        if reason.startswith(INCONCLUSIVE_PREFIX):
            return [(rid, "inconclusive", reason[len(INCONCLUSIVE_PREFIX):], None) for rid in test_requirements]
        if reason.startswith(BLOCKED_PREFIX):
            return [(rid, "blocked", reason, None) for rid in test_requirements]
        if reason.startswith(NOT_APPLICABLE_PREFIX):
            return [(rid, "not applicable", reason[len(NOT_APPLICABLE_PREFIX):], None) for rid in test_requirements]
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
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    head, sep, rest = text.partition(": ")
    # "conformance.outcomes.Violation: ENV-3 ..." -> "ENV-3 ...": these messages say what they are.
    if sep and head.endswith(SELF_DESCRIBING):
        text = rest
    return f"[{report.when}] {text}" if report.when != "call" else text


class RequirementReport:
    """Aggregates verdicts per requirement; prints the table; writes the JSON report."""

    def __init__(self, config: pytest.Config, *, json_path: str | None, strict: bool, selected: list[str]) -> None:
        self.config = config
        self.json_path = json_path
        self.strict = strict
        self.selected = set(selected)
        self.results = {rid: RequirementResult(req) for rid, req in requirements.catalogue().items()}
        self.target: dict[str, Any] = {}
        self.profile: dict[str, Any] = {}
        self.started = _now()
        self.finished: str | None = None
        self.saw_requirement_tests = False
        self.observations: list[str] = []
        self.usage: dict[str, Any] = {}

    # -- collecting --------------------------------------------------------------
    def describe_target(self, *, base_url: str, mode: str, profile_name: str, profile_source: str) -> None:
        self.target = {"base_url": base_url, "mode": mode}
        self.profile = {"name": profile_name, "source": profile_source}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == "observation" and value not in self.observations:
                self.observations.append(value)
        test_requirements = [value for name, value in report.user_properties if name == "requirement"]
        if not test_requirements:
            return
        self.saw_requirement_tests = True
        for rid, verdict, reason, message in classify(report, test_requirements):
            if rid in self.results:
                self.results[rid].add(report.nodeid, verdict, reason, message)

    # -- verdicts ------------------------------------------------------------------
    def verdicts(self) -> dict[str, tuple[str, str | None]]:
        """Each requirement's verdict; a *blocked* one whose blockers did not fail is *inconclusive* instead:
        the harness could not judge it and cannot say why."""
        raw = {rid: result.verdict(rid in self.selected) for rid, result in self.results.items()}
        verdicts = dict(raw)
        for rid, (verdict, reason) in raw.items():
            if verdict != "blocked":
                continue
            named = self.results[rid].blockers()
            if not any(raw.get(blocker, ("",))[0] in ("fail", "warn") for blocker in named):
                verdicts[rid] = ("inconclusive", f"{reason} (but {', '.join(named) or 'no blocker'} did not fail)")
        return verdicts

    def run_failed(self) -> bool:
        """True when a MUST failed or was inconclusive (with --strict: any requirement)."""
        for rid, (verdict, _) in self.verdicts().items():
            if verdict in ("fail", "inconclusive") and (self.strict or self.results[rid].requirement.is_must):
                return True
        return False

    # -- output ----------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.finished = _now()
        self.usage = usage_of_the_run(session.config)
        if not self.saw_requirement_tests:
            return
        if self.run_failed() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.json_path:
            path = Path(self.json_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            document = self.as_json(int(session.exitstatus))
            path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")

    def as_json(self, exit_status: int) -> dict[str, Any]:
        verdicts = self.verdicts()
        summary = {v: sum(1 for verdict, _ in verdicts.values() if verdict == v) for v in VERDICTS}
        return {
            "schema_version": SCHEMA_VERSION,
            "target": self.target,
            "profile": self.profile,
            "mode": self.target.get("mode"),
            "strict": self.strict,
            "started": self.started,
            "finished": self.finished,
            "exit_status": exit_status,
            "summary": summary,
            "usage": self.usage,
            "observations": self.observations,
            "requirements": {
                rid: {
                    "level": result.requirement.level,
                    "area": result.requirement.area,
                    "text": result.requirement.text,
                    "verdict": verdicts[rid][0],
                    "reason": verdicts[rid][1],
                    "tests": list(result.tests),
                    "test_verdicts": dict(result.tests),
                    "first_failure": result.first_failure,
                }
                for rid, result in self.results.items()
            },
        }

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.saw_requirement_tests:
            return
        terminalreporter.section("requirements")
        for line, markup in self.table_lines():
            terminalreporter.write_line(line, **markup)
        for text in self.observations:
            terminalreporter.write_line(f"observation (not a verdict): {text}")
        if self.usage:
            used = ", ".join(f"{value:g} {name.replace('_', ' ')}" for name, value in self.usage.items())
            terminalreporter.write_line(f"the run used {used}")
        if self.json_path:
            terminalreporter.write_line(f"conformance report written to {self.json_path}")

    def table_lines(self) -> list[tuple[str, dict[str, bool]]]:
        colours = {"pass": {"green": True}, "fail": {"red": True, "bold": True}, "warn": {"yellow": True},
                   "inconclusive": {"yellow": True, "bold": True}, "blocked": {"purple": True}, "not run": {},
                   "not applicable": {}}  # fmt: skip
        lines = [(f"{'ID':<8} {'level':<6} {'verdict':<14} {'tests':>5}  first failure / reason", {})]
        for rid, (verdict, reason) in self.verdicts().items():
            result = self.results[rid]
            detail = headline(result.first_failure) if result.first_failure else reason or ""
            row = f"{rid:<8} {result.requirement.level:<6} {verdict:<14} {len(result.tests):>5}  {detail[:200]}"
            lines.append((row, colours[verdict]))
        return lines


def headline(message: str) -> str:
    """One line of a failure for the table: its "Actual:" line (the row names the requirement), else its first."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Actual:")), lines[0] if lines else "")


def usage_of_the_run(config: pytest.Config) -> dict[str, Any]:
    """Requests sent, accounts created, retries and seconds of pacing, as the run's counters have them."""
    from conformance import usage
    from conformance.target.session import session_of

    counts: dict[str, Any] = dict(usage.snapshot())
    session = session_of(config)
    if session is not None and session.api is not None:
        counts["paced_seconds"] = round(session.api.pacer.waited, 1)
    return counts


def _blockers_of(reason: str) -> list[str]:
    """The IDs of a "blocked by RID-1, ENV-3: ..." reason."""
    names = reason.removeprefix(BLOCKED_PREFIX).split(":", 1)[0]
    return [name.strip() for name in names.split(",") if name.strip() in requirements.catalogue()]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
