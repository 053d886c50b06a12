"""Child processes the harness starts (SUT, local Redis): started, watched, always stopped.

Each child runs in its own process group (``start_new_session``), so stopping
it (SIGTERM to the group, SIGKILL after a bound) also stops whatever it
spawned, and a Ctrl-C in the terminal reaches pytest only, which then stops
the children in order. Every live child is also stopped by an ``atexit`` hook,
and on Linux asks the kernel for SIGTERM if the harness dies without cleaning up
(``PR_SET_PDEATHSIG``), so no orphan outlives the pytest process.

Command templates are split like a shell would (``shlex``) and then each word
is filled in: ``{name}`` placeholders, see :data:`PLACEHOLDERS`.
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
from collections.abc import Callable, Mapping
from pathlib import Path

from conformance.target.errors import TargetError

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
TAIL_LINES = 20
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
POLL_INTERVAL = 0.1

_live: set[ManagedProcess] = set()
_live_lock = threading.Lock()


def render_command(template: str, values: Mapping[str, object], *, option: str = "--sut-cmd") -> list[str]:
    """``template`` split into words, each with its ``{placeholders}`` filled in.

    Only ``{name}`` words are placeholders (``{{``/``}}`` stand for a brace), so
    shell-ish text such as ``awk '{print $1}'`` passes through untouched; an
    unknown ``{name}`` is an error, because it is most likely a typo.
    """
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise TargetError(f"{option}: cannot split {template!r} into words ({exc})") from None
    if not words:
        raise TargetError(f"{option} is empty")

    def fill(match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        name = match.group(1)
        if name not in values:
            known = ", ".join("{" + key + "}" for key in values) or "none"
            raise TargetError(f"{option}: unknown placeholder {{{name}}} (available here: {known})")
        return str(values[name])

    return [PLACEHOLDER.sub(fill, word) for word in words]


class ManagedProcess:
    """One child process whose stdout and stderr are appended to ``log_path``."""

    def __init__(
        self, argv: list[str], *, env: Mapping[str, str], log_path: Path, name: str = "the SUT", port: int | None = None
    ) -> None:
        self.argv = list(argv)
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
        return shlex.join(self.argv)

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
        return f"  last {len(lines)} lines of its output ({self.log_path}):\n" + "\n".join(f"    {l}" for l in lines)


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
