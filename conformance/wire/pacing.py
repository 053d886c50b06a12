"""Pacing: the harness never sends a rate-limited operation faster than the profile declares.

The profile's ``[rate_limits]`` declares the SUT's per-client-IP limit of each
rate-limited operation (register, login, verify_otp, refresh). Every request
the harness's clients send to one of them waits its turn here, per operation
and per source address, in a sliding window: no interval of the window's
length holds more than the declared count, so no fixed window of the SUT's
can either. Bursts that exist to exceed a limit (RATE-1, the lockout races)
send from other source addresses and do not go through a pacer.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter, deque
from collections.abc import Callable

from conformance.profile import Profile, Rate
from conformance.wire import waiting

#: Seconds added to each window: clocks of harness and SUT are not the same clock.
MARGIN = 0.25
#: The longest a single request may wait for its turn (a misdeclared limit must not stall a run for hours).
MAX_WAIT = 180.0
#: Requests a minute below which one source address cannot afford what is generated per example (accounts, logins).
SCARCE_PER_MINUTE = 30


def scarce(rate: Rate | None) -> bool:
    """Whether a declared limit is too tight, from one address, for generated examples (pinned ones only then),
    or for an account per test (the account factory's pool of ordinary accounts then)."""
    return rate is not None and rate.count * 60 / rate.seconds < SCARCE_PER_MINUTE


#: Suffix of a test's cost in requests that went out without waiting their turn (``login+burst``): they make
#: later paced requests wait, but are not waited for themselves, so the plan's lower bound leaves them out.
BURST = "+burst"


class Pacer:
    """Per (operation, source address) sliding-window pacing to the profile's declared limits."""

    def __init__(
        self,
        profile: Profile,
        *,
        share: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """``share``: the part of each limit this pacer may use (parallel workers from one address split it);
        ``sleep`` replaces :func:`conformance.wire.waiting.sleep` (tests)."""
        self.profile = profile
        self.limits = {
            operation: Rate(max(1, int(rate.count * share)), rate.seconds)
            for operation, rate in profile.rate_limits.items()
            if rate is not None
        }
        self._clock, self._sleep = clock, sleep
        self._sent: dict[tuple[str, str], deque[float]] = {}
        self.sent: Counter[str] = Counter()  # requests per rate-limited operation, for the status line
        #: Requests per rate-limited operation of each test (the plan's costs for the next run); the plugin names
        #: the running test.
        self.by_test: dict[str, Counter[str]] = {}
        self.current_test = ""
        #: ``progress(operation, sent)`` for the status line (the run's plan: "12 of 31 login — ETA 6 min").
        self.progress: Callable[[str, int], str] | None = None
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for the report

    def start_test(self, test_id: str) -> None:
        """Count what follows for ``test_id`` (a test that sends nothing rate-limited costs nothing: known too)."""
        with self._lock:
            self.current_test = test_id
            self.by_test.setdefault(test_id, Counter())

    def limit_of(self, operation: str | None) -> Rate | None:
        return self.limits.get(operation) if operation else None

    def spent(self, operation: str | None, source: str = "default") -> None:
        """A request to ``operation`` from ``source`` that did not wait its turn (a burst meant to meet the limit)
        went out now: later paced requests from the same address count it against the window."""
        rate = self.limit_of(operation)
        if rate is None or operation is None:
            return
        with self._lock:
            bisect.insort(self._sent.setdefault((operation, source), deque()), self._clock())
            self.sent[operation] += 1
            self.by_test.setdefault(self.current_test, Counter())[operation + BURST] += 1

    def wait_turn(self, operation: str | None, source: str = "default") -> float:
        """Block until a request to ``operation`` from ``source`` keeps within its limit; the seconds waited."""
        rate = self.limit_of(operation)
        if rate is None or operation is None:
            return 0.0
        with self._lock:
            sent = self._sent.setdefault((operation, source), deque())
            now = self._clock()
            window = rate.seconds + MARGIN
            while sent and sent[0] <= now - window:
                sent.popleft()
            at = now if len(sent) < rate.count else max(now, sent[-rate.count] + window)
            sent.append(at)  # the slot is ours even while we sleep, so concurrent callers queue behind it
            wait = min(at - now, MAX_WAIT)
            self.waited += wait
            self.sent[operation] += 1
            number = self.sent[operation]
            self.by_test.setdefault(self.current_test, Counter())[operation] += 1
        if wait > 0:
            if self._sleep is not None:
                self._sleep(wait)
            else:
                progress = self.progress
                waiting.sleep(
                    wait,
                    what=f"{operation} {rate}",
                    detail=lambda left: progress(operation, number) if progress else f"{operation} #{number}",
                )
        return wait


#: The run's pacer (the suites' client's), which bursts from the run's own address count into: one run per process.
RUN_PACER: Pacer | None = None
