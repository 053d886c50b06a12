"""Waiting for a declared limit: said out loud, and never counted against a test's time.

Against a real service at its real rate limits, a run waits minutes for
windows to open. Two things follow, both here, for every wait of the harness
(pacing, a 429 waited out, a ledger re-check, a rate window):

- the time waited does not count against the per-test timeout: pytest-timeout's
  alarm (its ``signal`` method, the default on Linux) is paused while any thread
  waits and re-armed with what was left, so a test that waits ten minutes for
  logins does not die at 300 s with a false failure;
- a status line says what the run waits for and when it goes on, at most every
  :data:`CI_INTERVAL` seconds when the output is not a terminal, updated in
  place on one.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable

#: Seconds between two status lines when the output is not a terminal (a CI log).
CI_INTERVAL = 15.0
#: Waits shorter than this are not announced.
ANNOUNCE_AFTER = 3.0

_lock = threading.Lock()
_waiters = 0
_paused_alarm: float | None = None
_reporter: Callable[[str, bool], None] | None = None
_interactive = False
#: Seconds waited per reason ("login 5/60", "a 429 on register"...), for the report's closing line.
waited: dict[str, float] = defaultdict(float)


def set_reporter(reporter: Callable[[str, bool], None] | None, *, interactive: bool = False) -> None:
    """Where status lines go: ``reporter(text, final)``; ``interactive`` (a terminal) updates them in place."""
    global _reporter, _interactive
    _reporter, _interactive = reporter, interactive


def sleep(
    seconds: float,
    *,
    what: str,
    detail: Callable[[float], str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> None:
    """Wait ``seconds`` for ``what`` (e.g. ``"login 5/60"``), the test's timeout paused, the wait announced.

    ``detail(left)`` adds to the status line (``"12 of 31 logins"``); ``left`` is the seconds still to wait.
    """
    if seconds <= 0:
        return
    _enter()
    try:
        end = clock() + seconds
        announce = seconds >= ANNOUNCE_AFTER and _reporter is not None
        step = 1.0 if _interactive else CI_INTERVAL
        while (left := end - clock()) > 0:
            if announce and _reporter is not None and left >= 0.5:  # never "next in 0 s"
                extra = f" — {detail(left)}" if detail is not None else ""
                _reporter(f"waiting for {what}: next in {left:.0f} s{extra}", False)
            pause(min(step, left) if announce else left)
        if announce and _reporter is not None:
            _reporter(f"waited {seconds:.0f} s for {what}", True)
    finally:
        _leave()
        with _lock:
            waited[what] += seconds


def snapshot() -> dict[str, float]:
    """Seconds waited so far, per what was waited for (a test's waits are the difference of two)."""
    with _lock:
        return dict(waited)


def total_waited() -> float:
    with _lock:
        return sum(waited.values())


def reset() -> None:
    with _lock:
        waited.clear()


def _enter() -> None:
    """The first waiter pauses pytest-timeout's alarm, remembering what was left of it."""
    global _waiters, _paused_alarm
    with _lock:
        _waiters += 1
        if _waiters == 1 and hasattr(signal, "setitimer"):
            left, _ = signal.getitimer(signal.ITIMER_REAL)
            if left > 0:
                signal.setitimer(signal.ITIMER_REAL, 0)
                _paused_alarm = left


def _leave() -> None:
    """The last waiter re-arms the alarm with what was left when the first began."""
    global _waiters, _paused_alarm
    with _lock:
        _waiters -= 1
        if _waiters == 0 and _paused_alarm is not None:
            signal.setitimer(signal.ITIMER_REAL, _paused_alarm)
            _paused_alarm = None
