"""The pytest plugin: options, the ``requirement`` marker, fixtures and hooks only.

The target (the SUT, managed or external) is opened once, eagerly, after
collection, and only when a collected test carries a ``requirement`` marker,
so ``pytest tests`` never starts a SUT; bad input stops the run with one line
(exit code 4). Bad input that needs no SUT is caught before pytest prints
anything: unwritable report paths and, when the suites are to run, an
external target that is unreachable or too slow (its preflight is the first
thing the run does) or a managed one's command or services. SIGINT and
SIGTERM stop the run cleanly at any point (:mod:`conformance.run.interrupt`).
Outcomes besides pass/fail are carried in the test reports
(:func:`conformance.outcomes.outcome_of` decides them): ``NotRun``,
``Inconclusive`` and ``NotApplicable`` (blocked by another requirement, or
not applicable) become skips with a prefixed reason, a ``Violation`` of a
SHOULD becomes an xfail ("warn: ...", a failure under ``--strict``);
:mod:`conformance.report` turns the reports into verdicts per requirement and
the exit code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import Any

import pytest

from conformance.verdicts import baseline
from conformance.run import interrupt, options, parallel, report_paths
from conformance import requirements
from conformance.wire import usage
from conformance.exchange import Exchange
from conformance.outcomes import WARN_PREFIX, outcome_of
from conformance.report import RequirementReport
from conformance.verdicts.redacted_reports import redact_report
from conformance.run.session import RunSession, SessionError

report_key = pytest.StashKey[RequirementReport]()
session_key = pytest.StashKey[RunSession]()
#: Per test: its requirement IDs and the notes it made (carried to its reports as ``report.conformance``).
item_key = pytest.StashKey[dict[str, Any]]()
#: Recorded exchanges a failure shows when its Violation does not show one itself.
EXCHANGES_SHOWN = 3


# -- options and configuration -----------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoptions(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): the catalogue requirement IDs this test checks (e.g. ENV-1, AUTH-2)"
    )
    usage.reset()
    if getattr(config, "workerinput", None) is None:  # the controller stops the workers, they stop nothing
        config.add_cleanup(interrupt.install())
    run_options = options.RunOptions.read(config)
    try:
        selected = requirements.select(run_options.requirements)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line(
        "markers", f"{parallel.EXCLUSIVE_MARKER}: a test with global side effects (restart, store outage): under "
        "pytest -n no other test runs meanwhile"
    )
    session = config.stash[session_key] = RunSession(run_options, selected)
    try:
        session.load_profile()  # a bad profile is bad input: one line, before anything runs
    except SessionError as exc:
        raise pytest.UsageError(f"conformance: {exc}") from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        session.worker_index, session.workers = parallel.worker_numbers(config)
        if "conformance_shared" in workerinput:
            session.shared = workerinput["conformance_shared"]
            config.pluginmanager.register(parallel.Worker(config, session.shared), "conformance-worker")
    else:
        unwritable = report_paths.first_problem(run_options, config.option.xmlpath)
        if unwritable is not None:
            raise pytest.UsageError(f"conformance: {unwritable}")
        try:
            report = RequirementReport(config, run_options, selected=selected)
        except baseline.BaselineError as exc:
            raise pytest.UsageError(f"conformance: {exc}") from None
        config.stash[report_key] = report
        config.pluginmanager.register(report, "conformance-report")
        if parallel.is_distributed(config):
            controller = parallel.Controller(config, session.open, lambda target: _describe(config, target))
            config.pluginmanager.register(controller, "conformance-controller")
            report.worker_usage = controller.usage
            config.add_cleanup(controller.close)
    config.add_cleanup(lambda: _close(config))
    if workerinput is None and _will_run_suites(config):
        try:  # an external target's preflight, a managed one's command: the first thing the run says
            session.check_early()
        except SessionError as exc:
            raise pytest.UsageError(f"conformance: {exc}") from None


#: pytest options after which the run sends nothing (help, listings, collection only).
NO_RUN_OPTIONS = ("help", "version", "collectonly", "showfixtures", "show_fixtures_per_test", "markers")


def _will_run_suites(config: pytest.Config) -> bool:
    """Whether this run will run the harness's suites (before collection: their paths are among the arguments)."""
    if any(getattr(config.option, name, False) for name in NO_RUN_OPTIONS):
        return False
    from conformance.run.launch import PACKAGE_DIR, ROOT_DIR

    suites = (PACKAGE_DIR.resolve(), (ROOT_DIR / "scenarios").resolve())
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::", 1)[0]).resolve()
        if any(path == suite or suite in path.parents or path in suite.parents for suite in suites):
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """A signal's traceback is one line: pytest renders the whole traceback (source included) before teardown,
    which takes seconds inside hypothesis and schemathesis, while the SUT waits to be stopped."""
    if isinstance(excinfo.value, interrupt.Interrupted) and len(excinfo.traceback) > 1:
        excinfo.traceback = excinfo.traceback[-1:]


