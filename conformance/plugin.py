"""The pytest plugin: options, the ``requirement`` marker, fixtures and hooks only.

The target (the SUT, managed or external) is opened once, eagerly, after
collection, and only when a collected test carries a ``requirement`` marker,
so ``pytest tests`` never starts a SUT; bad input stops the run with one line
(exit code 4). Outcomes besides pass/fail are carried in the test reports:
``NotRun`` and ``Inconclusive`` become skips ("not run: ..." /
"inconclusive: ..."), a ``Violation`` of a SHOULD becomes an xfail
("warn: ...", a failure under ``--strict``); :mod:`conformance.report` turns
the reports into verdicts per requirement and the exit code.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

from conformance import requirements
from conformance.outcomes import Inconclusive, NotRun, Violation
from conformance.report import INCONCLUSIVE_PREFIX, NOT_RUN_PREFIX, WARN_PREFIX, RequirementReport

report_key = pytest.StashKey[RequirementReport]()
state_key = pytest.StashKey[dict[str, Any]]()

#: option -> (environment variable, help). Precedence: command line, environment, ini key
#: (``conformance_<name>``, e.g. ``conformance_profile``), then DEFAULTS; read with setting().
OPTIONS = {
    "--profile": ("CONFORMANCE_PROFILE",
                  "TOML file describing the SUT's HTTP surface, merged over the default HealLog profile."),
    "--sut-cmd": ("CONFORMANCE_SUT_CMD",
                  "Managed mode: command starting the SUT (placeholders {python} {host} {port} {data_dir} "
                  "{redis_url} {smtp_host} {smtp_port} {mongo_url}); default: the embedded reference."),
    "--services": ("CONFORMANCE_SERVICES",
                   "Managed mode: comma-separated backing services the SUT needs (redis, mongo). Default: redis."),
    "--restart-cmd": ("CONFORMANCE_RESTART_CMD", "External mode: command that restarts the SUT (REV-3, LOCK-4)."),
    # Not --log-file: that is pytest's own (where pytest writes *its* log).
    "--sut-log-file": ("CONFORMANCE_SUT_LOG_FILE", "External mode: file the SUT writes its log lines to (LOG-1..3)."),
    "--sut-log-cmd": ("CONFORMANCE_SUT_LOG_CMD", "External mode: command printing the SUT's log lines (LOG-1..3)."),
    "--peer-url": ("CONFORMANCE_PEER_URL", "Base URL of a second instance sharing the SUT's stores (REV-4, LOCK-4)."),
    "--accounts": ("CONFORMANCE_ACCOUNTS",
                   "TOML file of pre-provisioned privileged accounts ([[account]] email password plan role)."),
    "--otp-cmd": ("CONFORMANCE_OTP_CMD", "Command printing the one-time code for {email}."),
    "--fixed-otp": ("CONFORMANCE_FIXED_OTP", "The one-time code of a SUT running in a test mode that pins codes."),
    "--jwt-secret": ("CONFORMANCE_JWT_SECRET",
                     "The SUT's HS256 signing secret (expired-token variants; minted privileged tokens)."),
    "--seed-cmd": ("CONFORMANCE_SEED_CMD",
                   "Command creating a verified account ({email} {password} {plan} {role} {data_dir})."),
    "--startup-timeout": ("CONFORMANCE_STARTUP_TIMEOUT",
                          "Seconds to wait for a started SUT to become healthy. Default: 20."),
    "--requirements": ("CONFORMANCE_REQUIREMENTS",
                       "Run only the tests of these requirement IDs or globs, e.g. ENV-1,AUTH-*."),
    "--conformance-report": ("CONFORMANCE_REPORT", "Write the per-requirement report as JSON to this path."),
    "--load": ("CONFORMANCE_LOAD",
               "PERF-1: run these load profiles (comma-separated, or 'all') with their SLO gate. "
               "Load is never run unless asked."),
    "--load-duration": ("CONFORMANCE_LOAD_DURATION", "PERF-1: seconds of load per profile. Default: 20."),
    "--email-domain": ("CONFORMANCE_EMAIL_DOMAIN",
                       "Domain of the throwaway accounts' addresses. Default: example.com."),
}  # fmt: skip
DEFAULTS = {"--email-domain": "example.com", "--load-duration": "20", "--startup-timeout": "20", "--services": "redis"}


# -- options and configuration -----------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "HealLog conformance (the target is --base-url, or managed when absent)")
    for option, (env, help_text) in OPTIONS.items():
        group.addoption(option, default=os.environ.get(env), help=f"{help_text} [env {env}, ini {ini_name(option)}]")
        parser.addini(ini_name(option), help=help_text)
    group.addoption(
        "--sut-env", action="append", default=[], metavar="K=V",
        help="Managed mode: extra environment for the SUT (repeatable), e.g. REFERENCE_DEFECTS=multi-decode.",
    )  # fmt: skip
    # pytest owns --strict (strict markers, xfail, config...); it is honoured too, see strict().
    group.addoption(
        "--conformance-strict", action="store_true",
        default=os.environ.get("CONFORMANCE_STRICT", "") not in ("", "0", "false"),
        help="SHOULD failures fail the run too (so does pytest's --strict). [env CONFORMANCE_STRICT]",
    )  # fmt: skip


def ini_name(option: str) -> str:
    name = option.lstrip("-").replace("-", "_")
    return name if name.startswith("conformance_") else f"conformance_{name}"


def setting(config: pytest.Config, option: str) -> str | None:
    """An option's value: command line, else environment, else ini key, else default."""
    value = config.getoption(option.lstrip("-").replace("-", "_"))
    if value is None:
        value = config.getini(ini_name(option)) or None
    return value if value is not None else DEFAULTS.get(option)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): the catalogue requirement IDs this test checks (e.g. ENV-1, AUTH-2)"
    )
    try:
        selected = requirements.select(setting(config, "--requirements"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[state_key] = {"selected": selected, "target": None, "profile": None, "error": None}
    if not hasattr(config, "workerinput"):
        report = RequirementReport(
            config, json_path=setting(config, "--conformance-report"), strict=strict(config), selected=selected
        )
        config.stash[report_key] = report
        config.pluginmanager.register(report, "conformance-report")
    config.add_cleanup(lambda: _close_target(config))


def strict(config: pytest.Config) -> bool:
    """SHOULD failures fail the run: --conformance-strict, or pytest's own --strict (ini ``strict``)."""
    return bool(config.getoption("conformance_strict") or config.getini("strict"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    base_url = config.getoption("base_url")
    target = f"external {base_url}" if base_url else f"managed ({setting(config, '--sut-cmd') or 'embedded reference'})"
    return [f"conformance: target {target}; profile {setting(config, '--profile') or 'default'}"]


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
    selected = set(config.stash[state_key]["selected"])
    filtering = bool(setting(config, "--requirements"))
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
        _open_target(config)


# -- outcomes --------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    recorder = item.config.stash[state_key].get("recorder")
    if recorder is not None:
        recorder.begin()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if call.excinfo is None or not report.failed:
        return report
    leaves = _leaf_exceptions(call.excinfo.value)
    path, lineno, _ = item.reportinfo()
    location = (str(path), (lineno or 0) + 1)
    if all(isinstance(e, NotRun) for e in leaves):
        report.outcome, report.longrepr = "skipped", (*location, NOT_RUN_PREFIX + "; ".join(map(str, leaves)))
        return report
    if all(isinstance(e, (NotRun, Inconclusive)) for e in leaves):
        reason = "; ".join(str(e) for e in leaves if isinstance(e, Inconclusive))
        report.outcome, report.longrepr = "skipped", (*location, INCONCLUSIVE_PREFIX + reason)
        _attach_exchanges(item, report)
        return report
    violations = [e for e in leaves if isinstance(e, Violation)]
    unexplained = [e for e in leaves if not isinstance(e, (Violation, NotRun, Inconclusive))]
    if violations and not unexplained:  # a Violation fails only the requirement it names
        for violation in violations:
            report.user_properties.append(("violated", violation.requirement))
        if not strict(item.config) and all(_is_should(v.requirement) for v in violations):
            report.outcome = "skipped"
            report.wasxfail = WARN_PREFIX + str(violations[0]).splitlines()[0]
    _attach_exchanges(item, report)
    return report


def _leaf_exceptions(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaf_exceptions(inner)]
    return [exc]


def _is_should(requirement_id: str) -> bool:
    try:
        return not requirements.get(requirement_id).is_must
    except KeyError:
        return False


def _attach_exchanges(item: pytest.Item, report: pytest.TestReport) -> None:
    recorder = item.config.stash[state_key].get("recorder")
    if recorder is not None and recorder.recent():
        report.sections.append(("recorded exchanges (latest last)", recorder.render()))


# -- the target ----------------------------------------------------------------------------
def _load_profile(config: pytest.Config) -> Any:
    from conformance.profile import ProfileError, load

    state = config.stash[state_key]
    if state["profile"] is None:
        try:
            state["profile"] = load(setting(config, "--profile"))
        except ProfileError as exc:
            pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    return state["profile"]


def target_settings(config: pytest.Config) -> Any:
    """The options as a ``conformance.target.TargetSettings``."""
    from conformance.target import TargetSettings

    sut_env = {}
    for pair in config.getoption("sut_env"):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise pytest.UsageError(f"--sut-env {pair!r}: expected KEY=VALUE")
        sut_env[key] = value
    timeout = setting(config, "--startup-timeout")
    try:
        startup_timeout = float(timeout)
    except ValueError:
        raise pytest.UsageError(f"--startup-timeout {timeout!r}: expected seconds") from None
    services = [s.strip() for s in (setting(config, "--services") or "").split(",") if s.strip()]
    return TargetSettings(
        base_url=config.getoption("base_url") or None,
        profile_path=setting(config, "--profile"),
        sut_cmd=setting(config, "--sut-cmd"),
        sut_env=sut_env,
        services=services,
        restart_cmd=setting(config, "--restart-cmd"),
        log_file=setting(config, "--sut-log-file"),
        log_cmd=setting(config, "--sut-log-cmd"),
        peer_url=setting(config, "--peer-url"),
        accounts_file=setting(config, "--accounts"),
        otp_cmd=setting(config, "--otp-cmd"),
        fixed_otp=setting(config, "--fixed-otp"),
        jwt_secret=setting(config, "--jwt-secret"),
        seed_cmd=setting(config, "--seed-cmd"),
        startup_timeout=startup_timeout,
    )


def _open_target(config: pytest.Config) -> Any:
    """Open the target once; on bad input stop the whole run with one clear message."""
    state = config.stash[state_key]
    if state["target"] is not None:
        return state["target"]
    import conformance.target as targets
    from conformance.client import ApiClient, Recorder

    profile = _load_profile(config)
    try:
        target = targets.open_target(target_settings(config), profile)
    except targets.TargetError as exc:
        pytest.exit(f"conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    state["target"] = target
    state["recorder"] = Recorder()
    state["api"] = ApiClient(target.base_url, profile, recorder=state["recorder"])
    if report_key in config.stash:
        config.stash[report_key].describe_target(
            base_url=target.base_url, mode=target.mode, profile_name=profile.name, profile_source=profile.source
        )
    return target


def _close_target(config: pytest.Config) -> None:
    state = config.stash.get(state_key, None)
    if not state:
        return
    api, target = state.pop("api", None), state.get("target")
    state["target"] = None
    if api is not None:
        api.close()
    if target is not None:
        target.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _close_target(session.config)


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Any:
    """The SUT's profile (``conformance.profile.Profile``)."""
    return _load_profile(pytestconfig)


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Any:
    """The system under test (``conformance.target.base.Target``)."""
    return _open_target(pytestconfig)


@pytest.fixture(scope="session")
def api(target: Any, pytestconfig: pytest.Config) -> Any:
    """``conformance.client.ApiClient`` for the target; every exchange is recorded for failure reports."""
    return pytestconfig.stash[state_key]["api"]


@pytest.fixture(scope="session")
def accounts(api: Any, target: Any, profile: Any, pytestconfig: pytest.Config) -> Any:
    """``conformance.accounts.AccountFactory``: throwaway accounts of this run."""
    from conformance.accounts import AccountFactory

    return AccountFactory(api, target, profile, email_domain=setting(pytestconfig, "--email-domain"))


@pytest.fixture(scope="session")
def user(accounts: Any) -> Any:
    """One shared, logged-in ordinary account for read-only tests: never log it out or change it."""
    return accounts.new()

