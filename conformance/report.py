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

from conformance.verdicts import baseline
from conformance import requirements
from conformance.run import interrupt
from conformance.exchange import Exchange
from conformance.redaction import redact
from conformance.verdicts.judge import (
    JUDGED, VERDICTS, RequirementResult, classify, data_of, headline, requirement_verdicts,
)  # fmt: skip

SCHEMA_VERSION = 2
#: Exit codes of a conformance run (pytest's own, and one of ours).
NOTHING_JUDGED = 8  # pytest uses 0-6
EXIT_CODES = {
    0: "every selected requirement judged passed (or known, with a baseline)",
    1: "a MUST failed or was inconclusive, a baseline entry expired, a new failure outside the baseline; with "
       "--conformance-strict also a SHOULD failure or a fixed baseline entry; with --conformance-require-all also "
       "a MUST that was not run, blocked or inconclusive",
    2: "interrupted (a KeyboardInterrupt raised by a test)",
    3: "internal error of pytest or a plugin",
    4: "bad input: unreachable or wrong target, invalid profile, option or baseline",
    5: "no test collected",
    NOTHING_JUDGED: "tests ran, but no selected requirement was judged (e.g. --requirements PERF-1 without --load)",
    130: "interrupted by SIGINT (Ctrl-C): the target was stopped, the table and reports mark the run interrupted",
    143: "interrupted by SIGTERM (a cancelled CI job): as for SIGINT",
}  # fmt: skip
COLOURS: dict[str, dict[str, bool]] = {
    "pass": {"green": True}, "fail": {"red": True, "bold": True}, "warn": {"yellow": True},
    "inconclusive": {"yellow": True, "bold": True}, "blocked": {"purple": True}, "known": {"cyan": True},
    "fixed": {"green": True, "bold": True}, "not run": {}, "not applicable": {},
}  # fmt: skip


class RequirementReport:
    """Aggregates verdicts per requirement; applies the baseline; prints the table; writes the reports."""

    def __init__(self, config: pytest.Config, options: Any, *, selected: list[str]) -> None:
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
        self.exchanges: list[tuple[str, Exchange]] = []  # of failing tests, for the HAR
        self.reruns: dict[str, str] = {}  # nodeid -> the command that reruns a test one curl cannot reproduce
        self.baseline_entries = baseline.load(options.baseline) if options.baseline else []
        self.baseline_outcome: baseline.Outcome | None = None
        #: Under pytest-xdist: the workers' usage counts, summed by the controller.
        self.worker_usage: Any = None

    # -- collecting --------------------------------------------------------------
    def describe_target(self, *, base_url: str, mode: str, profile_name: str, profile_source: str) -> None:
        self.target = {"base_url": base_url, "mode": mode}
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
            self.exchanges.append((report.nodeid, Exchange.from_data(entry)))
        if data.get("rerun"):
            self.reruns[report.nodeid] = data["rerun"]
        if not data.get("requirements"):
            return
        if data.get("interrupted"):
            self.cut_short.add(report.nodeid)
        self.saw_requirement_tests = True
        for rid, verdict, reason, message in classify(report):
            if rid in self.results:
                self.results[rid].add(report.nodeid, verdict, reason, message)

    # -- verdicts ------------------------------------------------------------------
    def verdicts(self) -> dict[str, tuple[str, str | None]]:
        verdicts = requirement_verdicts(self.results, self.selected)
        verdicts = self._with_baseline(verdicts) if self.options.baseline else verdicts
        return self._interrupted(verdicts) if interrupt.received() is not None else verdicts

    def _interrupted(self, verdicts: dict[str, tuple[str, str | None]]) -> dict[str, tuple[str, str | None]]:
        """After SIGINT/SIGTERM: a requirement with unfinished tests is ``not run``, unless it already failed."""
        adjusted = dict(verdicts)
        for rid, nodeids in self.collected.items():
            finished = set(self.results[rid].tests) - self.cut_short if rid in self.results else set()
            unfinished = nodeids - finished
            if unfinished and rid in self.selected and verdicts[rid][0] not in ("fail", "inconclusive", "blocked"):
                adjusted[rid] = ("not run", f"interrupted by {interrupt.name(interrupt.received())} before "
                                            f"{len(unfinished)} of its {len(nodeids)} tests finished")  # fmt: skip
        return adjusted

    def _with_baseline(self, verdicts: dict[str, tuple[str, str | None]]) -> dict[str, tuple[str, str | None]]:
        failing = {rid: self.results[rid].failing_tests() for rid, (v, _) in verdicts.items() if v in ("fail", "warn")}
        judged = {rid: {n for n, v in self.results[rid].tests.items() if v in ("pass", "fail", "warn")}
                  for rid in self.results}  # fmt: skip
        outcome = baseline.judge(self.baseline_entries, failing, judged, datetime.date.today())
        self.baseline_outcome = outcome
        adjusted = dict(verdicts)
        for rid, tests in failing.items():
            known = [entry for entry, test in outcome.known if entry.requirement == rid]
            expired = [entry for entry, test in outcome.expired if entry.requirement == rid]
            if known and len(known) == len(tests):
                tickets = ", ".join(sorted({e.ticket for e in known if e.ticket})) or "no ticket"
                adjusted[rid] = ("known", f"known: {len(tests)} accepted failure(s) in the baseline ({tickets}): "
                                          f"{known[0].reason}")  # fmt: skip
            elif expired:
                adjusted[rid] = (verdicts[rid][0], f"the baseline entry expired on {expired[0].expires}")
        for entry in outcome.fixed:
            if adjusted[entry.requirement][0] == "pass":
                adjusted[entry.requirement] = ("fixed", "fixed: a baseline entry no longer fails (remove it, "
                                                        "or run --baseline-update)")  # fmt: skip
        return adjusted

    def exit_status(self, verdicts: dict[str, tuple[str, str | None]]) -> int:
        """The run's exit code by the gate policy (:data:`EXIT_CODES`)."""
        failed = False
        for rid, (verdict, reason) in verdicts.items():
            must = self.results[rid].requirement.is_must
            if verdict in ("fail", "inconclusive") and (must or self.strict):
                failed = True
            if verdict == "fixed" and self.strict:
                failed = True
            if self.options.require_all and must and rid in self.selected and verdict in (
                    "not run", "blocked", "inconclusive"):  # fmt: skip
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
        self.usage = self.worker_usage() if self.worker_usage is not None else usage_of_the_run(session.config)
        if not self._has_table():
            return
        verdicts = self.verdicts()
        if interrupt.exit_code() is not None:
            session.exitstatus = interrupt.exit_code()
        elif session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            # The gate decides, unless a test without a requirement failed (that is pytest's own failure).
            if not self._unmarked_tests_failed(session):
                session.exitstatus = self.exit_status(verdicts)
        document = self.as_json(int(session.exitstatus), verdicts)
        self._write_reports(document)
        self._junit_properties(verdicts)

    def _has_table(self) -> bool:
        return self.saw_requirement_tests or (bool(self.collected) and interrupt.received() is not None)

    def _unmarked_tests_failed(self, session: pytest.Session) -> bool:
        failed = {nodeid for r in self.results.values() for nodeid, v in r.tests.items() if v == "fail"}
        return session.testsfailed > len(failed)

    def _write_reports(self, document: dict[str, Any]) -> None:
        from conformance.render import files

        if self.options.conformance_report:
            path = Path(self.options.conformance_report)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n", "utf-8")
        if self.options.conformance_html:
            files.write_html(self.options.conformance_html, document)
        files.write_summary(self.options.conformance_summary, document)
        if self.options.conformance_har:
            files.write_har(self.options.conformance_har, self.exchanges)
        if self.options.baseline and self.options.baseline_update and self.baseline_outcome is not None:
            today = datetime.date.today()
            baseline.write(self.options.baseline, baseline.updated(self.baseline_entries, self.baseline_outcome, today))

    def _junit_properties(self, verdicts: dict[str, tuple[str, str | None]]) -> None:
        """Run-level data as testsuite properties (valid JUnit XML; testcase properties are not)."""
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        for rid, (verdict, _) in verdicts.items():
            xml.add_global_property(f"verdict {rid}", verdict)
        for rid, result in self.results.items():
            for nodeid, verdict in result.tests.items():
                xml.add_global_property(f"requirement {nodeid}", rid)
                if verdict in ("fail", "warn"):
                    xml.add_global_property(f"violated {nodeid}", rid)

    def as_json(self, exit_status: int, verdicts: dict[str, tuple[str, str | None]] | None = None) -> dict[str, Any]:
        verdicts = verdicts or self.verdicts()
        summary = {v: sum(1 for verdict, _ in verdicts.values() if verdict == v)
                   for v in (*VERDICTS, "known", "fixed")}  # fmt: skip
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
                    "verdict": verdicts[rid][0],
                    "reason": verdicts[rid][1],
                    "tests": list(result.tests),
                    "test_verdicts": dict(result.tests),
                    "first_failure": result.first_failure,
                    "failures": [{**f, **({"rerun": self.reruns[f["test"]]} if f["test"] in self.reruns else {})}
                                 for f in result.failures],  # fmt: skip
                }
                for rid, result in self.results.items()
            },
            "notes": self.notes,
            "recorded": self.recorded,
        }
        if self.options.baseline:
            document["baseline"] = (self.baseline_outcome or baseline.Outcome()).as_json(self.options.baseline)
        return document

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self._has_table():
            return
        stopped_by = interrupt.received()
        marker = f" (interrupted by {interrupt.name(stopped_by)})" if stopped_by is not None else ""
        terminalreporter.section("requirements" + marker)
        if stopped_by is not None:
            terminalreporter.write_line(f"interrupted: the run was stopped by {interrupt.name(interrupt.received())}; "
                                        "tests that did not finish are not run", red=True, bold=True)  # fmt: skip
        verdicts = self.verdicts()
        for line, markup in self.table_lines(verdicts):
            terminalreporter.write_line(line, **markup)
        for text in self.observations:
            terminalreporter.write_line(f"observation (not a verdict): {text}")
        outcome = self.baseline_outcome
        if outcome is not None and outcome.new:
            terminalreporter.write_line(f"{len(outcome.new)} failure(s) not in the baseline {self.options.baseline}; "
                                        "paste-ready entries (fill in the reason):")  # fmt: skip
            for entry in outcome.new:
                terminalreporter.write_line(f"  {entry.paste_ready()},")
        if outcome is not None and outcome.fixed:
            terminalreporter.write_line(f"{len(outcome.fixed)} baseline entr(y/ies) no longer fail: remove them "
                                        "(or run with --baseline-update)")  # fmt: skip
        if self.usage:
            used = ", ".join(f"{value:g} {name.replace('_', ' ')}" for name, value in self.usage.items())
            terminalreporter.write_line(f"the run used {used}")
        for path in (self.options.conformance_report, self.options.conformance_html, self.options.conformance_har):
            if path:
                terminalreporter.write_line(f"conformance report written to {path}")

    def table_lines(self, verdicts: dict[str, tuple[str, str | None]] | None = None) -> list[tuple[str, dict]]:
        verdicts = verdicts or self.verdicts()
        lines: list[tuple[str, dict]] = [
            (f"{'ID':<8} {'level':<6} {'verdict':<14} {'tests':>5}  {'title':<34} first failure / reason", {})]
        for rid, (verdict, reason) in verdicts.items():
            result = self.results[rid]
            shown_reason = reason if verdict in ("known", "fixed") or not result.first_failure else None
            detail = shown_reason or (headline(result.first_failure) if result.first_failure else "")
            title = result.requirement.title[:34]
            row = (f"{rid:<8} {result.requirement.level:<6} {verdict:<14} {len(result.tests):>5}  {title:<34} "
                   f"{detail[:160]}").rstrip()  # fmt: skip
            lines.append((row, COLOURS.get(verdict, {})))
        return lines


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
