"""The processes the harness starts die with it, even when the harness is SIGKILLed.

``PR_SET_PDEATHSIG`` cannot do that alone: it reaches only the direct child,
and a ``--sut-cmd`` runs as ``/bin/sh -c COMMAND``, where dash (Debian's
``/bin/sh``) does not replace itself with the command: the shell dies, the
server it started lives on. The signal is also tied to the *thread* that
started the child, and cleared in every grandchild.

So each harness process that starts children also starts one watcher (this
file, run as a script: standard library only, no import of the harness). The
watcher reads a pipe whose only writer is the harness: ``+PGID`` when the
harness starts a process group, ``-PGID`` once it has stopped it. When the pipe
reaches end of file (the harness exited, however it exited: the kernel closes
a SIGKILLed process's descriptors too), the watcher sends SIGTERM to every
group still registered, SIGKILL to whatever is left after :data:`GRACE`
seconds, and exits. A run that cleaned up after itself has nothing registered
by then, and the watcher exits at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

#: Seconds between SIGTERM and SIGKILL when the harness is gone.
GRACE = 2.0


class Lifeline:
    """The harness's end of the pipe; the watcher is started on first use (again in a forked child)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._write: int | None = None
        self._owner: int | None = None  # the pid that started the watcher: a forked child needs its own
        self.watcher: subprocess.Popen[bytes] | None = None

    def add(self, pgid: int) -> None:
        """The harness started process group ``pgid``: stop it if the harness dies."""
        self._send(f"+{pgid}\n")

    def remove(self, pgid: int) -> None:
        """The harness stopped process group ``pgid`` itself."""
        if self._owner == os.getpid():
            self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        with self._lock:
            try:
                if self._owner != os.getpid():
                    self._start()
                assert self._write is not None
                os.write(self._write, line.encode("ascii"))
            except OSError:  # no watcher (cannot start one, or it died): the atexit hook is all there is
                pass

    def _start(self) -> None:
        read, write = os.pipe()  # both ends close-on-exec: no other child holds the pipe open
        try:
            self.watcher = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__)],
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            os.close(write)
            raise
        finally:
            os.close(read)
        self._write, self._owner = write, os.getpid()


#: The one lifeline of this process.
lifeline = Lifeline()


# -- the watcher -------------------------------------------------------------------------------------------------------
def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop_groups(groups: set[int], grace: float = GRACE) -> None:
    """SIGTERM every group, SIGKILL what is left of them after ``grace`` seconds."""
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while groups and time.monotonic() < deadline:
        groups = {pgid for pgid in groups if _alive(pgid)}
        time.sleep(0.05)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def watch(stream) -> None:
    """Read ``+PGID``/``-PGID`` lines until end of file (or SIGTERM), then stop the groups still registered."""
    groups: set[int] = set()

    def terminated(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the harness's to handle
    signal.signal(signal.SIGTERM, terminated)
    try:
        for line in stream:
            text = line.strip()
            if text[:1] in (b"+", b"-") and text[1:].isdigit():
                (groups.add if text[:1] == b"+" else groups.discard)(int(text[1:]))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_groups(groups)


if __name__ == "__main__":
    watch(sys.stdin.buffer)
