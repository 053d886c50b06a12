"""Child processes the harness starts: long-lived ones (SUT, local Redis) and bounded commands.

Each child runs in its own process group (``start_new_session``), so stopping
it also stops whatever it spawned, and a Ctrl-C in the terminal reaches
pytest only, which then stops the children in order. Every live child is also
stopped by an ``atexit`` hook, and every process group is registered with the
run's :mod:`~conformance.sut.lifeline` watcher, which stops the groups still
registered when the harness dies without cleaning up (SIGKILL included), so no
orphan outlives the pytest process. (``PR_SET_PDEATHSIG`` is asked for too,
but reaches only the ``/bin/sh`` that runs a command, not the server it starts.)

- :class:`ManagedProcess`: a long-lived child (the SUT, redis-server) whose
  output goes to a log file; SIGTERM to its group, SIGKILL after a grace.
- :func:`run_bounded`: one command that must finish within a bound
  (``--restart-cmd``, ``--otp-cmd``, ``--seed-cmd``, ``--sut-log-cmd``, the
  load runner, the kill matrix); at the bound or on interruption its group gets
  SIGINT, then SIGTERM, then SIGKILL. Failures are one :class:`CommandError`
  with the command and the tail of its stderr.

Every ``*-cmd`` option is a shell command line (run with ``/bin/sh -c``) whose
``{name}`` placeholders are replaced by shell-quoted values, see
:func:`render_command`; write placeholders bare, the harness quotes them.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.sut.errors import TargetError
from conformance.sut.lifeline import lifeline

#: Placeholders a ``--sut-cmd`` (and ``--seed-cmd``) may use, and what they become.
PLACEHOLDERS = {
    "python": "the Python interpreter running the harness",
    "host": "the loopback address the SUT must listen on (127.0.0.1)",
    "port": "a free TCP port for the SUT",
    "data_dir": "an empty directory the SUT may keep its files in (kept across restart())",
    "redis_url": "redis://127.0.0.1:PORT/0 of the Redis the harness started",
    "smtp_host": "host of the harness's SMTP sink (OTP mails go there)",
    "smtp_port": "port of the harness's SMTP sink",
    "mongo_url": "mongodb:// URL of the MongoDB container (--services mongo)",
}
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
INTERRUPT_GRACE = 10.0  # seconds a bounded command gets after SIGINT to tidy up (stop its own children)
TAIL_LINES = 20
TAIL_CHARS = 500
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
POLL_INTERVAL = 0.1
SHELL = "/bin/sh"

_live: set[ManagedProcess] = set()
_live_lock = threading.Lock()


class CommandError(TargetError):
    """A command could not be run, did not finish in time, or (when checked) exited non-zero."""

    def __init__(self, command: str, problem: str, stderr: str = "") -> None:
        self.command = command
        self.problem = problem
        self.stderr_tail = stderr.strip()[-TAIL_CHARS:]
        tail = f"; its stderr ends: {self.stderr_tail!r}" if self.stderr_tail else ""
        super().__init__(f"{command} {problem}{tail}")


def render_command(template: str, values: Mapping[str, object], *, option: str = "--sut-cmd") -> str:
    """``template`` as a shell command line, each ``{placeholder}`` replaced by its value, quoted for the shell.

    A value is quoted for where it stands: bare, inside '...' or inside "..."
    (so ``--dir '{data_dir}'`` and ``--dir {data_dir}`` both give the directory
    as one word). Only ``{name}`` is a placeholder (``{{``/``}}`` stand for a
    brace), so shell text such as ``awk '{print $1}'`` passes through
    untouched; an unknown ``{name}`` is an error, because it is most likely a typo.
    """
    if not template.strip():
        raise TargetError(f"{option} is empty")
    try:
        shlex.split(template)
    except ValueError as exc:
        raise TargetError(f"{option}: cannot read {template!r} as a command line ({exc})") from None
    out: list[str] = []
    quote: str | None = None  # the quote character we are inside, if any
    position = 0
    while position < len(template):
        char = template[position]
        match = PLACEHOLDER.match(template, position)
        if match:
            out.append(_filled(match, values, option, quote))
            position = match.end()
            continue
        if quote is None and char == "\\" and position + 1 < len(template):
            out.append(template[position : position + 2])
            position += 2
            continue
        if quote == '"' and char == "\\" and position + 1 < len(template):
            out.append(template[position : position + 2])
            position += 2
            continue
        if char in "'\"" and (quote is None or quote == char):
            quote = None if quote == char else char
        out.append(char)
        position += 1
    return "".join(out)


def _filled(match: re.Match[str], values: Mapping[str, object], option: str, quote: str | None) -> str:
    if match.group(0) in ("{{", "}}"):
        return match.group(0)[0]
    name = match.group(1)
    if name not in values:
        known = ", ".join("{" + key + "}" for key in values) or "none"
        raise TargetError(f"{option}: unknown placeholder {{{name}}} (available here: {known})")
    value = str(values[name])
    if quote == "'":
        return value.replace("'", "'\\''")
    if quote == '"':
        return re.sub(r'([\\"$`])', r"\\\1", value)
    return shlex.quote(value)


def shell_argv(command: str | Sequence[str]) -> list[str]:
    """The argv that runs ``command``: a string through the shell, a sequence as it is."""
    return [SHELL, "-c", command] if isinstance(command, str) else list(command)


def describe_command(command: str | Sequence[str]) -> str:
    return command if isinstance(command, str) else shlex.join(command)


@dataclass(frozen=True)
class Completed:
    """How a bounded command ended; ``returncode`` is ``None`` when it was stopped (bound or interrupt)."""

    command: str
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


def run_bounded(
    command: str | Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    input: str | None = None,
    output_path: Path | None = None,
    interrupt: threading.Event | None = None,
    check: bool = False,
    what: str | None = None,
    leave_running: bool = False,
) -> Completed:
    """Run ``command`` in its own process group for at most ``timeout`` seconds; never leaves a process behind.

    Output is captured (decoded, errors replaced), or written to
    ``output_path`` (stdout and stderr together) for long runs. At the bound,
    or when ``interrupt`` is set, the group gets SIGINT, then SIGTERM, then
    SIGKILL, and ``returncode`` is ``None``; so does an exception in this
    process (Ctrl-C) before it re-raises. After a normal exit what the command
    left in its group is killed too, unless ``leave_running`` (a
    ``--restart-cmd`` may rightly leave the restarted SUT running). With
    ``check`` a stopped or failed command raises :class:`CommandError`
    (``what`` names it, e.g. ``--otp-cmd``).
    """
    name = what or repr(describe_command(command))
    started = time.monotonic()
    sink = open(output_path, "wb") if output_path is not None else None  # noqa: SIM115 - closed below
    try:
        try:
            popen = subprocess.Popen(
                shell_argv(command),
                cwd=cwd,
                env=None if env is None else dict(env),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=sink if sink is not None else subprocess.PIPE,
                stderr=subprocess.STDOUT if sink is not None else subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise CommandError(name, f"cannot be started ({exc.strerror or exc})") from None
        lifeline.add(popen.pid)
        try:
            try:
                out, err, code = _communicate(popen, input, timeout, interrupt or threading.Event())
            except BaseException:
                _stop(popen)
                raise
            if not leave_running:
                _signal_group(popen.pid, signal.SIGKILL)
        finally:
            lifeline.remove(popen.pid)
    finally:
        if sink is not None:
            sink.close()
    result = Completed(name, code, out, err, time.monotonic() - started)
    if check and code is None:
        stopped = (
            "was interrupted"
            if interrupt is not None and interrupt.is_set()
            else f"did not finish within {timeout:g} s"
        )
        raise CommandError(name, stopped, result.stderr or result.stdout)
    if check and code != 0:
        raise CommandError(name, f"exited with code {code}", result.stderr or result.stdout)
    return result


def _communicate(
    popen: subprocess.Popen[bytes], input: str | None, timeout: float, interrupt: threading.Event
) -> tuple[str, str, int | None]:
    """Wait for ``popen`` (retrying ``communicate`` keeps the output), stopping its group at the bound."""
    deadline = time.monotonic() + timeout
    data = input.encode("utf-8") if input is not None else None
    chunks: tuple[bytes | None, bytes | None] = (None, None)
    while True:
        try:
            chunks = popen.communicate(data, timeout=max(0.05, min(1.0, deadline - time.monotonic())))
            break
        except subprocess.TimeoutExpired:
            data = None  # already written
            if interrupt.is_set() or time.monotonic() >= deadline:
                chunks = _stop(popen)
                return _decoded(chunks[0]), _decoded(chunks[1]), None
    return _decoded(chunks[0]), _decoded(chunks[1]), popen.returncode


def _stop(popen: subprocess.Popen[bytes]) -> tuple[bytes | None, bytes | None]:
    """SIGINT the group (a run tears its own children down), then SIGTERM, then SIGKILL; what it still printed."""
    chunks: tuple[bytes | None, bytes | None] = (None, None)
    for sig, grace in ((signal.SIGINT, INTERRUPT_GRACE), (signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, 5)):
        _signal_group(popen.pid, sig)
        try:
            chunks = popen.communicate(timeout=grace)
            break
        except (subprocess.TimeoutExpired, ValueError):
            continue
    _signal_group(popen.pid, signal.SIGKILL)  # stragglers the leader left behind
    return chunks


def _decoded(data: bytes | None) -> str:
    return data.decode("utf-8", errors="replace") if data else ""


class ManagedProcess:
    """One child process whose stdout and stderr are appended to ``log_path``."""

    def __init__(
        self,
        command: str | Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        name: str = "the SUT",
        port: int | None = None,
    ) -> None:
        self.argv = shell_argv(command)
        self._command = describe_command(command)
        self.port = port  # the port it was told to listen on, if any
        self.env = dict(env)
        self.log_path = Path(log_path)
        self.name = name
        self._popen: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid}>"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def command(self) -> str:
        return self._command

    def start(self) -> None:
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    start_new_session=True,
                    preexec_fn=_die_with_parent() if threading.current_thread() is threading.main_thread() else None,
                )
            except OSError as exc:
                raise TargetError(f"cannot start {self.name}: {self.command} ({exc.strerror or exc})") from None
        lifeline.add(self._popen.pid)
        with _live_lock:
            _live.add(self)

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen else None

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or ``None`` if still running after ``timeout`` seconds."""
        if self._popen is None:
            return None
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_ready(self, is_ready: Callable[[], str | None], *, timeout: float, what: str) -> None:
        """Poll ``is_ready`` (``None`` = ready, else why not) while the process lives, at most ``timeout`` s."""
        deadline = time.monotonic() + timeout
        reason = "not polled yet"
        while True:
            if not self.running:
                code = self.returncode
                raise TargetError(
                    f"{self.name} exited with code {code} while starting ({self.command})\n" + self.tail_block()
                )
            reason = is_ready()
            if reason is None:
                return
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"{self.name} was not ready within {timeout:g} s: {what} ({reason}; command: {self.command})\n"
                    + self.tail_block()
                )
            time.sleep(POLL_INTERVAL)

    def stop(self, grace: float = STOP_GRACE) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; idempotent."""
        popen = self._popen
        if popen is None:
            return None
        try:
            if popen.poll() is None:
                _signal_group(popen.pid, signal.SIGTERM)
                try:
                    popen.wait(grace)
                except subprocess.TimeoutExpired:
                    pass
            _signal_group(popen.pid, signal.SIGKILL)  # stragglers the leader left behind
            popen.wait(grace)
        finally:
            with _live_lock:
                _live.discard(self)
            lifeline.remove(popen.pid)
        return popen.returncode

    def output(self) -> str:
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, count: int = TAIL_LINES) -> list[str]:
        return self.output().splitlines()[-count:]

    def tail_block(self, count: int = TAIL_LINES) -> str:
        lines = self.tail(count)
        if not lines:
            return f"  ({self.name} printed nothing; log {self.log_path})"
        shown = "\n".join(f"    {line}" for line in lines)
        return f"  last {len(lines)} lines of its output ({self.log_path}):\n{shown}"


def stop_all() -> None:
    """Stop every child still alive (atexit, and a last resort for callers)."""
    with _live_lock:
        children = list(_live)
    for child in children:
        try:
            child.stop(grace=2.0)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


atexit.register(stop_all)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when the harness dies (None elsewhere).

    The kernel ties this to the spawning *thread*, so it is only used for
    children started from the main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec
