"""The run's record of what was sent: every attempt of the running test, answered or not, with its timing.

The wire's recording layer adds to a :class:`Recorder`; the plugin clears it
when a test starts and reads it when the test fails (the last few attempts in
the failure report, all of them in the HAR). Nothing else builds the record:
a request that went out on any wire client is in it, bursts and health polls
included, and a request that got no answer is in it too.
"""

from __future__ import annotations

import threading

from conformance.exchange import Attempt, Exchange, NoResponse, to_curl
from conformance.outcomes import RELEVANT_HEADERS, excerpt
from conformance.redaction import redact

#: How many attempts of one test are kept (a bounded record: a long test must not hold every request it sent).
KEEP_PER_TEST = 2000
#: How many attempts a failure report shows (the last ones).
SHOWN_PER_FAILURE = 8


class Recorder:
    """The attempts of the running test, oldest first. Thread-safe."""

    def __init__(self, keep: int = KEEP_PER_TEST) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self._attempts: list[Attempt] = []
        self._ids: set[int] = set()
        self.total = 0

    def begin(self) -> None:
        """Forget the previous test's attempts."""
        with self._lock:
            self._attempts.clear()
            self._ids.clear()

    def add(self, attempt: Attempt) -> Attempt:
        """Record ``attempt`` once (adding the same object again is a no-op); it is returned."""
        with self._lock:
            if id(attempt) in self._ids:
                return attempt
            self.total += 1
            if len(self._attempts) >= self._keep:
                dropped = self._attempts.pop(0)
                self._ids.discard(id(dropped))
            self._attempts.append(attempt)
            self._ids.add(id(attempt))
        return attempt

    def recent(self, last: int | None = None) -> list[Attempt]:
        """The recorded attempts in the order they were sent (the ``last`` ones, when given)."""
        with self._lock:
            attempts = sorted(self._attempts, key=_started)
        return attempts[-last:] if last else attempts

    def render(self, last: int | None = SHOWN_PER_FAILURE) -> str:
        """The recent attempts as text, secrets masked, oldest first."""
        return redact("\n\n".join(render_attempt(attempt) for attempt in self.recent(last)))


def _started(attempt: Attempt) -> float:
    return attempt.timing.started if attempt.timing is not None else 0.0


def render_attempt(attempt: Attempt) -> str:
    """One attempt as the failure report shows it: what was sent, a curl line, and the answer or its absence."""
    request = attempt.request
    lines = [f"> {request.method} {request.url}", f"  {to_curl(request)}"]
    if isinstance(attempt, NoResponse):
        what = "the client gave up waiting" if attempt.timed_out else "no response"
        return "\n".join([*lines, f"< {what}: {attempt.error}"])
    assert isinstance(attempt, Exchange)
    response = attempt.response
    lines.append(f"< {response.status}")
    for name in RELEVANT_HEADERS:
        lines += [f"  {name}: {value}" for value in response.headers.get_all(name)]
    if response.body:
        lines.append(f"  body: {excerpt(response.body)}")
    return "\n".join(lines)


#: The run's recorder (one run per process; xdist workers each have their own process).
RUN_RECORDER = Recorder()
