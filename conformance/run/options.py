"""The plugin's options: their names, environment variables and ini keys, and the typed values of one run.

Precedence for every option: command line, environment variable, ini key
(``conformance_<name>``, e.g. ``conformance_profile``), then the default
written in :class:`RunOptions`, or, for the options that say what the target
is, in :class:`~conformance.sut.settings.TargetSettings` (the only places a
default lives; the help texts show them from there). The values are read and
validated once, in ``pytest_configure``, into :class:`RunOptions`, whose
``sut`` is the target's settings as :func:`conformance.sut.open_target` takes
them; fixtures and hooks read that, never ``config.getoption`` again.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, Field, dataclass, field, fields

import pytest

from conformance import redaction
from conformance.sut.settings import TargetSettings

#: option -> (environment variable, help).
OPTIONS = {
    "--profile": (
        "CONFORMANCE_PROFILE",
        "TOML file describing the SUT's HTTP surface, merged over the default HealLog profile.",
    ),
    "--sut-cmd": (
        "CONFORMANCE_SUT_CMD",
        "Managed mode: command starting the SUT (placeholders {python} {host} {port} {data_dir} "
        "{redis_url} {smtp_host} {smtp_port} {mongo_url}); default: the embedded reference.",
    ),
    "--services": (
        "CONFORMANCE_SERVICES",
        "Managed mode: comma-separated backing services the SUT needs (redis, mongo).",
    ),
    "--restart-cmd": ("CONFORMANCE_RESTART_CMD", "External mode: command that restarts the SUT (REV-3, LOCK-4)."),
    # Not --log-file: that is pytest's own (where pytest writes *its* log).
    "--sut-log-file": ("CONFORMANCE_SUT_LOG_FILE", "External mode: file the SUT writes its log lines to (LOG-1..3)."),
    "--sut-log-cmd": ("CONFORMANCE_SUT_LOG_CMD", "External mode: command printing the SUT's log lines (LOG-1..3)."),
    "--peer-url": ("CONFORMANCE_PEER_URL", "Base URL of a second instance sharing the SUT's stores (REV-4, LOCK-4)."),
    "--accounts": (
        "CONFORMANCE_ACCOUNTS",
        "TOML file of pre-provisioned privileged accounts ([[account]] email password plan role).",
    ),
    "--otp-cmd": ("CONFORMANCE_OTP_CMD", "Command printing the one-time code for {email}."),
    "--fixed-otp": ("CONFORMANCE_FIXED_OTP", "The one-time code of a SUT running in a test mode that pins codes."),
    "--jwt-secret": (
        "CONFORMANCE_JWT_SECRET",
        "The SUT's HS256 signing secret (expired-token variants; minted privileged tokens).",
    ),
    "--seed-cmd": (
        "CONFORMANCE_SEED_CMD",
        "Command creating a verified account ({email} {plan} {role} {data_dir}; the password comes "
        "in the environment variable CONFORMANCE_SEED_PASSWORD and on standard input).",
    ),
    "--startup-timeout": (
        "CONFORMANCE_STARTUP_TIMEOUT",
        "Seconds to wait for a started (or restarted) SUT to become healthy.",
    ),
    "--health-timeout": (
        "CONFORMANCE_HEALTH_TIMEOUT",
        "External mode: seconds the target (and --peer-url) has to answer its health operation "
        "before the run starts; a slower answer stops the run as too slow.",
    ),
    "--requirements": (
        "CONFORMANCE_REQUIREMENTS",
        "Run only the tests of these requirement IDs or globs, e.g. ENV-1,AUTH-*.",
    ),
    "--conformance-report": ("CONFORMANCE_REPORT", "Write the per-requirement report as JSON to this path."),
    "--load": (
        "CONFORMANCE_LOAD",
        "PERF-1: run these load profiles (comma-separated, or 'all') with their SLO gate. "
        "Load is never run unless asked.",
    ),
    "--load-duration": ("CONFORMANCE_LOAD_DURATION", "PERF-1: seconds of load per profile."),
    "--load-processes": (
        "CONFORMANCE_LOAD_PROCESSES",
        "PERF-1: locust worker processes per profile (locust's --processes).",
    ),
    "--email-domain": ("CONFORMANCE_EMAIL_DOMAIN", "Domain of the throwaway accounts' addresses."),
    "--baseline": (
        "CONFORMANCE_BASELINE",
        "JSON or TOML file of accepted failures (reason, ticket, expires): known failures do not fail "
        "the run, new ones do, expired ones do, fixed ones are reported.",
    ),
    "--conformance-html": ("CONFORMANCE_HTML", "Write the report as one offline HTML page to this path."),
    "--conformance-summary": (
        "CONFORMANCE_SUMMARY",
        "Write a Markdown summary to this path (default: appended to $GITHUB_STEP_SUMMARY when set).",
    ),
    "--redis-url": (
        "CONFORMANCE_REDIS_URL",
        "Managed mode: an existing Redis for the SUT (a CI service container) instead of starting one; "
        "scenarios that stop the store are then not run.",
    ),
    "--mongo-url": (
        "CONFORMANCE_MONGO_URL",
        "Managed mode: an existing MongoDB (a CI service container); no Docker engine needed.",
    ),
    "--redis-image": (
        "CONFORMANCE_REDIS_IMAGE",
        "Managed mode: the Redis image testcontainers runs when a Docker engine answers (never pulled "
        "when present; if it cannot be had, the local redis-server, said in one line).",
    ),
    "--mongo-image": (
        "CONFORMANCE_MONGO_IMAGE",
        "Managed mode: the MongoDB image testcontainers runs for --services mongo.",
    ),
    "--docker-network": (
        "CONFORMANCE_DOCKER_NETWORK",
        "Managed mode: host (the container listens on a free loopback port given on its command "
        "line) or bridge (its port published on a loopback port).",
    ),
    "--conformance-har": ("CONFORMANCE_HAR", "Write the exchanges of failing tests as HAR 1.2 (masked) to this path."),
    "--conformance-sarif": ("CONFORMANCE_SARIF", "Write the failing requirements as SARIF 2.1.0 to this path."),
    "--fuzz-budget": (
        "CONFORMANCE_FUZZ_BUDGET",
        "API-1: seconds for the extreme values and the fuzzer together, generation included, shared "
        "fairly between the operations (at most 80% of pytest-timeout's per-test limit); operations "
        "it does not reach make API-1 partial.",
    ),
    "--time-budget": (
        "CONFORMANCE_TIME_BUDGET",
        "From one source address: the most the run may wait for the declared rate limits, in seconds or "
        "minutes (600, 10m). Tests whose measured cost would make the plan wait longer are not run, the "
        "costliest first, each naming what it needed.",
    ),
}
#: Options whose target setting has another name (the option names are public, and so are the settings').
SETTING_OF = {
    "profile": "profile_path",
    "sut_log_file": "log_file",
    "sut_log_cmd": "log_cmd",
    "accounts": "accounts_file",
}


def addoptions(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "HealLog conformance (the target is --base-url, or managed when absent)")
    for option, (env, help_text) in OPTIONS.items():
        help_text += default_text(option)
        group.addoption(
            option, default=os.environ.get(env), help=_literal(f"{help_text} [env {env}, ini {ini_name(option)}]")
        )
        parser.addini(ini_name(option), help=help_text)
    group.addoption(
        "--sut-env",
        action="append",
        default=[],
        metavar="K=V",
        help="Managed mode: extra environment for the SUT (repeatable), e.g. REFERENCE_DEFECTS=multi-decode.",
    )
    group.addoption(
        "--baseline-update",
        action="store_true",
        default=False,
        help="Write the --baseline file from this run: still-failing entries refreshed, new failures added "
        "(reason to fill in), fixed ones dropped.",
    )
    group.addoption(
        "--conformance-require-all",
        action="store_true",
        default=os.environ.get("CONFORMANCE_REQUIRE_ALL", "") not in ("", "0", "false"),
        help="Any selected MUST that is not run, blocked or inconclusive fails the run. [env CONFORMANCE_REQUIRE_ALL]",
    )
    group.addoption(
        "--single-source",
        action="store_true",
        default=os.environ.get("CONFORMANCE_SINGLE_SOURCE", "") not in ("", "0", "false"),
        help="Send every request from one address even to a loopback target, as a staging run from a CI runner "
        "does (the default for any other target): bursts share the run's rate limits, RATE-1's runs last. "
        "[env CONFORMANCE_SINGLE_SOURCE]",
    )
    # pytest owns --strict (strict markers, xfail, config...); it is honoured too, see RunOptions.strict.
    group.addoption(
        "--conformance-strict",
        action="store_true",
        default=os.environ.get("CONFORMANCE_STRICT", "") not in ("", "0", "false"),
        help="SHOULD failures fail the run too (so does pytest's --strict). [env CONFORMANCE_STRICT]",
    )


def option_key(option: str) -> str:
    """The option's name in :class:`RunOptions` (``--sut-log-file`` -> ``sut_log_file``)."""
    return option.lstrip("-").replace("-", "_")