def _close(config: pytest.Config) -> None:
    """Stop what the run started; a second Ctrl-C or SIGTERM meanwhile cannot cut it short."""
    with interrupt.shielded():
        _session(config).close()


def _session(config: pytest.Config) -> RunSession:
    return config.stash[session_key]


def pytest_report_header(config: pytest.Config) -> list[str]:
    run_options = _session(config).options
    managed = f"managed ({run_options.sut_cmd or 'embedded reference'})"
    target = f"external {run_options.base_url}" if run_options.base_url else managed
    return [f"conformance: target {target}; profile {run_options.profile or 'default'}"]


# -- the requirement marker -----------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    """Reject unknown requirement IDs at collection, like --strict-markers does for names."""
    result = yield
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, pytest.Item):
            unknown = [rid for rid in requirement_ids(item) if rid not in requirements.catalogue()]
            if unknown:
                pytest.fail(f"{item.nodeid}: unknown requirement ID {', '.join(map(repr, unknown))} "
                            f"(see conformance/requirements.toml)", pytrace=False)  # fmt: skip
    return result


def requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        ids += [str(rid) for rid in mark.args if str(rid) not in ids]
    return ids


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = _session(config)
    selected = set(session.selected)
    filtering = bool(session.options.requirements)
    keep, drop = [], []
    for item in items:
        ids = requirement_ids(item)
        if ids:
            item.stash[item_key] = {"requirements": ids, "notes": [], "recorded": {}}
        (keep if not filtering or selected.intersection(ids) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly:
        return
    if any(requirement_ids(item) for item in session.items):
        if report_key in config.stash:
            collected = config.stash[report_key].collected
            for item in session.items:
                for rid in requirement_ids(item):
                    collected.setdefault(rid, set()).add(item.nodeid)
        run = _session(config)
        try:
            target = run.open()
        except SessionError as exc:
            pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        _describe(config, target)


def _describe(config: pytest.Config, target: Any) -> None:
    if report_key in config.stash:
        profile = _session(config).load_profile()
        config.stash[report_key].describe_target(
            base_url=target.base_url, mode=target.mode, profile_name=profile.name, profile_source=profile.source
        )


# -- outcomes --------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Generator[None, Any, Any]:
    """Stop after a test during which the run was interrupted, even if a tool swallowed the KeyboardInterrupt."""
    interrupt.check()
    result = yield
    interrupt.check()
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    recorder = _session(item.config).recorder
    if recorder is not None:
        recorder.begin()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    stashed = item.stash.get(item_key, None)
    if stashed is not None:
        report.conformance = {"requirements": list(stashed["requirements"])}  # survives xdist, unlike the item
        if report.when == "call":
            report.conformance["notes"] = list(stashed["notes"])
            report.conformance["recorded"] = dict(stashed["recorded"])
            report.conformance["observations"] = _observations(item)
        _apply_outcome(item, call, report)
    _interrupted_outcome(item, call, report)
    redact_report(report)  # last: what any reporter sees holds no secret
    return report


def _interrupted_outcome(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """A test that failed because SIGINT/SIGTERM cut it short did not finish: ``not run``, unless the SUT failed.

    The signal can land anywhere, and some code turns it into another error (in
    ``ast.parse`` it becomes a ``SystemError``): that is the interrupt's doing,
    not a verdict on the SUT. A Violation found before the signal still stands.
    """
    from conformance.outcomes import NOT_RUN_PREFIX
    from conformance.verdicts.judge import data_of

    stopped_by = interrupt.received()
    if stopped_by is None or call.excinfo is None or not report.failed or data_of(report).get("violated"):
        return
    path, lineno, _ = item.reportinfo()
    report.outcome = "skipped"
    report.longrepr = (str(path), (lineno or 0) + 1, f"{NOT_RUN_PREFIX}interrupted by {interrupt.name(stopped_by)}")
    if isinstance(getattr(report, "conformance", None), dict):
        report.conformance["interrupted"] = True  # the report counts it among the unfinished tests


def _observations(item: pytest.Item) -> list[str]:
    """What the connection handling noticed about the SUT (not verdicts), on the report of the test that saw it."""
    api = _session(item.config).api
    return api.observations() if api is not None else []


def _apply_outcome(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    if call.excinfo is None or not report.failed:
        return
    outcome = outcome_of(call.excinfo.value)
    path, lineno, _ = item.reportinfo()
    session = _session(item.config)
    if outcome.skip_reason is not None:
        report.outcome, report.longrepr = "skipped", (str(path), (lineno or 0) + 1, outcome.skip_reason)
        if outcome.kind == "inconclusive":
            _attach_exchanges(item, report)
        return
    data = report.conformance
    rerun = _rerun_command(item, outcome)
    if rerun:
        data["rerun"] = rerun
    if outcome.kind == "violation":  # a Violation fails only the requirement it names
        data["violated"] = list(dict.fromkeys(v.requirement for v in outcome.violations))
        data["message"] = "\n\n".join(v.render() for v in outcome.violations)
        if item.config.option.tbstyle == "auto":  # the Violation block, not tool internals; --tb gives those
            report.longrepr = ViolationRepr(_shown_block(session, outcome.violations, rerun), str(path), lineno or 0)
        if not session.options.strict and all(_is_should(v.requirement) or v.should for v in outcome.violations):
            report.outcome = "skipped"
            report.wasxfail = WARN_PREFIX + str(outcome.violations[0]).splitlines()[0]
        if any(v.exchange is None for v in outcome.violations):
            _attach_exchanges(item, report)
    else:
        _attach_exchanges(item, report)
    if session.options.conformance_har and session.recorder is not None:
        data["exchanges"] = [entry.to_data() for entry in session.recorder.recent() if isinstance(entry, Exchange)]


def _shown_block(session: RunSession, violations: Any, rerun: str | None) -> str:
    """The first failure of each requirement in full; later ones in one line each (``--tb=long``, the JSON and
    HTML reports have every block), so that a SUT failing dozens of tests prints a page, not thousands of lines."""
    blocks = []
    for violation in violations:
        if violation.requirement in session.shown_in_full:
            blocks.append(f"{violation.requirement}  {violation.title}: Actual: {violation.actual} (Expected: "
                          f"{violation.expected}); in full with --tb=long or in the reports")  # fmt: skip
        else:
            session.shown_in_full.add(violation.requirement)
            blocks.append(violation.render())
    return "\n\n".join(blocks) + (f"\n  Rerun: {rerun}" if rerun else "")


class ViolationRepr:
    """A failure's Violation block as pytest's long representation (``--tb`` replaces it with the traceback)."""

    def __init__(self, text: str, path: str, lineno: int) -> None:
        from conformance.redaction import redact

        self.text = redact(text)  # the one-line form of later failures and the Rerun line too
        self.reprcrash = _Crash(text.splitlines()[0] if text else "", path, lineno)

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


class _Crash:
    def __init__(self, message: str, path: str, lineno: int) -> None:
        self.message, self.path, self.lineno = message, path, lineno


#: Test modules whose failures one request cannot reproduce (races, restarts, outages, configuration starts).
SCENARIO_PACKAGE = "scenarios"


def _rerun_command(item: pytest.Item, outcome: Any) -> str | None:
    """The harness command that reruns a test one curl line cannot reproduce, with the run's options."""
    in_scenarios = item.nodeid.split("/", 1)[0] == SCENARIO_PACKAGE or "/scenarios/" in str(item.path)
    without_exchange = any(v.exchange is None for v in getattr(outcome, "violations", ()))
    if not (in_scenarios or without_exchange):
        return None
    args = [arg for arg in item.config.invocation_params.args if not _is_test_path(item.config, arg)]
    seed = item.config.getoption("hypothesis_seed", None) if item.config.pluginmanager.has_plugin("hypothesis") else None
    extra = [f"--hypothesis-seed={seed}"] if seed is not None else []
    import shlex

    return shlex.join(["python", "-m", "pytest", *args, *extra, item.nodeid])


def _is_test_path(config: pytest.Config, arg: str) -> bool:
    if arg.startswith("-"):
        return False
    candidate = (config.invocation_params.dir / arg.split("::", 1)[0])
    return "::" in arg or candidate.suffix == ".py" or candidate.is_dir()


def _is_should(requirement_id: str) -> bool:
    try:
        return not requirements.get(requirement_id).is_must
    except KeyError:
        return False


def _attach_exchanges(item: pytest.Item, report: pytest.TestReport) -> None:
    recorder = _session(item.config).recorder
    if recorder is not None and recorder.recent():
        shown = recorder.render(last=EXCHANGES_SHOWN if item.config.option.tbstyle == "auto" else None)
        report.sections.append(("recorded exchanges (latest last)", shown))


#: For the harness's own tests only: where to write the secrets the run used, to search its outputs for them.
SECRETS_DUMP_ENV = "CONFORMANCE_SELFTEST_SECRETS_FILE"


def pytest_sessionfinish(session: pytest.Session) -> None:
    _close(session.config)
    if interrupt.exit_code() is not None:  # 130 (SIGINT) or 143 (SIGTERM), as a shell reports them
        session.exitstatus = interrupt.exit_code()
    dump = os.environ.get(SECRETS_DUMP_ENV)
    if dump:
        from conformance import redaction

        with open(dump, "a", encoding="utf-8") as out:
            out.writelines(json.dumps(value) + "\n" for value in redaction.registered())


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def run_options(pytestconfig: pytest.Config) -> options.RunOptions:
    """The run's options, typed (``conformance.run.options.RunOptions``)."""
    return _session(pytestconfig).options


@pytest.fixture
def conformance_note(request: pytest.FixtureRequest) -> Any:
    """``conformance_note(text)``: a note on this test for the reports (not a verdict; JUnit-safe)."""
    stashed = request.node.stash.get(item_key, None)

    def note(text: str) -> None:
        if stashed is not None:
            stashed["notes"].append(str(text))

    return note


@pytest.fixture
def conformance_record(request: pytest.FixtureRequest) -> Any:
    """``conformance_record(key, value)``: JSON-able data of this test for the JSON report (e.g. fuzz case counts)."""
    stashed = request.node.stash.get(item_key, None)

    def record(key: str, value: Any) -> None:
        if stashed is not None:
            stashed["recorded"][str(key)] = value

    return record


@pytest.fixture(scope="session")
def strict(run_options: options.RunOptions) -> bool:
    """Whether SHOULD failures fail the run (``--conformance-strict`` or pytest's ``--strict``)."""
    return run_options.strict


@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Any:
    """The SUT's profile (``conformance.profile.Profile``)."""
    return _session(pytestconfig).load_profile()  # validated in pytest_configure


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Any:
    """The system under test (``conformance.sut.base.Target``)."""
    try:
        return _session(pytestconfig).open()
    except SessionError as exc:
        pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def api(target: Any, pytestconfig: pytest.Config) -> Any:
    """``conformance.wire.client.ApiClient`` for the target; every exchange is recorded for failure reports."""
    return _session(pytestconfig).api


@pytest.fixture(scope="session")
def accounts(api: Any, target: Any, profile: Any, run_options: options.RunOptions) -> Any:
    """``conformance.actors.accounts.AccountFactory``: throwaway accounts of this run."""
    from conformance.actors.accounts import AccountFactory

    return AccountFactory(api, target, profile, email_domain=run_options.email_domain)


@pytest.fixture(scope="session")
def user(accounts: Any) -> Any:
    """One shared, logged-in ordinary account for read-only tests: never log it out or change it."""
    return accounts.new()
