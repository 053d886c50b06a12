"""Reading the SUT's log from a position on: a file (line offsets) or a command's output.

A mark is an opaque int handed to the suites by ``Target.log_mark()``; only
complete lines (ending in a newline) are counted, so a line being written
while the mark is taken is returned by the next ``lines(since)`` whole.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from conformance.sut.process import render_command, run_bounded

LOG_CMD_TIMEOUT = 30.0
#: Lines remembered at a --sut-log-cmd mark to find the same place in a later output.
ANCHOR_LINES = 5


class LogFile:
    """A growing log file, read incrementally; marks are counts of complete lines."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lines: list[str] = []
        self._offset = 0
        self._lock = threading.Lock()

    def mark(self) -> int:
        with self._lock:
            self._read_new()
            return len(self._lines)

    def lines(self, since: int = 0, *, settle: float = 0.0) -> list[str]:
        if settle > 0:
            time.sleep(settle)
        with self._lock:
            self._read_new()
            return self._lines[since:]

    def _read_new(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(0, 2)
                if handle.tell() < self._offset:  # truncated or rotated: start over
                    self._lines, self._offset = [], 0
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        complete = chunk.rfind(b"\n") + 1
        if complete:
            self._lines += chunk[:complete].decode("utf-8", "replace").splitlines()
            self._offset += complete


class LogCommand:
    """A command that prints the SUT's recent log (``kubectl logs ...``), run on every read.

    Its output may be a sliding window, so a mark remembers the last lines seen
    and a later read returns what follows them; when they have scrolled out of
    the window, every line printed is returned (more, never less).
    """

    def __init__(self, template: str) -> None:
        self.command = render_command(template, {}, option="--sut-log-cmd")
        self._anchors: list[list[str]] = []
        self._lock = threading.Lock()

    def mark(self) -> int:
        anchor = self._run()[-ANCHOR_LINES:]
        with self._lock:
            self._anchors.append(anchor)
            return len(self._anchors)  # 0 means "from the start"

    def lines(self, since: int = 0, *, settle: float = 0.0) -> list[str]:
        if settle > 0:
            time.sleep(settle)
        output = self._run()
        if since <= 0:
            return output
        with self._lock:
            anchor = self._anchors[since - 1]
        return after_anchor(output, anchor)

    def _run(self) -> list[str]:
        done = run_bounded(self.command, timeout=LOG_CMD_TIMEOUT, check=True, what="--sut-log-cmd")
        return done.stdout.splitlines()


def after_anchor(output: list[str], anchor: list[str]) -> list[str]:
    """The lines of ``output`` after the remembered ``anchor`` lines (all lines if none is found).

    The longest tail of the anchor still present is used (older lines scroll
    out of a window first), at its first occurrence, because a repeat later on
    must not hide the lines before it: more lines, never fewer.
    """
    for skip in range(len(anchor)):
        tail = anchor[skip:]
        size = len(tail)
        for start in range(len(output) - size + 1):
            if output[start : start + size] == tail:
                return output[start + size :]
    return output
