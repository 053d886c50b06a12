"""The pytest plugin: options, the ``requirement`` and ``clause`` markers, fixtures and hooks only.

The target (the SUT, managed or external) is opened once, eagerly, after
collection, and only when a collected test carries a ``requirement`` marker,
so ``pytest tests`` never starts a SUT; bad input stops the run with one line
(exit code 4). A test's outcome (:func:`conformance.outcomes.outcome_of`
decides it) travels as data on its reports (``report.conformance["outcome"]``:
verdict, reason, blockers, each Violation's fields); for pytest's own eyes
``NotRun``, ``Inconclusive`` and ``NotApplicable`` (blocked by another
requirement, or not applicable) become skips and a ``Violation`` of a SHOULD an
xfail (a failure under ``--strict``), whose reasons are for people only;
:mod:`conformance.report` turns the reports' data into verdicts per requirement
and the exit code. Bad input that needs no SUT is caught before pytest
prints anything: unwritable report paths and, when the suites are to run, an
external target that is unreachable or too slow (its preflight is the first
thing the run does) or a managed one's command or services. SIGINT and
SIGTERM stop the run cleanly at any point (:mod:`conformance.run.interrupt`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.actors.accounts import Account, AccountFactory
    from conformance.profile import Profile
    from conformance.sut.base import Target
    from conformance.wire.client import ApiClient

from conformance import requirements
from conformance.outcomes import NotRun, Outcome, Verdict, Violation, leaves_of, outcome_of
from conformance.report import RequirementReport
from conformance.run import interrupt, options, parallel, progress, report_paths
from conformance.run.keys import gone_key, item_key, report_key, session_key, shown_key, signals_key
from conformance.run.markers import clause_ids, requirement_ids
from conformance.run.plan import minutes
from conformance.run.session import RunSession, SessionError
from conformance.verdicts import baseline
from conformance.verdicts.redacted_reports import redact_report
from conformance.wire import usage, waiting
from conformance.wire.recording import SHOWN_PER_FAILURE
from conformance.wire.target_watch import WATCH, TargetGone

#: Recorded exchanges a failure shows when its Violation does not show one itself.
EXCHANGES_SHOWN = 3


# -- options and configuration -----------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoptions(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): the catalogue requirement IDs this test checks (e.g. ENV-1, AUTH-2)"
    )
    config.addinivalue_line(
        "markers",
        "exhausts_limit(operation): the test spends a declared rate limit's window from the run's own "
        "address (single-source RATE-1): it runs after every other test",
    )
    config.addinivalue_line(
        "markers",
        "clause(*ids): the catalogue clauses this test exercises (e.g. DATA-1/update); {name} is "
        "filled with the test's parameter of that name",
    )
    usage.reset()
    waiting.reset()
    if getattr(config, "workerinput", None) is None and _will_run_suites(config):
        _handle_signals(config)  # the controller stops the workers, they stop nothing
    run_options = options.RunOptions.read(config)
    try:
        selected = requirements.select(run_options.requirements)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line(
        "markers",
        f"{parallel.EXCLUSIVE_MARKER}: a test with global side effects (restart, store outage): under "
        "pytest -n no other test runs meanwhile",
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


def _handle_signals(config: pytest.Config) -> None:
    """SIGINT and SIGTERM stop the run cleanly (:mod:`conformance.run.interrupt`); only in a conformance run:
    the project's own tests raise SIGINT on purpose and must not stop the run that runs them."""
    if not config.stash.get(signals_key, False):
        config.stash[signals_key] = True
        config.add_cleanup(interrupt.install())


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
    settings = _session(config).options.sut
    managed = f"managed ({settings.sut_cmd or 'embedded reference'})"
    target = f"external {settings.base_url}" if settings.base_url else managed
    lines = [f"conformance: target {target}; profile {settings.profile_path or 'default'}"]
    if not settings.base_url:  # the plan; which provider served each store is said once they are up
        from conformance.sut import providers

        given = {name: url for name, url in (("redis", settings.redis_url), ("mongo", settings.mongo_url)) if url}
        plan = providers.planned_providers(list(settings.services), given, settings.containers)
        lines.append("conformance: stores: " + "; ".join(plan))
    return lines


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
                pytest.fail(
                    f"{item.nodeid}: unknown requirement ID {', '.join(map(repr, unknown))} "
                    f"(see conformance/requirements.toml)",
                    pytrace=False,
                )
            try:
                clause_ids(item)
            except ValueError as exc:
                pytest.fail(f"{item.nodeid}: {exc} (see conformance/requirements.toml)", pytrace=False)
    return result


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = _session(config)
    selected = set(session.selected)
    filtering = bool(session.options.requirements)
    keep, drop = [], []
    for item in items:
        ids = requirement_ids(item)
        if ids:
            item.stash[item_key] = {"requirements": ids, "clauses": clause_ids(item), "notes": [], "recorded": {}}
        (keep if not filtering or selected.intersection(ids) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    # Tests that exhaust a declared limit from the run's address go after every other user of it (stable).
    items.sort(key=lambda item: item.get_closest_marker("exhausts_limit") is not None)


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
        if getattr(config, "workerinput", None) is None:
            _handle_signals(config)  # suites named another way (--pyargs, a path of the user's)
        try:
            target = run.open()
        except SessionError as exc:
            pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        _describe(config, target)
        _announce_the_plan(config, run, [item.nodeid for item in session.items if requirement_ids(item)])


def _announce_the_plan(config: pytest.Config, run: RunSession, test_ids: list[str]) -> None:
    """Before any traffic: what the declared limits will make the run wait, at least."""
    from conformance.wire.sources import single_source

    plan = run.make_plan(test_ids)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if plan is None or terminal is None or not (plan.needs or run.beyond_budget) or run.target is None:
        return
    if single_source(run.target.base_url):  # from source addresses of its own, each burst has a budget apart
        terminal.write_line(f"conformance: plan from one source address: {plan.describe()}")
    if run.beyond_budget:
        budget = minutes(run.options.time_budget or 0)
        terminal.write_line(
            f"conformance: --time-budget {budget}: {len(run.beyond_budget)} test(s) not run to keep within it "
            f"(the costliest in rate-limited requests): {', '.join(sorted(run.beyond_budget))}"
        )


def _describe(config: pytest.Config, target: Any) -> None:
    if report_key in config.stash:
        profile = _session(config).load_profile()
        stores = target.extra.get("stores") or {}
        config.stash[report_key].describe_target(
            base_url=target.base_url,
            mode=target.mode,
            profile_name=profile.name,
            profile_source=profile.source,
            stores=stores,
        )
        _say_which_provider_serves_each_store(config, stores)


def _say_which_provider_serves_each_store(config: pytest.Config, stores: dict[str, Any]) -> None:
    """``conformance: redis: testcontainers redis:7`` on the terminal, once the stores are up: never silently."""
    from conformance.sut.providers import provider_line

    terminal = config.pluginmanager.get_plugin("terminalreporter")
    for name, described in stores.items():
        if terminal is not None:
            terminal.write_line(f"conformance: {provider_line(name, described)}")


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
    session = _session(item.config)
    if session.recorder is not None:
        session.recorder.begin()
    if session.api is not None:
        session.api.pacer.start_test(item.nodeid)  # the plan's costs: what each test sends to limited operations
    stashed = item.stash.get(item_key, None)
    if stashed is not None:
        stashed["waited_before"] = waiting.snapshot()  # a timeout names what the test waited for
    over = session.beyond_budget.get(item.nodeid)
    if over is not None:
        budget = minutes(session.options.time_budget or 0)
        enable = "a longer --time-budget, or a higher limit for the harness's address"
        raise NotRun(f"{over} of {budget} waiting", option=enable)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    stashed = item.stash.get(item_key, None)
    if stashed is not None:
        report.conformance = {
            "requirements": list(stashed["requirements"]),  # survives xdist, unlike the item
            "clauses": list(stashed.get("clauses", ())),
        }
        if report.when == "call":
            report.conformance["notes"] = list(stashed["notes"])
            report.conformance["recorded"] = dict(stashed["recorded"])
            report.conformance["observations"] = _observations(item)
        _apply_outcome(item, call, report)
    _interrupted_outcome(item, call, report)
    redact_report(report)  # last: what any reporter sees holds no secret
    if report.failed:
        item.stash.setdefault(shown_key, {})[report.when] = report.longrepr
    return report


@pytest.hookimpl(trylast=True)
def pytest_exception_interact(node: pytest.Item, call: pytest.CallInfo[Any], report: Any) -> None:
    """Give a failed report back the representation made above: schemathesis' pytest plugin replaces that of any
    test ending in an exception group whose members were raised on one line with its own text, unredacted (a
    registered secret was printed) and "deduplicated" (two Violations raised in a loop showed as one)."""
    shown = node.stash.get(shown_key, {}) if isinstance(report, pytest.TestReport) else {}
    if report.when in shown and report.longrepr is not shown[report.when]:
        report.longrepr = shown[report.when]
        redact_report(report)


def _interrupted_outcome(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """A test that failed because SIGINT/SIGTERM cut it short did not finish: ``not run``, unless the SUT failed.

    The signal can land anywhere, and some code turns it into another error (in
    ``ast.parse`` it becomes a ``SystemError``): that is the interrupt's doing,
    not a verdict on the SUT. A Violation found before the signal still stands.
    """
    from conformance.verdicts.judge import data_of

    stopped_by = interrupt.received()
    if stopped_by is None or call.excinfo is None or not report.failed:
        return
    outcome = data_of(report).get("outcome") or {}
    if outcome.get("violations") and not outcome.get("error"):
        return  # the SUT failed before the signal: that stands
    interrupted = Outcome(Verdict.NOT_RUN, f"interrupted by {interrupt.name(stopped_by)}")
    path, lineno, _ = item.reportinfo()
    report.outcome = "skipped"
    report.longrepr = (str(path), (lineno or 0) + 1, interrupted.skip_reason)
    if isinstance(getattr(report, "conformance", None), dict):
        report.conformance["outcome"] = interrupted.to_data()
        report.conformance["interrupted"] = True  # the report counts it among the unfinished tests


def _observations(item: pytest.Item) -> list[str]:
    """What the connection handling noticed about the SUT (not verdicts), on the report of the test that saw it."""
    api = _session(item.config).api
    return api.observations() if api is not None else []


def _apply_outcome(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    if call.excinfo is None or not report.failed:
        return
    if _stopped_by_a_gone_target(item, call, report):
        return
    outcome = outcome_of(call.excinfo.value)
    path, lineno, _ = item.reportinfo()
    session = _session(item.config)
    timed_out = _timeout_of(call.excinfo.value)
    if timed_out is not None and not outcome.violations:  # a violation seen before the timeout stands
        outcome = Outcome(Verdict.INCONCLUSIVE, _timeout_reason(item, session, timed_out))
    if outcome.only_should and not session.options.strict:
        outcome = outcome.as_warning()
    data = report.conformance
    data["outcome"] = outcome.to_data()  # what the report reads: nothing parses the texts below back
    if outcome.skip_reason is not None:
        report.outcome, report.longrepr = "skipped", (str(path), (lineno or 0) + 1, outcome.skip_reason)
        if outcome.verdict is Verdict.INCONCLUSIVE:
            _attach_exchanges(item, report)
        return
    rerun = _rerun_command(item, outcome)
    if rerun:
        data["rerun"] = rerun
    if outcome.violations and not outcome.error:  # a Violation fails (or warns) only the requirement it names
        if item.config.option.tbstyle == "auto":  # the Violation block, not tool internals; --tb gives those
            report.longrepr = ViolationRepr(_shown_block(session, outcome.violations, rerun), str(path), lineno or 0)
        if outcome.verdict is Verdict.WARN:
            report.outcome = "skipped"
            report.wasxfail = "warn: " + str(outcome.violations[0]).splitlines()[0]
        if any(v.exchange is None for v in outcome.violations):
            _attach_exchanges(item, report)
    else:
        _attach_exchanges(item, report)
    if session.options.conformance_har and session.recorder is not None:
        data["exchanges"] = [attempt.to_data() for attempt in session.recorder.recent()]  # answered or not


#: pytest-timeout's own failure (``pytest_timeout.PYTEST_FAILURE_MESSAGE``): only pytest's ``Failed`` with exactly
#: this message is a timeout, never a violation whose text quotes it.
TIMEOUT_MESSAGE = re.compile(r"Timeout \(>[0-9.]+s\) from pytest-timeout\.")


def _timeout_of(exc: BaseException) -> str | None:
    """pytest-timeout's message when it stopped the test (also from inside Hypothesis, which wraps it)."""
    for leaf in leaves_of(exc):
        seen: BaseException | None = leaf
        for _ in range(4):  # the leaf, and what it wraps
            if seen is None:
                break
            message = str(getattr(seen, "msg", "") or "")
            if isinstance(seen, pytest.fail.Exception) and TIMEOUT_MESSAGE.fullmatch(message):
                return message
            seen = seen.__cause__ or seen.__context__
    return None


def _timeout_reason(item: pytest.Item, session: RunSession, message: str) -> str:
    """Why a timeout is inconclusive, never a fail: what the test waited for (not counted) and its last request."""
    before = item.stash.get(item_key, {}).get("waited_before", {})
    waits = [(what, seconds - before.get(what, 0.0)) for what, seconds in waiting.snapshot().items()]
    waited = ", ".join(f"{seconds:.0f} s for {what}" for what, seconds in waits if seconds >= 1)
    recent = session.recorder.recent() if session.recorder is not None else []
    last = f"; its last request: {recent[-1].label}" if recent else ""
    return (
        f"{message} The test ran past its time, waits for declared limits not counted "
        f"({waited or 'it waited for none'}){last}: nothing was judged (raise --timeout)"
    )


def _stopped_by_a_gone_target(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> bool:
    """The target went away during this test: the test is not run (nothing it saw can be judged), and so is
    every test after it; the run stops with one line (:mod:`conformance.wire.target_watch`)."""
    leaves = leaves_of(call.excinfo.value)
    if any(isinstance(leaf, Violation) for leaf in leaves):
        return False  # a violation the test saw before the target went stands
    raised = next((leaf for leaf in leaves if isinstance(leaf, TargetGone)), None)
    # Threads of a burst that met the refused connections while another one asked the health fail with the
    # transport's error: what the test ended with is the gone target's doing all the same.
    gone = raised or (TargetGone(WATCH.gone) if WATCH.gone is not None else None)
    if gone is None:
        return False
    outcome = Outcome(Verdict.NOT_RUN, f"target unreachable: {gone.since.describe()}")
    report.conformance["outcome"] = outcome.to_data()
    path, lineno, _ = item.reportinfo()
    report.outcome, report.longrepr = "skipped", (str(path), (lineno or 0) + 1, outcome.skip_reason)
    report.sections.clear()
    item.session.shouldstop = f"conformance: {gone.since.describe()}"
    item.config.stash[gone_key] = gone.since
    return True


def _shown_block(session: RunSession, violations: Any, rerun: str | None) -> str:
    """The first failure of each requirement in full; later ones in one line each (``--tb=long``, the JSON and
    HTML reports have every block), so that a SUT failing dozens of tests prints a page, not thousands of lines."""
    blocks = []
    for violation in violations:
        if violation.requirement in session.shown_in_full:
            blocks.append(
                f"{violation.requirement}  {violation.title}: Actual: {violation.actual} (Expected: "
                f"{violation.expected}); in full with --tb=long or in the reports"
            )
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
    """The harness command that reruns a test one curl line cannot reproduce (:mod:`conformance.run.rerun`)."""
    from conformance.run import rerun

    in_scenarios = item.nodeid.split("/", 1)[0] == SCENARIO_PACKAGE or "/scenarios/" in str(item.path)
    without_exchange = any(v.exchange is None for v in getattr(outcome, "violations", ()))
    if not (in_scenarios or without_exchange):
        return None
    seed = (
        item.config.getoption("hypothesis_seed", None) if item.config.pluginmanager.has_plugin("hypothesis") else None
    )
    extra = [f"--hypothesis-seed={seed}"] if seed is not None else []
    return rerun.command(item.config, item.nodeid, item.path, _session(item.config).options, extra).render()


def _attach_exchanges(item: pytest.Item, report: pytest.TestReport) -> None:
    recorder = _session(item.config).recorder
    if recorder is not None and recorder.recent():
        shown = recorder.render(last=EXCHANGES_SHOWN if item.config.option.tbstyle == "auto" else SHOWN_PER_FAILURE)
        report.sections.append(("recorded exchanges (latest last)", shown))


#: For the harness's own tests only: where to write the secrets the run used, to search its outputs for them.
SECRETS_DUMP_ENV = "CONFORMANCE_SELFTEST_SECRETS_FILE"


def pytest_sessionstart(session: pytest.Session) -> None:
    progress.install(session.config)  # the terminal reporter exists by now


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    progress.restate_file()  # before the terminal writes the result after a status line


def pytest_sessionfinish(session: pytest.Session) -> None:
    progress.uninstall()
    _session(session.config).save_costs()
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
def conformance_note(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``conformance_note(text)``: a note on this test for the reports (not a verdict; JUnit-safe)."""
    stashed = request.node.stash.get(item_key, None)

    def note(text: str) -> None:
        if stashed is not None:
            stashed["notes"].append(str(text))

    return note


@pytest.fixture
def conformance_record(request: pytest.FixtureRequest) -> Callable[[str, Any], None]:
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
def profile(pytestconfig: pytest.Config) -> Profile:
    """The SUT's profile."""
    return _session(pytestconfig).load_profile()  # validated in pytest_configure


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The system under test."""
    try:
        return _session(pytestconfig).open()
    except SessionError as exc:
        pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def api(target: Target, pytestconfig: pytest.Config) -> ApiClient:
    """The suites' client for the target; every exchange is recorded for failure reports."""
    client = _session(pytestconfig).api
    assert client is not None, "the target is open"
    return client


@pytest.fixture(scope="session")
def accounts(api: ApiClient, target: Target, profile: Profile, run_options: options.RunOptions) -> AccountFactory:
    """Throwaway accounts of this run."""
    from conformance.actors.accounts import AccountFactory

    return AccountFactory(api, target, profile, email_domain=run_options.email_domain)


@pytest.fixture(scope="session")
def user(accounts: AccountFactory) -> Account:
    """One shared, logged-in ordinary account for read-only tests: never log it out or change it."""
    return accounts.new()
