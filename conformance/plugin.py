"""The pytest plugin: options, the ``requirement`` marker, fixtures and hooks only.

The target (the SUT, managed or external) is opened once, eagerly, after
collection, and only when a collected test carries a ``requirement`` marker,
so ``pytest tests`` never starts a SUT; bad input stops the run with one line
(exit code 4). Outcomes besides pass/fail are carried in the test reports
(:func:`conformance.outcomes.outcome_of` decides them): ``NotRun``,
``Inconclusive`` and ``NotApplicable`` (blocked by another requirement, or
not applicable) become skips with a prefixed reason, a ``Violation`` of a
SHOULD becomes an xfail ("warn: ...", a failure under ``--strict``);
:mod:`conformance.report` turns the reports into verdicts per requirement and
the exit code.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from conformance import options, requirements, usage
from conformance.outcomes import WARN_PREFIX, outcome_of
from conformance.report import RequirementReport
from conformance.report_redaction import redact_report
from conformance.target.session import RunSession, SessionError

report_key = pytest.StashKey[RequirementReport]()
session_key = pytest.StashKey[RunSession]()


# -- options and configuration -----------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoptions(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): the catalogue requirement IDs this test checks (e.g. ENV-1, AUTH-2)"
    )
    usage.reset()
    run_options = options.RunOptions.read(config)
    try:
        selected = requirements.select(run_options.requirements)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    session = config.stash[session_key] = RunSession(run_options, selected)
    try:
        session.load_profile()  # a bad profile is bad input: one line, before anything runs
    except SessionError as exc:
        raise pytest.UsageError(f"conformance: {exc}") from None
    if not hasattr(config, "workerinput"):
        report = RequirementReport(config, json_path=run_options.conformance_report, strict=run_options.strict,
                                   selected=selected)  # fmt: skip
        config.stash[report_key] = report
        config.pluginmanager.register(report, "conformance-report")
    config.add_cleanup(lambda: _session(config).close())


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
        for rid in ids:
            item.user_properties.append(("requirement", rid))
        (keep if not filtering or selected.intersection(ids) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly:
        return
    if any(requirement_ids(item) for item in session.items):
        run = _session(config)
        try:
            target = run.open()
        except SessionError as exc:
            pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        if report_key in config.stash:
            profile = run.load_profile()
            config.stash[report_key].describe_target(
                base_url=target.base_url, mode=target.mode, profile_name=profile.name, profile_source=profile.source
            )


# -- outcomes --------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    recorder = _session(item.config).recorder
    if recorder is not None:
        recorder.begin()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    _note_observations(item, report)
    _apply_outcome(item, call, report)
    redact_report(report)  # last: what any reporter sees holds no secret
    return report


def _note_observations(item: pytest.Item, report: pytest.TestReport) -> None:
    """What the connection handling noticed about the SUT (not verdicts), on the report of the test that saw it."""
    api = _session(item.config).api
    if api is not None and report.when == "call":
        report.user_properties += [("observation", text) for text in api.observations()]


def _apply_outcome(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    if call.excinfo is None or not report.failed:
        return
    outcome = outcome_of(call.excinfo.value)
    path, lineno, _ = item.reportinfo()
    if outcome.skip_reason is not None:
        report.outcome, report.longrepr = "skipped", (str(path), (lineno or 0) + 1, outcome.skip_reason)
        if outcome.kind == "inconclusive":
            _attach_exchanges(item, report)
        return
    if outcome.kind == "violation":  # a Violation fails only the requirement it names
        for violation in outcome.violations:
            report.user_properties.append(("violated", violation.requirement))
        if not _session(item.config).options.strict and all(_is_should(v.requirement) for v in outcome.violations):
            report.outcome = "skipped"
            report.wasxfail = WARN_PREFIX + str(outcome.violations[0]).splitlines()[0]
    _attach_exchanges(item, report)


def _is_should(requirement_id: str) -> bool:
    try:
        return not requirements.get(requirement_id).is_must
    except KeyError:
        return False


def _attach_exchanges(item: pytest.Item, report: pytest.TestReport) -> None:
    recorder = _session(item.config).recorder
    if recorder is not None and recorder.recent():
        report.sections.append(("recorded exchanges (latest last)", recorder.render()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    _session(session.config).close()


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def run_options(pytestconfig: pytest.Config) -> options.RunOptions:
    """The run's options, typed (``conformance.options.RunOptions``)."""
    return _session(pytestconfig).options


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
    """The system under test (``conformance.target.base.Target``)."""
    try:
        return _session(pytestconfig).open()
    except SessionError as exc:
        pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def api(target: Any, pytestconfig: pytest.Config) -> Any:
    """``conformance.client.ApiClient`` for the target; every exchange is recorded for failure reports."""
    return _session(pytestconfig).api


@pytest.fixture(scope="session")
def accounts(api: Any, target: Any, profile: Any, run_options: options.RunOptions) -> Any:
    """``conformance.accounts.AccountFactory``: throwaway accounts of this run."""
    from conformance.accounts import AccountFactory

    return AccountFactory(api, target, profile, email_domain=run_options.email_domain)


@pytest.fixture(scope="session")
def user(accounts: Any) -> Any:
    """One shared, logged-in ordinary account for read-only tests: never log it out or change it."""
    return accounts.new()
