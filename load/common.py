"""What every load profile shares: the checked ``ApiUser``, provisioned accounts, the SLO gate hook.

This module imports locust (and with it gevent's monkey-patching): only locust
processes import it, never pytest or the runner. The runner passes everything
through locust's command line (the options registered below):

    --accounts-file   JSON written by :mod:`load.provision` before the load starts
    --slo-file        thresholds (TOML, :mod:`load.gate`); --threshold overrides one
    --gate-out        folder for gate.txt, gate.json and violations.txt
    --conformance-profile  the harness profile TOML (paths, codes), default profile without it
    --no-conformance-checks  measure only (the benchmark), never for a gate run

Conformance under load: every response goes through
``conformance.checks.every_response`` (ENV-1, ENV-7, RID-1, HDR-1, AUTH-1) and
the profile's own checks; a violation is recorded as a locust failure of type
``CHECK`` named ``"<REQUIREMENT> <METHOD> <name>"``, which fails the gate.

Distributed runs (locust's ``--processes``, ``--master``/``--worker``): the
options above are given to the master only; the workers get the accounts,
profile and check switch from it (:mod:`load.distributed`), record violations
in their statistics, which locust aggregates on the master, and only the
master judges, writes the reports and sets the exit code.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, events
from locust.stats import StatsEntry

from conformance import profile as profiles
from conformance.checks import every_response
from conformance.checks.envelope import error_code
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation
from load import distributed, gate

#: Longest excerpt of a violation kept in locust's error table (its key must stay low-cardinality).
FAILURE_MESSAGE_LIMIT = 160
#: Request ids, token ids and other long hex values, which would make every error message unique.
VARYING_IDS = re.compile(r"[0-9a-fA-F][0-9a-fA-F-]{15,}")
#: Seconds a worker's user waits for the run (accounts) from the master before it gives up.
READY_TIMEOUT = 30.0


class ConformanceFailure(Exception):
    """A conformance violation, as the exception of a locust ``CHECK`` request event."""


# -- options -----------------------------------------------------------------


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    group = parser.add_argument_group("HealLog load profile")
    group.add_argument("--accounts-file", default=None, help="JSON of pre-provisioned accounts (load.provision)")
    group.add_argument("--slo-file", default=None, help="SLO thresholds (TOML); the packaged load/slo.toml without it")
    group.add_argument(
        "--slo-profile", default=None, help="profile name in the SLO file; the locustfile's name without it"
    )
    group.add_argument("--threshold", action="append", default=[], help="SCOPE.METRIC=VALUE, overrides the SLO file")
    group.add_argument("--gate-out", default=None, help="folder for gate.txt, gate.json and violations.txt")
    group.add_argument("--conformance-profile", default=None, help="harness profile TOML (default: HealLog)")
    group.add_argument(
        "--no-conformance-checks", action="store_true", default=False, help="measure only (benchmarks); no checks"
    )


# -- shared run state ----------------------------------------------------------


class RunState:
    """Per-process state the users share: options, profile, accounts, first violation of each kind.

    In a single process (or on the master) the accounts come from
    ``--accounts-file``; on a worker they come from the master
    (:mod:`load.distributed`), and :attr:`ready` is set when they arrived.
    """

    def __init__(self) -> None:
        self.options: Any = None
        self.role = "local"
        self.profile: profiles.Profile = profiles.load()
        self.data: dict[str, Any] = {"accounts": []}
        self.ready = threading.Event()
        self.coordinator = distributed.Coordinator(self)
        self._checks = True
        #: (this process's slot, number of slots): user indexes are slot + slots * k, unique across workers.
        self._slot = (0, 1)
        self._cycle: Iterator[int] = itertools.count()
        self._first_violations: dict[str, str] = {}
        self._lock = threading.Lock()

    def configure(self, options: Any, role: str) -> None:
        self.options = options
        self.role = role
        self._checks = not options.no_conformance_checks
        if role == "worker":
            return  # everything else comes from the master
        if options.conformance_profile:
            self.profile = profiles.load(options.conformance_profile)
        if options.accounts_file:
            self.data = json.loads(Path(options.accounts_file).read_text("utf-8"))
        self.ready.set()

    def adopt(self, data: dict[str, Any], *, profile_path: str | None, checks: bool, slot: tuple[int, int]) -> None:
        """A worker takes the run the master sent."""
        if profile_path:
            self.profile = profiles.load(profile_path)
        self.data = data
        self._checks = checks
        self._slot = (slot[0] % slot[1], slot[1])
        self.ready.set()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        if not self.ready.wait(timeout):
            raise RuntimeError(f"no run from the master within {timeout:g}s (accounts, profile): see the master's log")

    @property
    def checks_enabled(self) -> bool:
        return self._checks

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return self.data.get("accounts", [])

    @property
    def slot(self) -> tuple[int, int]:
        """(index, count) of this process among the run's load processes; (0, 1) in a single process."""
        return self._slot

    def share(self, items: list[Any]) -> list[Any]:
        """This process's part of ``items``: every item goes to exactly one process (some may get none)."""
        index, count = self._slot
        return list(items[index::count])

    def next_index(self) -> int:
        """A distinct number per user instance, across every process of the run (round-robin over accounts)."""
        index, count = self._slot
        return index + count * next(self._cycle)

    def keep_first(self, key: str, rendering: str) -> None:
        """Keep the full rendering (with its curl line) of the first violation of each kind.

        A worker forwards it to the master, which writes ``violations.txt``.
        """
        with self._lock:
            if key in self._first_violations:
                return
            self._first_violations[key] = rendering
        if self.role == "worker":
            self.coordinator.forward_violation(key, rendering)
            return
        out = self.out_dir
        if out is not None:
            with open(out / "violations.txt", "a", encoding="utf-8") as handle:
                handle.write(rendering + "\n\n")

    @property
    def out_dir(self) -> Path | None:
        if self.options is None or not self.options.gate_out:
            return None
        path = Path(self.options.gate_out)
        path.mkdir(parents=True, exist_ok=True)
        return path