def default_text(option: str) -> str:
    """`` Default: X.`` for the help of an option whose default says something, read from where it is written."""
    name = SETTING_OF.get(option_key(option), option_key(option))
    owner = TargetSettings if name in _names(TargetSettings) else RunOptions
    value = _default(next(f for f in fields(owner) if f.name == name))
    if value in (None, False) or value == () or value == []:
        return ""
    if isinstance(value, (list, tuple)):
        return f" Default: {', '.join(value)}."
    return f" Default: {value:g}." if isinstance(value, float) else f" Default: {value}."


def _literal(help_text: str) -> str:
    """argparse formats an option's help with ``%`` (``%(default)s``): a literal ``%`` ("80%") must be doubled,
    or ``--help`` crashes. (pytest shows ini help as it is.)"""
    return help_text.replace("%", "%%")


def ini_name(option: str) -> str:
    name = option_key(option)
    return name if name.startswith("conformance_") else f"conformance_{name}"


def raw(config: pytest.Config, option: str) -> str | None:
    """An option's text: command line, else environment, else ini key; ``None`` when none says it."""
    value = config.getoption(option_key(option))
    if value is None:
        value = config.getini(ini_name(option)) or None
    return value


@dataclass(frozen=True)
class RunOptions:
    """Every option of one run, typed; ``None`` means "not given" (the capability is then missing).

    ``sut`` holds the options that say what the target is and how to reach
    it (``--base-url``, ``--sut-cmd``, ``--jwt-secret``...), as the target's own
    settings; the other fields are the run's.
    """

    sut: TargetSettings = field(default_factory=TargetSettings)
    requirements: str | None = None
    conformance_report: str | None = None
    load: tuple[str, ...] = ()
    load_duration: float = 20.0
    load_processes: int = 1
    email_domain: str = "example.com"
    baseline: str | None = None
    conformance_html: str | None = None
    conformance_summary: str | None = None
    conformance_har: str | None = None
    conformance_sarif: str | None = None
    baseline_update: bool = False
    require_all: bool = False
    single_source: bool = False
    fuzz_budget: float = 60.0
    time_budget: float | None = None
    strict: bool = False

    @classmethod
    def read(cls, config: pytest.Config) -> RunOptions:
        """The options of ``config``; a malformed value is a ``pytest.UsageError`` naming the option."""
        given = {option_key(option): raw(config, option) for option in OPTIONS}
        values: dict[str, object] = {key: value for key, value in given.items() if value is not None}
        if "time_budget" in values:
            values["time_budget"] = _duration("--time-budget", str(values["time_budget"]))
        for key in ("startup_timeout", "health_timeout", "load_duration", "fuzz_budget"):
            if key in values:
                values[key] = _seconds(f"--{key.replace('_', '-')}", str(values[key]))
        if "load_processes" in values:
            try:
                values["load_processes"] = max(1, int(str(values["load_processes"])))
            except ValueError:
                raise pytest.UsageError(f"--load-processes {values['load_processes']!r}: expected a number") from None
        if "services" in values:
            values["services"] = list(_words(str(values["services"])))
        if values.get("docker_network", "host") not in ("host", "bridge"):
            raise pytest.UsageError(f"--docker-network {values['docker_network']!r}: expected host or bridge")
        if "load" in values:
            values["load"] = _words(str(values["load"]))
        values["sut_env"] = _assignments(config.getoption("sut_env") or [])
        values["base_url"] = config.getoption("base_url") or None
        # SHOULD failures fail the run: --conformance-strict, or pytest's own --strict (ini ``strict``).
        values["strict"] = bool(config.getoption("conformance_strict") or config.getini("strict"))
        values["baseline_update"] = bool(config.getoption("baseline_update"))
        values["require_all"] = bool(config.getoption("conformance_require_all"))
        values["single_source"] = bool(config.getoption("single_source"))
        if values["baseline_update"] and not values.get("baseline"):
            raise pytest.UsageError("--baseline-update needs --baseline FILE (the file to write)")
        # Given on the command line, they are in every rerun command the run prints: masked there like any secret.
        redaction.register(values.get("jwt_secret"), "signing secret")
        redaction.register(values.get("fixed_otp"), "one-time code")
        settings = {
            SETTING_OF.get(name, name): values.pop(name)
            for name in list(values)
            if SETTING_OF.get(name, name) in _names(TargetSettings)
        }
        return cls(sut=TargetSettings(**settings), **values)  # type: ignore[arg-type]


def _names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _default(f: Field) -> object:
    return f.default_factory() if f.default_factory is not MISSING else None if f.default is MISSING else f.default


def _seconds(option: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise pytest.UsageError(f"{option} {text!r}: expected seconds") from None
    if value <= 0:
        raise pytest.UsageError(f"{option} {text!r}: expected a positive number of seconds")
    return value


def _duration(option: str, text: str) -> float:
    """Seconds from ``600``, ``600s``, ``10m`` or ``10min``."""
    spelled = text.strip().lower()
    number, factor = spelled, 1.0
    for suffix, seconds in (("min", 60.0), ("m", 60.0), ("s", 1.0)):
        if spelled.endswith(suffix):
            number, factor = spelled.removesuffix(suffix).strip(), seconds
            break
    try:
        value = float(number) * factor
    except ValueError:
        raise pytest.UsageError(f"{option} {text!r}: expected seconds or minutes (600, 10m)") from None
    if value <= 0:
        raise pytest.UsageError(f"{option} {text!r}: expected a positive duration")
    return value


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(",") if word.strip())


def _assignments(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise pytest.UsageError(f"--sut-env {pair!r}: expected KEY=VALUE")
        env[key] = value
    return env
