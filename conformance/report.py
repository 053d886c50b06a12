"""The per-requirement report: a plugin object, like pytest's junitxml ``LogXML``.

It is registered on the controller only and reads nothing but test reports
(their ``conformance`` data survives xdist), turns them into one verdict per
requirement (:mod:`conformance.verdicts.judge`), applies the baseline
(:mod:`conformance.verdicts.baseline`), sets the exit code (:data:`EXIT_CODES`), and
renders the same document several ways: the terminal table, the JSON report,
the HTML page, the Markdown summary, the HAR of failing tests' exchanges, and
run-level JUnit properties. None of the renderings computes a verdict of its own.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from conformance import requirements
from conformance.exchange import Attempt, attempt_from_data
from conformance.outcomes import Verdict
from conformance.redaction import redact
from conformance.render.document import cut_at_word
from conformance.run import interrupt
from conformance.verdicts import baseline, coverage
from conformance.verdicts.judge import FAILED, JUDGED, RequirementResult, classify, data_of, requirement_verdicts
from conformance.wire.target_watch import Gone

#: A requirement's verdict and its reason.
Verdicts = dict[str, tuple[Verdict, str | None]]

SCHEMA_VERSION = 2
#: Exit codes of a conformance run (pytest's own, and one of ours).
NOTHING_JUDGED = 8  # pytest uses 0-6
TARGET_GONE = 7
#: The reason of the requirements a gone target left unjudged.
UNREACHABLE = "target unreachable: "
EXIT_CODES = {
    0: "every selected requirement judged passed (or known, with a baseline)",
    1: "a MUST failed or was inconclusive, a baseline entry expired, a new failure outside the baseline; with "
    "--conformance-strict also a SHOULD failure or a fixed baseline entry; with --conformance-require-all also "
    "a MUST that was not run, blocked or inconclusive",
    2: "interrupted (a KeyboardInterrupt raised by a test)",
    3: "internal error of pytest or a plugin",
    4: "bad input: unreachable or wrong target, invalid profile, option or baseline",
    5: "no test collected",
    TARGET_GONE: "the target stopped answering mid-run (its health check failed too): the run stopped, the "
    "requirements it had not judged are not run",
    NOTHING_JUDGED: "tests ran, but no selected requirement was judged (e.g. --requirements PERF-1 without --load)",
    130: "interrupted by SIGINT (Ctrl-C): the target was stopped, the table and reports mark the run interrupted",
    143: "interrupted by SIGTERM (a cancelled CI job): as for SIGINT",
}
#: The verdict line's first word by exit code (any other non-zero code: FAIL).
VERDICT_WORDS = {
    0: "PASS",
    2: "interrupted",
    130: "interrupted",
    143: "interrupted",
    TARGET_GONE: "stopped, target gone",
    NOTHING_JUDGED: "nothing judged",
}
#: The verdict line's counts, in this order (only those that occur).
LINE_ORDER = (
    Verdict.FAIL,
    Verdict.INCONCLUSIVE,
    Verdict.WARN,
    Verdict.BLOCKED,
    Verdict.KNOWN,
    Verdict.FIXED,
    Verdict.PASS,
    Verdict.NOT_RUN,
    Verdict.NOT_APPLICABLE,
)
#: Characters of the reason column in the terminal table (cut at a word; the reports have the full text).
REASON_WIDTH = 160
COLOURS: dict[Verdict, dict[str, bool]] = {
    Verdict.PASS: {"green": True},
    Verdict.FAIL: {"red": True, "bold": True},
    Verdict.WARN: {"yellow": True},
    Verdict.INCONCLUSIVE: {"yellow": True, "bold": True},
    Verdict.BLOCKED: {"purple": True},
    Verdict.KNOWN: {"cyan": True},
    Verdict.FIXED: {"green": True, "bold": True},
    Verdict.NOT_RUN: {},
    Verdict.NOT_APPLICABLE: {},
}


class RequirementReport:
    """Aggregates verdicts per requirement; applies the baseline; prints the table; writes the reports."""

    def __init__(self, config: pytest.Config, options: Any, *, selected: list[str]) -> None:
        self.session: pytest.Session | None = None  # set at the session's end: its final exit status
        self.stopped: str | None = None  # why the run stopped early (the target went away), for the unjudged
        self.pending: set[str] = set()
        self.config = config
        self.options = options
        self.strict = options.strict
        self.selected = set(selected)
        self.results = {rid: RequirementResult(req) for rid, req in requirements.catalogue().items()}
        self.target: dict[str, Any] = {}
        self.profile: dict[str, Any] = {}
        self.started = _now()
        self.finished: str | None = None
        self.saw_requirement_tests = False
        #: requirement -> node ids of its collected tests (set by the plugin): an interrupted run still gets its
        #: table, and a requirement whose tests did not all finish is not judged from the ones that did.
        self.collected: dict[str, set[str]] = {}
        #: Tests a signal cut short (their failure was the interrupt's doing): unfinished, like those never started.
        self.cut_short: set[str] = set()
        self.observations: list[str] = []
        self.notes: dict[str, list[str]] = {}
        self.recorded: dict[str, dict[str, Any]] = {}
        self.usage: dict[str, Any] = {}
        self.exchanges: list[tuple[str, Attempt]] = []  # of failing tests, for the HAR (answered or not)
        self.reruns: dict[str, str] = {}  # nodeid -> the command that reruns a test one curl cannot reproduce
        self.clauses_of: dict[str, list[str]] = {}  # nodeid -> the clauses the test declares
        self.baseline_entries = baseline.load(options.baseline) if options.baseline else []
        self.baseline_outcome: baseline.Outcome | None = None
        #: Under pytest-xdist: the workers' usage counts, summed by the controller.
        self.worker_usage: Any = None

    # -- collecting --------------------------------------------------------------
    def describe_target(
        self, *, base_url: str, mode: str, profile_name: str, profile_source: str, stores: dict[str, Any] | None = None
    ) -> None:
        self.target = {"base_url": base_url, "mode": mode, **({"stores": stores} if stores else {})}
        self.profile = {"name": profile_name, "source": profile_source}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = data_of(report)
        for text in data.get("observations", ()):
            if text not in self.observations:
                self.observations.append(text)
        for note in data.get("notes", ()):
            self.notes.setdefault(report.nodeid, []).append(note)
        if data.get("recorded"):
            self.recorded.setdefault(report.nodeid, {}).update(data["recorded"])
        for entry in data.get("exchanges", ()):
            self.exchanges.append((report.nodeid, attempt_from_data(entry)))
        if data.get("rerun"):
            self.reruns[report.nodeid] = data["rerun"]
        if data.get("clauses"):
            self.clauses_of[report.nodeid] = list(data["clauses"])
        if not data.get("requirements"):
            return
        if data.get("interrupted"):
            self.cut_short.add(report.nodeid)
        self.saw_requirement_tests = True
        record = classify(report)
        if record is None:
            return
        for rid in record.requirements:
            if rid in self.results:
                self.results[rid].add(record)

    # -- verdicts ------------------------------------------------------------------
    def verdicts(self) -> Verdicts:
        verdicts = requirement_verdicts(self.results, self.selected)
        verdicts = {
            rid: coverage.with_unjudged_clauses(verdict, result.requirement, result.tests, self.clauses_of)
            for rid, verdict in verdicts.items()
            for result in (self.results[rid],)
        }
        verdicts = self._with_baseline(verdicts) if self.options.baseline else verdicts
        if self.stopped is not None:  # the target went away: what the stop left unjudged is not run
            for rid in self.pending & set(self.selected):
                if verdicts[rid][0] not in FAILED:
                    verdicts[rid] = (Verdict.NOT_RUN, self.stopped)
        return self._interrupted(verdicts) if interrupt.received() is not None else verdicts

    def _interrupted(self, verdicts: Verdicts) -> Verdicts:
        """After SIGINT/SIGTERM: a requirement with unfinished tests is ``not run``, unless it already failed."""
        adjusted = dict(verdicts)
        for rid, nodeids in self.collected.items():
            finished = set(self.results[rid].tests) - self.cut_short if rid in self.results else set()
            unfinished = nodeids - finished
            if (
                unfinished
                and rid in self.selected
                and verdicts[rid][0] not in (Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.BLOCKED)
            ):
                adjusted[rid] = (
                    Verdict.NOT_RUN,
                    f"interrupted by {interrupt.name(interrupt.received())} before "
                    f"{len(unfinished)} of its {len(nodeids)} tests finished",
                )
        return adjusted

    def _with_baseline(self, verdicts: Verdicts) -> Verdicts:
        failing = {rid: self.results[rid].failing_tests() for rid, (v, _) in verdicts.items() if v in FAILED}
        judged = {
            rid: {n for n, v in self.results[rid].tests.items() if v in (Verdict.PASS, *FAILED)} for rid in self.results
        }
        judge = baseline.judge_update if self.options.baseline_update else baseline.judge
        outcome = judge(self.baseline_entries, failing, judged, datetime.date.today())
        self.baseline_outcome = outcome
        adjusted = dict(verdicts)
        for rid, tests in failing.items():
            known = [entry for entry, test in outcome.known if entry.requirement == rid]
            expired = [entry for entry, test in outcome.expired if entry.requirement == rid]
            if known and len(known) == len(tests):
                tickets = ", ".join(sorted({e.ticket for e in known if e.ticket})) or "no ticket"
                adjusted[rid] = (
                    Verdict.KNOWN,
                    f"known: {len(tests)} accepted failure(s) in the baseline ({tickets}): {known[0].reason}",
                )
            elif expired:
                adjusted[rid] = (verdicts[rid][0], f"the baseline entry expired on {expired[0].expires}")
        for entry in outcome.fixed:
            if adjusted[entry.requirement][0] is Verdict.PASS:
                adjusted[entry.requirement] = (
                    Verdict.FIXED,
                    "fixed: a baseline entry no longer fails (remove it, or run --baseline-update)",
                )
        return adjusted

    def exit_status(self, verdicts: Verdicts) -> int:
        """The run's exit code by the gate policy (:data:`EXIT_CODES`)."""
        failed = False
        for rid, (verdict, _reason) in verdicts.items():
            must = self.results[rid].requirement.is_must
            if verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE) and (must or self.strict):
                failed = True
            if verdict is Verdict.FIXED and self.strict:
                failed = True
            if (
                self.options.require_all
                and must
                and rid in self.selected
                and verdict in (Verdict.NOT_RUN, Verdict.BLOCKED, Verdict.INCONCLUSIVE)
            ):
                failed = True
        if failed:
            return int(pytest.ExitCode.TESTS_FAILED)
        if not any(verdicts[rid][0] in JUDGED for rid in self.selected):
            return NOTHING_JUDGED
        return int(pytest.ExitCode.OK)

    # -- output ----------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from conformance.run.session import usage_of_the_run

        self.finished = _now()
        self.session = session
        self.usage = self.worker_usage() if self.worker_usage is not None else usage_of_the_run(session.config)
        if not self._has_table():
            return
        from conformance.run.keys import gone_key

        gone: Gone | None = session.config.stash.get(gone_key, None)
        if gone is not None:
            self._stop_for_a_gone_target(session, gone)
        verdicts = self.verdicts()
        if gone is not None:
            session.exitstatus = TARGET_GONE
        elif interrupt.exit_code() is not None:
            session.exitstatus = interrupt.exit_code()
        elif session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            # The gate decides, unless a test without a requirement failed (that is pytest's own failure).
            if not self._unmarked_tests_failed(session):
                session.exitstatus = self.exit_status(verdicts)
        document = self.as_json(int(session.exitstatus), verdicts)
        self._write_reports(document)
        self._junit_properties(verdicts)

    def _stop_for_a_gone_target(self, session: pytest.Session, gone: Gone) -> None:
        """Requirements with tests the stop left unrun become not run (a failure seen before the stop stands)."""
        from conformance.run.keys import item_key

        ran = {nodeid for result in self.results.values() for nodeid in result.tests}
        self.pending = {
            rid
            for item in session.items
            if item.nodeid not in ran
            for rid in item.stash.get(item_key, {}).get("requirements", ())
        }
        self.stopped = f"{UNREACHABLE}{gone.describe()}"

    def _has_table(self) -> bool:
        return self.saw_requirement_tests or (bool(self.collected) and interrupt.received() is not None)

    def _unmarked_tests_failed(self, session: pytest.Session) -> bool:
        failed = {nodeid for r in self.results.values() for nodeid, v in r.tests.items() if v is Verdict.FAIL}
        return session.testsfailed > len(failed)

    def _write_reports(self, document: dict[str, Any]) -> None:
        from conformance.render import files

        if self.options.conformance_report:
            path = Path(self.options.conformance_report)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n", "utf-8")
        if self.options.conformance_html:
            files.write_html(self.options.conformance_html, document)
        if self.options.conformance_sarif:
            files.write_sarif(self.options.conformance_sarif, document)
        files.write_summary(self.options.conformance_summary, document)
        if self.options.conformance_har:
            files.write_har(self.options.conformance_har, self.exchanges)
        if self.options.baseline and self.options.baseline_update and self.baseline_outcome is not None:
            today = datetime.date.today()
            baseline.write(self.options.baseline, baseline.updated(self.baseline_entries, self.baseline_outcome, today))

    def _junit_properties(self, verdicts: Verdicts) -> None:
        """Run-level data as testsuite properties (valid JUnit XML; testcase properties are not)."""
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        for rid, (verdict, _) in verdicts.items():
            xml.add_global_property(f"verdict {rid}", verdict.value)
        for rid, result in self.results.items():
            for nodeid, verdict in result.tests.items():
                xml.add_global_property(f"requirement {nodeid}", rid)
                if verdict in FAILED:
                    xml.add_global_property(f"violated {nodeid}", rid)

    def as_json(self, exit_status: int, verdicts: Verdicts | None = None) -> dict[str, Any]:
        verdicts = verdicts or self.verdicts()
        summary = {v.value: sum(1 for verdict, _ in verdicts.values() if verdict == v) for v in Verdict}
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "target": self.target,
            "profile": self.profile,
            "mode": self.target.get("mode"),
            "strict": self.strict,
            "started": self.started,
            "finished": self.finished,
            "exit_status": exit_status,
            "interrupted": interrupt.name(interrupt.received()) if interrupt.received() is not None else None,
            "summary": summary,
            "usage": self.usage,
            "observations": self.observations,
            "requirements": {
                rid: {
                    "level": result.requirement.level,
                    "area": result.requirement.area,
                    "title": result.requirement.title,
                    "text": result.requirement.text,
                    "verdict": verdicts[rid][0].value,
                    "reason": verdicts[rid][1],
                    "blocked_by": result.blockers() if verdicts[rid][0] is Verdict.BLOCKED else [],
                    "tests": list(result.tests),
                    "test_verdicts": {nodeid: verdict.value for nodeid, verdict in result.tests.items()},
                    "clauses": coverage.clause_probes(result.requirement, result.tests, self.clauses_of),
                    "first_failure": result.first_failure,
                    "failures": [
                        {**f.to_json(), **({"rerun": self.reruns[f.test]} if f.test in self.reruns else {})}
                        for f in result.failures
                    ],
                    **_failures_counted(result),
                }
                for rid, result in self.results.items()
            },
            "notes": self.notes,
            "recorded": self.recorded,
        }
        if self.options.baseline:
            document["baseline"] = (self.baseline_outcome or baseline.Outcome()).as_json(self.options.baseline)
        return document

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The requirement table, then the verdict line: after pytest's own summary and counts line (written at
        the end of its ``pytest_sessionfinish``), so the last line on screen is the conformance verdict."""
        terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
        if terminalreporter is None or self.session is None or not self._has_table():
            return
        verdicts, exit_code = self.verdicts(), int(self.session.exitstatus)
        self.write_table(terminalreporter, verdicts)
        colour = {"green": True} if exit_code == 0 else {"red": True}
        terminalreporter.write_line(verdict_line(verdicts, exit_code), bold=True, **colour)

    def write_table(self, terminalreporter: Any, verdicts: Verdicts) -> None:
        stopped_by = interrupt.received()
        marker = f" (interrupted by {interrupt.name(stopped_by)})" if stopped_by is not None else ""
        terminalreporter.section("requirements" + marker)
        if stopped_by is not None:
            terminalreporter.write_line(
                f"interrupted: the run was stopped by {interrupt.name(stopped_by)}; "
                "tests that did not finish are not run",
                red=True,
                bold=True,
            )
        for line, markup in self.table_lines(verdicts):
            terminalreporter.write_line(line, **markup)
        for text in self.observations:
            terminalreporter.write_line(f"observation (not a verdict): {text}")
        for name, described in self.target.get("stores", {}).items():  # which provider served each store
            terminalreporter.write_line(f"store {name}: {described.get('provider')}")
        if self.baseline_outcome is not None:
            for line in baseline.summary_lines(self.baseline_outcome, self.options.baseline):
                terminalreporter.write_line(line)
        if self.usage:
            used = ", ".join(f"{value:g} {name.replace('_', ' ')}" for name, value in self.usage.items())
            terminalreporter.write_line(f"the run used {used}")
        for path in (
            self.options.conformance_report,
            self.options.conformance_html,
            self.options.conformance_har,
            self.options.conformance_sarif,
        ):
            if path:
                terminalreporter.write_line(f"conformance report written to {path}")

    def table_lines(self, verdicts: Verdicts | None = None) -> list[tuple[str, dict]]:
        verdicts = verdicts or self.verdicts()
        lines: list[tuple[str, dict]] = [
            (f"{'ID':<8} {'level':<6} {'verdict':<14} {'tests':>5}  {'title':<34} first failure / reason", {})
        ]
        unreachable = [
            rid for rid, (_, reason) in verdicts.items() if self.stopped is not None and reason == self.stopped
        ]
        # A run the target's going away stopped: the stop is the news; what passed or was not run before it, one
        # line each (the reports have every row).
        grouped = {Verdict.PASS, Verdict.NOT_RUN} if self.stopped is not None else set()
        for rid, (verdict, reason) in verdicts.items():
            if rid in unreachable or verdict in grouped:
                continue
            result = self.results[rid]
            shown_reason = reason if verdict in (Verdict.KNOWN, Verdict.FIXED) or not result.failures else None
            detail = shown_reason or (result.failures[0].headline() if result.failures else "")
            title = result.requirement.title[:34]
            row = (
                f"{rid:<8} {result.requirement.level:<6} {verdict.value:<14} {len(result.tests):>5}  {title:<34} "
                f"{cut_at_word(detail, REASON_WIDTH)}"
            ).rstrip()
            lines.append((row, COLOURS.get(verdict, {})))
        for verdict in sorted(grouped):
            ids = [rid for rid, (v, _) in verdicts.items() if v is verdict and rid not in unreachable]
            if ids:
                label = "passed before the stop" if verdict is Verdict.PASS else "not run (see the reports)"
                lines.append((f"{label}: {', '.join(ids)}", COLOURS.get(verdict, {})))
        if unreachable:
            lines.append((f"not run: {', '.join(unreachable)}: {self.stopped}", {}))
        return lines


def _failures_counted(result: RequirementResult) -> dict[str, Any]:
    """How many tests failed the requirement, and, when the report keeps fewer of them, "20 of 60 shown"."""
    total = max(len(result.failures), len(result.failing_tests()))
    counted: dict[str, Any] = {"failures_total": total}
    if total > len(result.failures):
        counted["failures_note"] = f"{len(result.failures)} of {total} shown"
    return counted


def verdict_line(verdicts: Verdicts, exit_code: int) -> str:
    """``conformance: FAIL — 12 fail, 1 warn, 28 pass, 1 not run (exit 1)``: the run's last line."""
    word = VERDICT_WORDS.get(exit_code, "FAIL")
    tally = [
        f"{sum(1 for v, _ in verdicts.values() if v is verdict)} {verdict.value}"
        for verdict in LINE_ORDER
        if any(v is verdict for v, _ in verdicts.values())
    ]
    return f"conformance: {word} — {', '.join(tally) or 'nothing judged'} (exit {exit_code})"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