RUN = RunState()


@events.init.add_listener
def configure_run(environment: Any, **_kwargs: Any) -> None:
    if environment.parsed_options is not None:
        RUN.configure(environment.parsed_options, distributed.role_of(environment.runner))
    if environment.runner is not None:
        RUN.coordinator.install(environment)


# -- the gate -------------------------------------------------------------------


def measurement_from_stats(stats: Any) -> gate.Measurement:
    """Adapt locust's ``RequestStats`` to the gate's plain data."""

    def plain(entry: Any) -> gate.EndpointStats:
        percentiles = (
            {p: float(entry.get_response_time_percentile(p)) for p in gate.PERCENTILES.values()}
            if entry.num_requests
            else {}
        )
        return gate.EndpointStats(
            entry.method or "", entry.name, entry.num_requests, entry.num_failures, entry.total_rps, percentiles
        )

    # locust's own total also counts the CHECK entries (zero-time violation
    # records); the gate's total is the HTTP requests alone.
    requests_only = StatsEntry(stats, "Aggregated", "", use_response_times_cache=False)
    for entry in stats.entries.values():
        if entry.method != gate.VIOLATION_TYPE:
            requests_only.extend(entry)
    total = plain(requests_only)
    total = gate.EndpointStats("", "Aggregated", total.requests, total.failures, total.rps, total.percentiles)
    return gate.Measurement.from_entries([plain(e) for e in stats.entries.values()], total)


