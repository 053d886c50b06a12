"""Several locust processes, one verdict: what a checked run adds to locust's own distribution.

``--processes N`` (workers forked on this machine) and ``--master`` /
``--worker`` (several machines) are locust's engine, unchanged. A checked run
needs a few things on top, sent as locust custom messages:

    worker -> master  heallog-ready      "send me the run"; repeated until answered, because a
                                         message that arrives before its handler is registered
                                         is dropped (a worker connects before its init event)
    master -> worker  heallog-run        the provisioned accounts, the harness profile (TOML text),
                                         the check switch and the number of workers
    worker -> master  heallog-violation  the first full rendering (curl line) of each violation kind
    master -> worker  heallog-stop       the run is over: stop the users, send the final statistics now
    worker -> master  heallog-stopped    done; the worker's own request count and CPU time

The violations themselves need no message: a worker records them as locust
failures of type CHECK, which reach the master with its statistics, under
their requirement's name. The last two messages exist because locust's master
waits only 0.5 s for the workers' final statistics after ``quit`` while
workers report every 3 s: without them the gate could judge a run whose last
seconds never reached the master. The master asks from ``test_stopping``,
before it quits, and waits (bounded) until every worker has answered.

Accounts travel from the master even to workers forked on the same machine,
so the path tested on loopback is the path used across machines; a remote
worker needs nothing but the code.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gevent
from locust.runners import MasterRunner, WorkerRunner

from load import gate

READY = "heallog-ready"
RUN = "heallog-run"
VIOLATION = "heallog-violation"
STOP = "heallog-stop"
STOPPED = "heallog-stopped"
#: Seconds between a worker's requests for the run, and how many it sends before giving up.
READY_INTERVAL = 1.0
READY_ATTEMPTS = 60
#: Seconds the master waits for the workers' final statistics beyond locust's --stop-timeout.
FINAL_STATISTICS_GRACE = 15.0

log = logging.getLogger("heallog.load")


def role_of(runner: Any) -> str:
    """``"master"``, ``"worker"`` or ``"local"`` (a single process)."""
    if isinstance(runner, MasterRunner):
        return "master"
    if isinstance(runner, WorkerRunner):
        return "worker"
    return "local"


@dataclass(frozen=True)
class Usage:
    """What one locust process did between test start and its snapshot."""

    role: str
    pid: int
    requests: int  # HTTP requests, conformance (CHECK) entries excluded
    cpu_seconds: float
    wall_seconds: float

    @property
    def cpu_share(self) -> float:
        """Fraction of one core this process used (1.0 = one core busy all the time)."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cpu_share": round(self.cpu_share, 4)}


class UsageMeter:
    """This process's requests and CPU time since ``test_start``."""

    def __init__(self) -> None:
        self.requests = 0
        self._cpu = time.process_time()
        self._wall = time.monotonic()

    def start(self) -> None:
        self.requests = 0
        self._cpu = time.process_time()
        self._wall = time.monotonic()

    def count(self, request_type: str) -> None:
        if request_type != gate.VIOLATION_TYPE:
            self.requests += 1

    def snapshot(self, role: str) -> Usage:
        return Usage(role, os.getpid(), self.requests, time.process_time() - self._cpu, time.monotonic() - self._wall)


