"""Stopping a harness run: an overrun or an interrupt leaves no process behind."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from tests.kill_matrix.runs import HarnessRun, _wait_or_stop

# Ignores nothing, so SIGINT ends it at once; a real run tears its SUT down first.
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def start_sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(SLEEPER, start_new_session=True, stderr=subprocess.DEVNULL)


def test_a_run_that_overruns_is_stopped():
    process = start_sleeper()
    try:
        started = time.monotonic()
        assert _wait_or_stop(process, 0.5, threading.Event()) is None
        assert process.poll() is not None and time.monotonic() - started < 30
    finally:
        process.kill()
        process.wait()


def test_an_interrupted_run_is_stopped():
    process = start_sleeper()
    interrupt = threading.Event()
    interrupt.set()
    try:
        assert _wait_or_stop(process, 60, interrupt) is None
        assert process.poll() is not None
    finally:
        process.kill()
        process.wait()


def test_a_finished_run_gives_its_exit_code_even_when_interrupted_afterwards():
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], start_new_session=True)
    process.wait()
    interrupt = threading.Event()
    interrupt.set()
    assert _wait_or_stop(process, 60, interrupt) == 3


def test_a_run_names_its_defect_and_scope_and_builds_its_command(tmp_path):
    run = HarnessRun(defect="generic-codes", requirements=("ENV-3", "AUTH-3"), timeout_s=1)
    assert run.name == "generic-codes [ENV-3,AUTH-3]"
    argv = run.argv(tmp_path / "r.json")
    assert argv[1:4] == ["-m", "pytest", "-p"]
    assert ["--sut-env", "REFERENCE_DEFECTS=generic-codes"] == argv[argv.index("--sut-env"):][:2]
    assert ["--requirements", "ENV-3,AUTH-3"] == argv[argv.index("--requirements"):][:2]
    assert "--requirements" not in HarnessRun(defect=None, requirements=None, timeout_s=1).argv(tmp_path / "r.json")
