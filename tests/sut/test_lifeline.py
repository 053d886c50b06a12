"""The lifeline watcher and the run folders: what a SIGKILLed harness leaves is stopped and removed.

The end-to-end case (a real managed run, SIGKILLed) is in test_signals.py;
these are the parts, quick: a stand-in harness in a subprocess starts a shell
command whose real work is a grandchild (as ``/bin/sh -c`` runs a ``--sut-cmd``),
from the main thread and from another thread, and is SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from conformance.sut import rundirs

HARNESS = textwrap.dedent("""
    import sys, threading, time
    from pathlib import Path
    from conformance.sut.process import ManagedProcess

    where = Path(sys.argv[1])
    def start(name):
        # `sleep & wait`: the shell stays, its child does the work (dash does not exec a -c command either)
        process = ManagedProcess("sleep 300 & echo $! > " + str(where / name) + "; wait", env={"PATH": "/usr/bin:/bin"},
                                 log_path=where / (name + ".log"), name=name)
        process.start()
    start("main")
    thread = threading.Thread(target=start, args=("thread",))  # no PR_SET_PDEATHSIG from a thread
    thread.start(); thread.join()
    print("started", flush=True)
    time.sleep(300)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_grandchildren_of_a_sigkilled_harness_die_with_it(tmp_path):
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert harness.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 10
        while not all((tmp_path / n).exists() and (tmp_path / n).read_text().strip() for n in ("main", "thread")):
            assert time.monotonic() < deadline, "the commands did not start"
            time.sleep(0.05)
        workers = [int((tmp_path / name).read_text()) for name in ("main", "thread")]
        assert all(_alive(pid) for pid in workers)
        harness.kill()
        harness.wait()
        deadline = time.monotonic() + 6  # the watcher's grace, and some margin for a loaded machine
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if _alive(pid)], "a command's child outlived the SIGKILLed harness"
    finally:
        harness.kill()
        for name in ("main", "thread"):
            try:
                os.kill(int((tmp_path / name).read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def test_a_clean_exit_stops_nothing_and_leaves_no_watcher(tmp_path):
    script = textwrap.dedent("""
        import sys
        from conformance.sut.process import ManagedProcess
        from conformance.sut.lifeline import lifeline
        process = ManagedProcess("sleep 300", env={"PATH": "/usr/bin:/bin"}, log_path=sys.argv[1] + "/log")
        process.start()
        process.stop()
        print(lifeline.watcher.pid, flush=True)
    """)
    watcher = int(
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    )
    deadline = time.monotonic() + 5
    while _alive(watcher) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(watcher), "the watcher ends with the harness"


def test_the_next_run_removes_only_the_folders_of_dead_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = tmp_path / f"hlc-run-{dead.pid}-abc123"
    (leftover / "data").mkdir(parents=True)
    live = tmp_path / f"hlc-run-{os.getppid()}-def456"  # another live process's run
    live.mkdir()
    ours = rundirs.new("hlc-run-")
    unrelated = [tmp_path / "hlc-run-abcdefgh", tmp_path / f"hlc-parallel-{dead.pid}-x", tmp_path / "other"]
    for folder in unrelated:
        folder.mkdir()
    assert ours.parent == tmp_path and ours.name.startswith(f"hlc-run-{os.getpid()}-")
    assert rundirs.sweep("hlc-run-") == [leftover]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in [live, ours, *unrelated])
