"""The time bound of API-1 (``--fuzz-budget``): one clock for the extreme-value pass and the fuzzer, generation
included.

A run against a slow SUT or a schema that is slow to generate for must end
API-1 on time, and never by pytest's own per-test timeout, which fires inside
hypothesis and comes out as a flaky "failure" of the SUT. So there are two stops:

- a soft one: the suites ask :meth:`FuzzBudget.check` before every request and
  stop cleanly between cases;
- a hard one, :func:`hard_stop`: a little after the deadline a watchdog thread
  interrupts the main thread wherever it is (inside schemathesis' generation,
  a request, hypothesis' engine) with :class:`BudgetSpent`.

``BudgetSpent`` derives from ``KeyboardInterrupt`` because hypothesis lets that
through at once, without replaying the example or wrapping it in a
``FlakyFailure``; schemathesis' own engine stops its runs the same way (its
``BudgetExpired``). The suites catch it around each operation, so it never
reaches pytest.

A real Ctrl-C or SIGTERM (:mod:`conformance.run.interrupt`) is never taken for
the budget: :meth:`FuzzBudget.check` raises it again before every request,
wherever the tools put the first one.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from conformance.run import interrupt

#: Seconds past a deadline before the hard stop interrupts whatever is running.
GRACE = 2.0
#: Share of pytest-timeout's per-test limit the budget may use (the rest: fixtures, teardown, slack).
TIMEOUT_SHARE = 0.8


class BudgetSpent(KeyboardInterrupt):
    """The fuzz budget is spent: stop generating and sending (caught by the API-1 suites)."""


@dataclass
class FuzzBudget:
    """Seconds for API-1 as a whole, counted from the first moment API-1 needs the target."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def deadline(self) -> float:
        return self.started + self.seconds

    def share(self, fraction: float) -> float:
        """The deadline of a pass, starting now, that may use ``fraction`` of what is left of the budget."""
        now = self.clock()
        return now + max(0.0, self.deadline - now) * fraction

    def remaining(self, deadline: float | None = None) -> float:
        return max(0.0, (self.deadline if deadline is None else deadline) - self.clock())

    def expired(self, deadline: float | None = None) -> bool:
        return self.clock() >= (self.deadline if deadline is None else deadline)

    def check(self, deadline: float | None = None) -> None:
        """Raise :class:`BudgetSpent` once ``deadline`` (default: the whole budget's) has passed.

        An interrupted run (SIGINT, SIGTERM) raises :class:`~conformance.run.interrupt.Interrupted` first.
        """
        interrupt.check()
        if self.expired(deadline):
            raise BudgetSpent(f"fuzz budget of {self.seconds:g} s spent")

    def used(self) -> float:
        return self.clock() - self.started


def effective_seconds(requested: float, per_test_timeout: float | None) -> float:
    """The budget actually given: ``requested``, within pytest-timeout's per-test limit when there is one."""
    if per_test_timeout is None or per_test_timeout <= 0:
        return requested
    return min(requested, per_test_timeout * TIMEOUT_SHARE)


def per_test_timeout(item: Any) -> float | None:
    """pytest-timeout's limit for ``item`` (marker, option, ini key or environment), when that plugin is active."""
    try:
        from pytest_timeout import _get_item_settings  # the plugin's own resolution of all its sources
    except ImportError:
        return None
    try:
        timeout = _get_item_settings(item).timeout
    except Exception:  # another version of the plugin: no bound known, the requested budget stands
        return None
    return float(timeout) if timeout else None


@dataclass
class _Watch:
    lock: threading.Lock = field(default_factory=threading.Lock)
    armed: bool = True
    fired: bool = False
    delivered: bool = False


@contextlib.contextmanager
def hard_stop(
    at: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    grace: float = GRACE,
    raising: type[KeyboardInterrupt] = BudgetSpent,
) -> Iterator[None]:
    """Interrupt the main thread with ``raising`` at ``at + grace`` (a ``clock`` time), if still inside.

    ``raising`` is :class:`BudgetSpent` for the whole budget; the fuzzer also
    bounds each operation's slice of it this way (its ``SliceSpent``), so that
    a generation that never returns costs one operation its slice, not the
    operations after it their turn.

    The watchdog sends SIGINT to the main thread (so a blocking read is
    interrupted too) and a handler installed for the block turns it into
    ``BudgetSpent``; a real Ctrl-C still raises ``KeyboardInterrupt``. Outside
    the main thread (where no handler can be installed) only the soft stop applies.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    watch = _Watch()
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        if watch.fired:
            if not watch.delivered:
                watch.delivered = True
                raise raising(f"fuzz budget spent (hard stop {grace:g} s after the deadline)")
            # The watchdog sends one signal only: a later one is a real Ctrl-C.
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    def fire() -> None:
        with watch.lock:
            if not watch.armed:
                return
            watch.fired = True
            if hasattr(signal, "pthread_kill"):
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            else:  # pragma: no cover - Windows: no blocking read is interrupted there
                import _thread

                _thread.interrupt_main(signal.SIGINT)

    signal.signal(signal.SIGINT, on_sigint)
    timer = threading.Timer(max(0.0, at + grace - clock()), fire)
    timer.daemon = True
    try:
        timer.start()  # inside the try: the watchdog may fire before the block even begins
        yield
    finally:
        # Our signal may be pending and run the handler at any point below: keep going until the old one is back.
        while True:
            try:
                with watch.lock:
                    watch.armed = False
                timer.cancel()
                if timer.is_alive():
                    timer.join()
                signal.signal(signal.SIGINT, previous)  # runs pending handlers first, while ours is installed
                break
            except raising:
                continue