@events.quitting.add_listener
def slo_gate(environment: Any, **_kwargs: Any) -> None:
    """Judge the run: print the SLO table and set the process exit code (0 pass, 1 fail, 2 broken run).

    Only a single process or the master judges: a worker's statistics are a
    part of the run, and reach the master.
    """
    options = environment.parsed_options
    if options is None:
        return
    if RUN.role == "worker":
        environment.process_exit_code = 0 if RUN.ready.is_set() else 2
        return
    name = options.slo_profile or Path(str(options.locustfile)).stem
    try:
        thresholds = gate.merge(
            gate.load_thresholds(name, options.slo_file), [gate.parse_override(t) for t in options.threshold]
        )
    except gate.SloError as exc:
        print(f"SLO gate: {exc}", flush=True)
        environment.process_exit_code = 2
        return
    measurement = measurement_from_stats(environment.stats)
    result = gate.evaluate(name, thresholds, measurement)
    table = gate.render_table(result)
    missing = RUN.coordinator.missing_workers
    if missing:
        table += (
            f"\nINCOMPLETE: {len(missing)} worker(s) did not confirm their final statistics; "
            "the figures may miss their last seconds (exit code 2)"
        )
    print("\n" + table, flush=True)
    usages = RUN.coordinator.usages()
    out = RUN.out_dir
    if out is not None:
        (out / "gate.txt").write_text(table + "\n", encoding="utf-8")
        report = {
            **gate.result_as_dict(result),
            "measurement": gate.measurement_as_dict(measurement),
            "complete": not missing,
            "processes": [usage.as_dict() for usage in usages],
        }
        (out / "gate.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    environment.process_exit_code = 2 if missing else result.exit_code


# -- the checked user ----------------------------------------------------------------


class ApiUser(FastHttpUser):
    """A user whose every request is checked for conformance.

    Tasks call ``with self.rest(method, path, token=..., expect=...) as resp:``
    (or :meth:`call` with a logical operation of the profile); ``resp.exchange``
    is the recorded exchange. A status outside ``expect`` is a locust failure;
    a violated requirement is recorded by :meth:`record` and fails the gate.
    """

    abstract = True
    # Bounded requests: a hung SUT shows up as failures, never as a hung run.
    network_timeout = 10.0
    connection_timeout = 5.0
    max_retries = 0

    def on_start(self) -> None:
        RUN.wait_ready()
        self.index = RUN.next_index()
        self.profile = RUN.profile

    # -- accounts --------------------------------------------------------------
    def account(self) -> dict[str, Any]:
        """This user's provisioned account (round-robin when there are fewer accounts than users)."""
        accounts = RUN.accounts
        if not accounts:
            raise RuntimeError("no provisioned accounts: run through `python -m load` (it writes --accounts-file)")
        return accounts[self.index % len(accounts)]

    def credentials(self, email: str, password: str) -> dict[str, Any]:
        """The login body for ``call("login", **...)``: form or JSON, with the profile's field names."""
        return self.profile.login.body(email, password)

    def privileged(self, kind: str) -> dict[str, Any] | None:
        """The pro (``kind="pro"``) or admin account, when the run could provide one."""
        return RUN.data.get(kind)

    # -- requests --------------------------------------------------------------
    @contextmanager
    def rest(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        expect: tuple[int, ...] = (200,),
        name: str | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Iterator[Any]:
        sent = dict(headers or {})
        sent.setdefault("Accept", "application/json")
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        body = b""
        if json is not None:
            body = _json_bytes(json)
            sent.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = urlencode(data).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        name = name or path
        label = f"{method} {name}"
        with self.client.request(
            method, path, name=name, data=body or None, headers=sent, catch_response=True, allow_redirects=False
        ) as resp:
            resp.exchange = None
            if resp.content is None or not resp.status_code:
                resp.failure(f"transport failure: {getattr(resp, 'error', None)!r}"[:FAILURE_MESSAGE_LIMIT])
                yield resp
                return
            exchange = Exchange.from_locust(method, self.client.base_url + path, sent, body, resp)
            resp.exchange = exchange
            if resp.status_code in expect:
                resp.success()
            else:
                code = error_code(exchange)
                resp.failure(f"unexpected {resp.status_code}" + (f" {code}" if code else "") + f", expected {expect}")
            if RUN.checks_enabled:
                for violation in every_response(exchange, self.profile):
                    self.record(violation, label)
            yield resp

    @contextmanager
    def call(self, operation: str, *, path_params: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        """:meth:`rest` on a logical operation of the profile (its path template is the stats name)."""
        op = self.profile.operation(operation)
        kwargs.setdefault("name", op.path)
        with self.rest(op.method, op.url_path(**(path_params or {})), **kwargs) as resp:
            yield resp

    def label(self, operation: str) -> str:
        """The stats label of a logical operation: ``"GET /api/patients/{id}"``."""
        op = self.profile.operation(operation)
        return f"{op.method} {op.path}"

    # -- conformance -----------------------------------------------------------
    def verify(self, label: str, check: Callable[..., None], *args: Any, **kwargs: Any) -> bool:
        """Run one check function; a violation is recorded, not applicable is no verdict. True if it held."""
        if not RUN.checks_enabled:
            return True
        try:
            check(*args, **kwargs)
        except Violation as violation:
            self.record(violation, label)
            return False
        except NotApplicable:
            return True
        return True

    def record(self, violation: Violation, label: str) -> None:
        """Record a violation as a failure in locust's statistics, named by its requirement ID."""
        name = f"{violation.requirement} {label}"
        message = f"{violation.requirement}: expected {violation.expected}; actual {violation.actual}"
        message = VARYING_IDS.sub("<id>", message)
        self.environment.events.request.fire(
            request_type=gate.VIOLATION_TYPE,
            name=name,
            response_time=0,
            response_length=0,
            response=None,
            context={},
            exception=ConformanceFailure(message[:FAILURE_MESSAGE_LIMIT]),
        )
        RUN.keep_first(name, violation.render())


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()
