"""One harness run in a subprocess, and a pool that runs them two at a time, plus two that mostly wait.

Each run is a plain ``python -m pytest`` of the conformance suite from the
repository root in managed mode: it starts its own SUT, Redis and SMTP sink on
free ports, so runs never share state. Two busy runs at a time because the
machine has two cores; more only makes each run slower and timing-sensitive.
A run that spends most of its time waiting (paced to strict rate limits, or
selected to requirements whose probes wait out a window or the ledger's 30 s)
goes to lanes of its own beside them: it hardly uses a core.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.sut.process import run_bounded

REPO_ROOT = Path(__file__).resolve().parents[2]
PARALLEL_RUNS = 2  # busy runs at a time
WAITING_RUNS = 2  # mostly waiting runs at a time, beside them
STARTUP_TIMEOUT_S = 60  # the harness's --startup-timeout: generous, the machine is shared and noisy
OUTPUT_TAIL_CHARS = 3000
# The plugin reads these from the environment; an outer CI setting must not turn a run external or filtered.
INHERITED_SETTINGS_PREFIXES = ("CONFORMANCE_", "PYTEST_")


#: A profile declaring the strict limits of the "strict-limits" variant (the SUT is started with the same).
STRICT_PROFILE = """\
[rate_limits]
register = "5/60"
login = "5/60"
"""


@dataclass(frozen=True)
class HarnessRun:
    """A run of the conformance suite: against the clean reference, one defect or several, full or selected.

    ``defect`` is one defect or a comma-separated bundle; ``variant`` "strict-limits" runs with the strict per-IP
    limits of a real FastAPI/slowapi service (5 per minute on register and login) and a profile declaring them.
    """

    defect: str | None  # None: the clean reference
    requirements: tuple[str, ...] | None  # None: the full suite
    timeout_s: float
    variant: str | None = None
    label: str | None = None  # a bundle's name
    mostly_waiting: bool = False  # paced or waiting out windows: runs in a lane beside the busy ones

    @property
    def name(self) -> str:
        scope = "full" if self.requirements is None else ",".join(self.requirements)
        subject = self.label or self.defect or "clean"
        return f"{subject}{' ' + self.variant if self.variant else ''} [{scope}]"

    @property
    def defects(self) -> tuple[str, ...]:
        return tuple(self.defect.split(",")) if self.defect else ()

    def argv(self, report_path: Path) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--startup-timeout={STARTUP_TIMEOUT_S}",
            f"--conformance-report={report_path}",
        ]
        if self.defect:
            argv += ["--sut-env", f"REFERENCE_DEFECTS={self.defect}"]
        if self.requirements is not None:
            argv += [f"--requirements={','.join(self.requirements)}"]
        if self.variant in ("strict-limits", "single-source"):
            profile = report_path.with_name("strict-limits.toml")
            profile.write_text(STRICT_PROFILE, "utf-8")
            argv += [f"--profile={profile}"]
        if self.variant == "single-source":  # one address for everything, as a staging run from a CI runner
            argv += ["--single-source"]
        return argv


@dataclass(frozen=True)
class RunResult:
    run: HarnessRun
    exit_code: int | None  # None: killed at the timeout
    report: dict[str, Any] | None  # None: the run wrote no report (did not start, crashed, timed out)
    duration_s: float
    output_tail: str

    @property
    def verdicts(self) -> dict[str, str]:
        if self.report is None:
            return {}
        return {rid: entry["verdict"] for rid, entry in self.report["requirements"].items()}

    def describe_failure_to_run(self) -> str:
        """Why there is no report, with the end of the run's output."""
        status = f"killed after {self.run.timeout_s:.0f} s" if self.exit_code is None else f"exit code {self.exit_code}"
        return f"{self.run.name}: no conformance report ({status}); end of its output:\n{self.output_tail}"


def run_harness(run: HarnessRun, workdir: Path, interrupt: threading.Event | None = None) -> RunResult:
    """Run the suite once; never leaves a process behind, also at the timeout or when ``interrupt`` is set
    (the run gets SIGINT first, so that the inner pytest tears its SUT, Redis and SMTP sink down)."""
    workdir.mkdir(parents=True, exist_ok=True)
    report_path = workdir / "report.json"
    output_path = workdir / "output.txt"
    report_path.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_SETTINGS_PREFIXES)}
    done = run_bounded(
        run.argv(report_path),
        timeout=run.timeout_s,
        env=env,
        cwd=REPO_ROOT,
        output_path=output_path,
        interrupt=interrupt,
    )
    exit_code = done.returncode
    report = json.loads(report_path.read_text("utf-8")) if report_path.exists() and exit_code is not None else None
    tail = output_path.read_text("utf-8", errors="replace")[-OUTPUT_TAIL_CHARS:]
    return RunResult(run=run, exit_code=exit_code, report=report, duration_s=done.seconds, output_tail=tail)


class RunPool:
    """Starts every run at once: busy runs two at a time, mostly waiting ones beside them; ``result`` waits for one."""

    def __init__(self, runs: list[HarnessRun], workdir: Path) -> None:
        self._busy = ThreadPoolExecutor(max_workers=PARALLEL_RUNS, thread_name_prefix="kill-matrix")
        self._waiting = ThreadPoolExecutor(max_workers=WAITING_RUNS, thread_name_prefix="kill-matrix-waiting")
        self._interrupt = threading.Event()
        self._futures: dict[HarnessRun, Future[RunResult]] = {}
        for index, run in enumerate(runs):
            slug = "".join(c if c.isalnum() or c == "-" else "_" for c in run.name)
            workdir_of_run = workdir / f"{index:02d}-{slug}"[:80]
            lane = self._waiting if run.mostly_waiting else self._busy
            self._futures[run] = lane.submit(run_harness, run, workdir_of_run, self._interrupt)

    def result(self, run: HarnessRun) -> RunResult:
        return self._futures[run].result()

    def finished_results(self) -> list[RunResult]:
        """The results of the runs that completed, in submission order."""
        return [f.result() for f in self._futures.values() if f.done() and not f.cancelled() and not f.exception()]

    def close(self) -> None:
        """Drop the runs not started yet and stop the running ones (after Ctrl-C, say); no-op once all are done."""
        self._interrupt.set()
        for lane in (self._busy, self._waiting):
            lane.shutdown(wait=True, cancel_futures=True)