class Coordinator:
    """The messages of one locust process, for the ``RunState`` of :mod:`load.common`."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.environment: Any = None
        self.role = "local"
        self.usage = UsageMeter()
        #: On the master: worker id -> its final usage, once it confirmed its final statistics.
        self.stopped: dict[str, Usage] = {}
        self.expected: set[str] = set()

    # -- wiring --------------------------------------------------------------
    def install(self, environment: Any) -> None:
        self.environment = environment
        self.role = role_of(environment.runner)
        environment.events.test_start.add_listener(lambda **_kw: self.usage.start())
        environment.events.request.add_listener(lambda request_type, **_kw: self.usage.count(request_type))
        runner = environment.runner
        if self.role == "master":
            runner.register_message(READY, self._send_run)
            runner.register_message(VIOLATION, self._receive_violation)
            runner.register_message(STOPPED, self._receive_stopped)
            environment.events.test_stopping.add_listener(self._collect_final_statistics)
        elif self.role == "worker":
            runner.register_message(RUN, self._receive_run)
            runner.register_message(STOP, self._stop_and_report, concurrent=True)
            gevent.spawn(self._ask_for_run)

    # -- master --------------------------------------------------------------
    def run_payload(self) -> dict[str, Any]:
        options = self.state.options
        profile_path = options.conformance_profile if options is not None else None
        return {
            "data": self.state.data,
            "profile_toml": Path(profile_path).read_text("utf-8") if profile_path else None,
            "checks": self.state.checks_enabled,
            "workers": max(1, int(getattr(options, "expect_workers", 1) or 1)),
        }

    def _send_run(self, environment: Any, msg: Any, **_kw: Any) -> None:
        environment.runner.send_message(RUN, self.run_payload(), client_id=msg.node_id)

    def _receive_violation(self, environment: Any, msg: Any, **_kw: Any) -> None:
        self.state.keep_first(msg.data["key"], msg.data["rendering"])

    def _receive_stopped(self, environment: Any, msg: Any, **_kw: Any) -> None:
        self.stopped[msg.node_id] = Usage(**msg.data)

    def _collect_final_statistics(self, environment: Any, **_kw: Any) -> None:
        """Ask every worker for its final statistics and wait for them (bounded), before locust quits."""
        runner = environment.runner
        self.expected = {node.id for node in runner.clients.all}
        for client_id in self.expected - set(self.stopped):
            runner.send_message(STOP, None, client_id=client_id)
        deadline = time.monotonic() + (environment.stop_timeout or 0) + FINAL_STATISTICS_GRACE
        while not self.expected <= set(self.stopped) and time.monotonic() < deadline:
            gevent.sleep(0.1)
        missing = self.expected - set(self.stopped)
        if missing:
            log.error(
                "%d worker(s) did not confirm their final statistics: %s", len(missing), ", ".join(sorted(missing))
            )

    @property
    def missing_workers(self) -> list[str]:
        return sorted(self.expected - set(self.stopped))

    def usages(self) -> list[Usage]:
        """This process's usage, then each worker's (the master's view of the whole run)."""
        own = self.usage.snapshot(self.role)
        return [own, *(self.stopped[key] for key in sorted(self.stopped))]

    # -- worker --------------------------------------------------------------
    def _ask_for_run(self) -> None:
        runner = self.environment.runner
        for _attempt in range(READY_ATTEMPTS):
            if self.state.ready.is_set():
                return
            runner.send_message(READY, None)
            gevent.sleep(READY_INTERVAL)
        if not self.state.ready.is_set():
            log.error("the master never sent the run (accounts, profile); is it a `python -m load --master`?")

    def _receive_run(self, environment: Any, msg: Any, **_kw: Any) -> None:
        if self.state.ready.is_set():
            return
        payload = msg.data
        profile_path = None
        if payload.get("profile_toml"):
            handle, name = tempfile.mkstemp(prefix="heallog-profile-", suffix=".toml")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(payload["profile_toml"])
            profile_path = name
        index = int(getattr(environment.runner, "worker_index", 0) or 0)
        self.state.adopt(
            payload["data"], profile_path=profile_path, checks=payload["checks"], slot=(index, payload["workers"])
        )

    def forward_violation(self, key: str, rendering: str) -> None:
        self.environment.runner.send_message(VIOLATION, {"key": key, "rendering": rendering})

    def _stop_and_report(self, environment: Any, msg: Any, **_kw: Any) -> None:
        """Stop the users, send the final statistics, then confirm (messages keep their order)."""
        runner = environment.runner
        runner.stop()
        data: dict[str, Any] = {}
        environment.events.report_to_master.fire(client_id=runner.client_id, data=data)
        runner.send_message("stats", data)
        runner.send_message(STOPPED, asdict(self.usage.snapshot("worker")))
