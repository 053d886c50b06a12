"""Running the suites in parallel with pytest-xdist (``pytest -n auto``): one SUT, shared by the workers.

- The controller owns the managed target (:class:`~conformance.sut.shared.TargetServer`,
  opened when the first worker asks) and hands each worker the address to attach
  to; the workers never start a SUT of their own.
- Tests are distributed by module (``--dist loadscope`` unless asked otherwise),
  so that module-scoped fixtures (a restart, a provoked error matrix) run once.
- A test marked ``exclusive`` (restarts, store outages, configuration starts,
  a second instance) holds the run's exclusive lock: no other worker's test
  runs meanwhile. Every other test of a worker holds it shared.
- Each worker sends from a loopback address of its own (its own per-IP budget),
  or paces to its share of the declared limits when the SUT is elsewhere.
- The controller's requirement report merges the workers' reports (their
  ``conformance`` data survives xdist's serialization) and their usage counts.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator
from typing import Any

import pytest

from conformance.sut import rundirs
from conformance.sut.shared import ExclusiveLock, TargetServer
from conformance.wire.sources import worker_index

EXCLUSIVE_MARKER = "exclusive"
WORK_DIR_PREFIX = "hlc-parallel-"


def is_distributed(config: pytest.Config) -> bool:
    """Whether this (controller) process will hand tests to xdist workers."""
    return bool(
        config.pluginmanager.hasplugin("xdist")
        and getattr(config.option, "numprocesses", None)
        and getattr(config.option, "dist", "no") != "no"
    )


class Controller:
    """The controller's plugin: starts the target server, configures the nodes, sums their usage."""

    def __init__(self, config: pytest.Config, open_target: Any, on_open: Any) -> None:
        self.config = config
        if getattr(config.option, "dist", None) == "load":
            config.option.dist = "loadscope"  # modules stay together: their fixtures run once
        rundirs.sweep(WORK_DIR_PREFIX)  # what SIGKILLed runs left behind
        self.workdir = rundirs.new(WORK_DIR_PREFIX)

        def opened() -> Any:
            target = open_target()
            on_open(target)
            return target

        self.server = TargetServer(opened, self.workdir)
        self.worker_usage: dict[str, dict[str, Any]] = {}

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["conformance_shared"] = self.server.worker_input()

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.worker_usage[node.gateway.id] = dict(getattr(node, "workeroutput", {}).get("conformance_usage", {}))

    def usage(self) -> dict[str, Any]:
        total: dict[str, Any] = {}
        for counts in self.worker_usage.values():
            for name, value in counts.items():
                total[name] = total.get(name, 0) + value
        total["workers"] = len(self.worker_usage)
        return total

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Worker:
    """A worker's plugin: the exclusive lock around each test, its usage for the controller."""

    def __init__(self, config: pytest.Config, shared: dict[str, Any]) -> None:
        self.config = config
        self.lock = ExclusiveLock(shared["lock"])

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any) -> Generator[None, Any, Any]:
        exclusive = item.get_closest_marker(EXCLUSIVE_MARKER) is not None
        self.lock.acquire(exclusive=exclusive)
        try:
            return (yield)
        finally:
            self.lock.release()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from conformance.run.session import usage_of_the_run

        counts = usage_of_the_run(self.config)
        self.config.workeroutput["conformance_usage"] = counts  # type: ignore[attr-defined]


def worker_numbers(config: pytest.Config) -> tuple[int, int]:
    """(this worker's index, how many workers) from xdist's worker input; (0, 1) when not a worker."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput:
        return 0, 1
    index = worker_index({"PYTEST_XDIST_WORKER": str(workerinput.get("workerid", "gw0"))})
    return index, int(workerinput.get("workercount", 1) or 1)
