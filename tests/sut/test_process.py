"""The process manager: commands from templates, readiness, and stopping whole process groups."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from conformance.sut import TargetError
from conformance.sut.health import problem
from conformance.sut.ports import free_port
from conformance.sut.process import CommandError, ManagedProcess, render_command, run_bounded

from .conftest import stub_argv


def test_placeholders_are_filled_word_by_word():
    values = {"python": "py", "port": 8, "data_dir": "/a b"}
    command = render_command("{python} -m app --port {port} --dir '{data_dir}' --also {data_dir}", values)
    assert shlex.split(command) == ["py", "-m", "app", "--port", "8", "--dir", "/a b", "--also", "/a b"]


def test_placeholder_values_are_quoted_for_the_shell_wherever_they_stand():
    value = 'it\'s "q" $HOME `id` \\ ; rm -rf x'
    for template in ("printf %s {v}", "printf %s '{v}'", 'printf %s "{v}"'):
        done = run_bounded(render_command(template, {"v": value}), timeout=10)
        assert done.stdout == value, template


def test_braces_that_are_not_placeholders_pass_through():
    command = render_command("sh -c 'awk \"{print $1}\"' {{x}}", {})
    assert shlex.split(command) == ["sh", "-c", 'awk "{print $1}"', "{x}"]


def test_unknown_placeholder_names_the_available_ones():
    with pytest.raises(TargetError, match=r"--sut-cmd: unknown placeholder \{prot\} \(available here: \{port\}\)"):
        render_command("app --port {prot}", {"port": 1})


def stub(tmp_path: Path, mode: str = "ok") -> ManagedProcess:
    port = free_port()
    env = dict(os.environ, STUB_MODE=mode)
    return ManagedProcess(stub_argv(port, tmp_path), env=env, log_path=tmp_path / "sut.log", port=port)


def ready_check(process: ManagedProcess):
    client = httpx.Client(timeout=1.0, trust_env=False)
    return lambda: problem(client, "GET", f"http://127.0.0.1:{process.port}/health")


def test_a_sut_that_dies_at_start_is_reported_with_its_output(tmp_path):
    process = stub(tmp_path, "die")
    process.start()
    try:
        with pytest.raises(TargetError) as caught:
            process.wait_ready(ready_check(process), timeout=20, what="health")
    finally:
        process.stop()
    message = str(caught.value)
    assert message.startswith("the SUT exited with code 3 while starting")
    assert "cannot connect to the database" in message


def test_a_sut_that_never_becomes_ready_is_given_up_after_the_bound(tmp_path):
    process = stub(tmp_path, "never")
    process.start()
    try:
        with pytest.raises(TargetError, match=r"the SUT was not ready within 1.5 s: health \(answered status 503"):
            process.wait_ready(ready_check(process), timeout=1.5, what="health")
        assert process.running, "giving up on readiness does not stop the process by itself"
    finally:
        process.stop()
    assert not process.running


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list a process group")
def test_stop_leaves_no_orphan_of_the_process_group(tmp_path):
    process = stub(tmp_path, "child")
    process.start()
    try:
        process.wait_ready(ready_check(process), timeout=20, what="health")
        deadline = time.monotonic() + 10
        while len(group_members(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(group_members(process.pid)) == 2, "the stub and its sleeping grandchild"
    finally:
        process.stop()
    assert group_members(process.pid) == []


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path):
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(600)"
    )
    process = ManagedProcess(["python3", "-c", script], env=dict(os.environ), log_path=tmp_path / "out.log")
    process.start()
    deadline = time.monotonic() + 10
    while "up" not in process.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    code = process.stop(grace=0.5)
    assert code is not None and code < 0, "killed by a signal"
    assert not process.running


def test_output_is_appended_across_starts(tmp_path):
    process = ManagedProcess(["python3", "-c", "print('hello')"], env=dict(os.environ), log_path=tmp_path / "out.log")
    for _ in range(2):
        process.start()
        assert process.wait_exit(10) == 0
    assert process.output().splitlines() == ["hello", "hello"]


def test_an_unknown_executable_is_one_clear_error(tmp_path):
    process = ManagedProcess(["no-such-binary-hlc"], env=dict(os.environ), log_path=tmp_path / "out.log")
    with pytest.raises(TargetError, match="cannot start the SUT: no-such-binary-hlc"):
        process.start()


HARNESS = """
import os, sys, time
from pathlib import Path
from conformance.sut.process import ManagedProcess
child = ManagedProcess([sys.executable, "-c", "import time; time.sleep(600)"], env=dict(os.environ),
                       log_path=Path(sys.argv[1]))
child.start()
print(child.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_children_die_with_a_harness_killed_without_cleanup(tmp_path):
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, str(tmp_path / "child.log")], stdout=subprocess.PIPE, text=True
    )
    try:
        child_pid = int(harness.stdout.readline())
        assert pid_alive(child_pid)
    finally:
        harness.kill()  # SIGKILL: no atexit, no finally in the harness
        harness.wait(10)
        harness.stdout.close()
    deadline = time.monotonic() + 10
    while pid_alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child_pid)


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- run_bounded: the one way every *-cmd, the load runner and the kill matrix run a command ------------------

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
#: A command that starts a grandchild and ignores SIGINT and SIGTERM: only SIGKILL of the group stops both.
STUBBORN = (
    f"{shlex.quote(sys.executable)} -c 'import signal, subprocess, sys, time; "
    "signal.signal(signal.SIGINT, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    'child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]); '
    "print(child.pid, flush=True); time.sleep(60)'"
)


def test_a_bounded_command_gives_its_exit_code_and_decoded_output():
    done = run_bounded("printf 'h\\303\\251'; printf 'oops\\377' >&2; exit 3", timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (3, "hé", "oops\ufffd")


def test_a_command_that_overruns_is_stopped_with_nothing_left(tmp_path, monkeypatch):
    monkeypatch.setattr("conformance.sut.process.INTERRUPT_GRACE", 0.5)
    monkeypatch.setattr("conformance.sut.process.STOP_GRACE", 0.5)
    started = time.monotonic()
    done = run_bounded(STUBBORN, timeout=2, output_path=tmp_path / "out.txt")
    assert done.returncode is None and time.monotonic() - started < 30
    grandchild = int((tmp_path / "out.txt").read_text().split()[0])
    deadline = time.monotonic() + 10
    while running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(grandchild), "the grandchild is gone too"


def test_an_interrupted_command_is_stopped():
    interrupt = threading.Event()
    interrupt.set()
    started = time.monotonic()
    assert run_bounded(SLEEPER, timeout=60, interrupt=interrupt).returncode is None
    assert time.monotonic() - started < 30


def test_a_checked_command_that_fails_is_one_error_with_the_tail_of_its_stderr():
    with pytest.raises(CommandError, match=r"--restart-cmd exited with code 4; its stderr ends: 'no permission'"):
        run_bounded("echo fine; echo 'no permission' >&2; exit 4", timeout=10, check=True, what="--restart-cmd")
    with pytest.raises(CommandError, match="--otp-cmd did not finish within 0.5 s"):
        run_bounded(SLEEPER, timeout=0.5, check=True, what="--otp-cmd")
    with pytest.raises(CommandError, match="cannot be started"):
        run_bounded(["no-such-binary-hlc"], timeout=5, check=True)


def test_input_reaches_the_command_on_standard_input():
    assert run_bounded("read line; printf '%s' \"$line\"", timeout=10, input="s3cret\n").stdout == "s3cret"


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan may wait a while to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
