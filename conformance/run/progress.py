"""The run's voice while it waits: status lines from :mod:`conformance.wire.waiting` on pytest's terminal.

pytest captures what tests print; the status line is written the way pytest's
own live logging writes from inside a test (capture suspended for the line),
updated in place on a terminal, one line at most every
:data:`~conformance.wire.waiting.CI_INTERVAL` seconds in a CI log, after which
the running file's name starts the next line again, so its results do not
dangle under the status line.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.wire import waiting

PREFIX = "conformance: "
_terminal: Any = None  # the run's terminal reporter, while installed


def install(config: pytest.Config) -> None:
    """Send the waits' status lines to this run's terminal (the controller's: xdist workers have none)."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if terminal is None or hasattr(config, "workerinput"):
        waiting.set_reporter(None)
        return
    global _terminal
    _terminal = terminal
    interactive = bool(getattr(terminal, "isatty", False)) and config.option.verbose >= 0
    lock = threading.Lock()
    last = [0.0]

    def report(text: str, final: bool) -> None:
        with lock:
            now = time.monotonic()
            if not interactive and not final and now - last[0] < waiting.CI_INTERVAL:
                return
            if not interactive and final:
                return  # the closing line of a wait adds nothing to a log that said what it waited for
            last[0] = now
            suspended = capture.global_and_fixture_disabled() if capture is not None else _nothing()
            with suspended:
                if interactive:
                    terminal.write("\r\x1b[K" + ("" if final else PREFIX + text))
                else:
                    running = terminal.currentfspath
                    terminal.write_line(PREFIX + text)
                    if isinstance(running, Path):  # the running file's next result goes under its name again
                        _dangling[:] = [running]

    waiting.set_reporter(report, interactive=interactive)


#: The file whose results a status line interrupted (its name is written again before its next result).
_dangling: list[Path] = []


def restate_file() -> None:
    """Before pytest writes a result's letter: restate the interrupted file's name, as pytest does for a file."""
    if not _dangling or _terminal is None:
        return
    running = _dangling.pop()
    _terminal.write(os.path.relpath(running, _terminal.startpath) + " ")
    _terminal.currentfspath = running


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def uninstall() -> None:
    global _terminal
    waiting.set_reporter(None)
    _terminal = None
    _dangling.clear()
