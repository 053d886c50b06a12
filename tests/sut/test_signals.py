"""Faults a CI runner produces, on a real managed run of the reference: SIGTERM, SIGKILL, Ctrl-C during fuzzing.

Each test starts ``python -m conformance`` as a CI job would, with a temp
directory of its own (``TMPDIR``) and a tag in its environment, so that the
processes of *this* run (the SUT, its peer, redis-server, the lifeline watcher)
can be told apart from other runs on the machine: a process belongs to the run
when its environment carries the tag, or its command line or working directory
lies in the run's temp directory (redis-server overwrites its environment when
it sets its process title, but works in the run's folder).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

if not sys.platform.startswith("linux"):
    pytest.skip("reads /proc", allow_module_level=True)

#: The issue's bound: SIGINT and SIGTERM stop the run within 5 s. The slack absorbs a loaded 2-core machine
#: (other runs beside this one); the measured stop is 1-3 s there.
STOP_BOUND = 5.0
SLACK = 2.5
#: The lifeline watcher's SIGTERM-to-SIGKILL grace, and a margin for the kernel to reap.
KILL_SETTLE = 6.0
READY_TIMEOUT = 120.0


class Run:
    """One harness run in a subprocess, and the processes it started."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir(exist_ok=True)  # a second run may share it (the next run after a SIGKILL)
        self.tag = f"hlc-signals-{uuid.uuid4().hex}"
        self.log = tmp_path / f"output-{self.tag}.txt"
        env = dict(os.environ, TMPDIR=str(self.tmp), HLC_SIGNALS_TAG=self.tag, PYTHONUNBUFFERED="1")
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "conformance", "-p", "no:cacheprovider", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def processes(self) -> dict[int, str]:
        """pid -> command line of every live process of this run except the harness itself."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in (self.popen.pid, os.getpid()):
                continue
            try:
                if (entry / "stat").read_text().split(")")[-1].split()[0] == "Z":
                    continue  # a zombie is gone, its parent has not reaped it yet
                environ = (entry / "environ").read_bytes()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if self.tag.encode() in environ or str(self.tmp) in cmdline or cwd.startswith(str(self.tmp)):
                found[int(entry.name)] = cmdline.strip()
        return found

    def wait_for(self, ready, what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready():
            if self.popen.poll() is not None:
                pytest.fail(f"the run ended (code {self.popen.returncode}) before {what}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {READY_TIMEOUT:g} s:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def servers(self) -> list[str]:
        return [cmd for cmd in self.processes().values() if "reference serve" in cmd and not cmd.startswith("/bin/sh")]

    def redis(self) -> list[str]:
        return [cmd for cmd in self.processes().values() if "redis-server" in cmd]

    def stop(self, sig: int) -> float:
        """Send ``sig`` to the harness; seconds until it exited."""
        sent = time.monotonic()
        self.popen.send_signal(sig)
        try:
            self.popen.wait(STOP_BOUND + SLACK + 30)
        except subprocess.TimeoutExpired:
            pass
        return time.monotonic() - sent

    def left_behind(self, settle: float) -> dict[int, str]:
        """The run's processes still alive after up to ``settle`` seconds."""
        deadline = time.monotonic() + settle
        while (alive := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return alive

    def kill_everything(self) -> None:
        """Whatever the outcome, leave nothing of this run on the machine."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture
def harness(tmp_path):
    runs: list[Run] = []

    def start(*args: str) -> Run:
        runs.append(Run(tmp_path, *args))
        return runs[-1]

    yield start
    for run in runs:
        run.kill_everything()


def _with_peer_and_redis(run: Run) -> None:
    """REV-4 starts the peer: wait until the SUT, the peer and redis-server all run."""
    run.wait_for(lambda: len(run.servers()) >= 2 and run.redis(), "SUT, peer and redis-server running")


def test_sigterm_of_a_managed_run_leaves_no_process_and_no_folder(harness):
    run = harness("--requirements", "REV-4,AUTH-*")
    _with_peer_and_redis(run)
    assert list(run.tmp.glob("hlc-run-*")), "the run's folder is where TMPDIR says"
    seconds = run.stop(signal.SIGTERM)
    output = run.output()
    assert run.popen.returncode == 143, output[-3000:]
    assert seconds < STOP_BOUND + SLACK, f"stopped after {seconds:.1f} s"
    assert "requirements (interrupted by SIGTERM)" in output
    assert run.left_behind(settle=1.0) == {}
    assert list(run.tmp.iterdir()) == [], "the run's temp folders are removed"


@pytest.mark.parametrize("moment", ["redis-server starting", "SUT starting", "peer starting"])
def test_sigterm_while_the_target_starts_leaves_no_process_and_no_folder(harness, moment):
    """The processes a half-started target made are stopped too (not only those it had handed back)."""
    run = harness("--requirements", "REV-4")
    started = {
        "redis-server starting": lambda: run.redis(),
        "SUT starting": lambda: run.servers(),
        "peer starting": lambda: len(run.servers()) >= 2,
    }[moment]
    run.wait_for(started, moment)
    seconds = run.stop(signal.SIGTERM)
    assert run.popen.returncode == 143, run.output()[-3000:]
    assert seconds < STOP_BOUND + SLACK, f"stopped after {seconds:.1f} s"
    assert run.left_behind(settle=1.0) == {}
    assert list(run.tmp.iterdir()) == [], "the run's temp folders are removed"


def test_sigkill_of_the_harness_leaves_no_process_and_the_next_run_removes_its_folder(harness):
    run = harness("--requirements", "REV-4,AUTH-*")
    _with_peer_and_redis(run)
    run.stop(signal.SIGKILL)
    assert run.popen.returncode == -signal.SIGKILL
    assert run.left_behind(settle=KILL_SETTLE) == {}, "the SUT, its peer and redis-server die with the harness"

    left = list(run.tmp.glob("hlc-run-*"))
    assert [folder.name.split("-")[2] for folder in left] == [str(run.popen.pid)], "named after the dead owner"
    alive = run.tmp / f"hlc-run-{os.getpid()}-live"  # a live process's run
    alive.mkdir()

    following = harness("--requirements", "ENV-1")
    following.wait_for(following.servers, "the next run's SUT running")
    assert not any(folder.exists() for folder in left), "the next run removed the dead run's folder"
    assert alive.exists(), "a live run's folder is never removed"
    following.stop(signal.SIGTERM)


def test_ctrl_c_during_fuzzing_stops_the_run_with_130_and_the_table_marked_interrupted(harness):
    run = harness("--requirements", "API-1", "-v")
    run.wait_for(lambda: "test_fuzzed_requests_get_conforming_answers" in run.output(), "fuzzing under way")
    time.sleep(0.5)
    seconds = run.stop(signal.SIGINT)
    output = run.output()
    assert run.popen.returncode == 130, output[-3000:]
    assert seconds < STOP_BOUND + SLACK, f"stopped after {seconds:.1f} s"
    assert "requirements (interrupted by SIGINT)" in output
    api1 = next(line for line in output.splitlines() if line.startswith("API-1 "))
    assert "not run" in api1 and "interrupted by SIGINT" in api1, api1
    assert run.left_behind(settle=1.0) == {}
    assert list(run.tmp.iterdir()) == []
