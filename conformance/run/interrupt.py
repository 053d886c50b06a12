"""SIGINT and SIGTERM stop a run cleanly: whatever the harness is doing, teardown runs and the table is printed.

A CI runner cancels a job with SIGTERM (then SIGKILL some seconds later), a
user presses Ctrl-C. Python's default for SIGTERM is to die on the spot (no
teardown: the SUT, its peer and its stores keep running), and a Ctrl-C that
lands inside hypothesis or schemathesis can be wrapped, replayed or reported as
a tool error instead of stopping the run. So, for the run's lifetime:

- both signals raise :class:`Interrupted`, a ``KeyboardInterrupt`` (which
  pytest, hypothesis and schemathesis let through: pytest then tears the
  session down, closes the target and prints the summary);
- the signal is also *remembered*, so that code that swallowed the exception
  (a tool that caught it) stops at the next :func:`check` (the fuzz budget's
  check, the fuzz runner, the plugin after each test);
- a second signal within :data:`REPEAT_GRACE` seconds of the first raises
  nothing (a CI runner sends SIGINT, then SIGTERM; an impatient user presses
  Ctrl-C twice), and neither does any signal while the run stops its target
  (:func:`shielded`): an exception there would skip the rest of pytest's
  teardown and leave a half-stopped SUT. A run still going after the grace
  can be interrupted again;
- the run exits with ``128 + signal number``, as a shell reports a process
  killed by it: 130 for SIGINT, 143 for SIGTERM (:func:`exit_code`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

#: The signals that stop a run.
SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: Seconds after the first signal during which another one raises nothing (the teardown takes 1-3 s).
REPEAT_GRACE = 10.0

_received: int | None = None
_received_at = 0.0
_shield_depth = 0


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by a signal (a KeyboardInterrupt, so that every tool lets it through)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"the run was interrupted by {name(signum)}")


def name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def received() -> int | None:
    """The first stopping signal this process received since :func:`install`, else ``None``."""
    return _received


def check() -> None:
    """Raise :class:`Interrupted` if a stopping signal was received (and no teardown is under way)."""
    if _received is not None and not _shield_depth:
        raise Interrupted(_received)


def exit_code() -> int | None:
    """``128 + signal number`` once interrupted (130 for SIGINT, 143 for SIGTERM), else ``None``."""
    return None if _received is None else 128 + _received


def _handle(signum: int, frame: Any) -> None:
    global _received, _received_at
    if _received is None:
        _received, _received_at = signum, time.monotonic()
    elif time.monotonic() - _received_at < REPEAT_GRACE:
        return  # already stopping
    if not _shield_depth:
        raise Interrupted(signum)


def install() -> Callable[[], None]:
    """Handle SIGINT and SIGTERM as above; returns what restores the previous handlers (main thread only)."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    _received = None
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, _handle)

    def restore() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is _handle and handler is not None:
                signal.signal(sig, handler)

    return restore


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Within the block, a stopping signal is remembered but raises nothing (teardown must finish)."""
    global _shield_depth
    _shield_depth += 1
    try:
        yield
    finally:
        _shield_depth -= 1


def reset() -> None:
    """Forget a received signal (for tests of the harness)."""
    global _received
    _received = None
