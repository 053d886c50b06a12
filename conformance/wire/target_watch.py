"""Is the target still there? Consecutive requests without an answer make the run look, once.

A staging server that dies 20 s into a run otherwise gives dozens of MUST
failures and thousands of lines, none of which says that the target went away.
The recording layer tells the watch about every attempt to the target; after
:data:`THRESHOLD` consecutive attempts without an answer (not a client
timeout: a refused or reset connection), or at once after a refused one, the
watch asks the target's health once. If that fails too, the target is *gone*: :class:`TargetGone` is raised
from then on, and the plugin stops the run with one line, the remaining
requirements ``not run``.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

#: Consecutive attempts without an answer before the watch looks at the target's health.
THRESHOLD = 3


class TargetGone(Exception):
    """The target stopped answering, and its health check failed too: nothing more can be judged."""

    def __init__(self, since: Gone) -> None:
        self.since = since
        super().__init__(since.describe())


@dataclass(frozen=True)
class Gone:
    """When the target stopped answering, after which request, and what its health check said."""

    at: float  # wall clock of the first attempt without an answer
    after: str  # the last request that got an answer ("POST /api/auth/login"), or "" when none did
    first_unanswered: str
    health: str

    def describe(self) -> str:
        when = datetime.datetime.fromtimestamp(self.at).strftime("%H:%M:%S")
        after = f" (after {self.after}, the last request it answered)" if self.after else ""
        return (
            f"the target stopped answering at {when}{after}: {self.first_unanswered} got no answer, and its "
            f"health check failed ({self.health})"
        )


class TargetWatch:
    """Counts consecutive attempts without an answer to the target's URLs; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prefixes: tuple[str, ...] = ()
        self._check: Callable[[], str | None] | None = None
        self._failures = 0
        self._first: tuple[float, str] | None = None
        self._last_answered = ""
        self._checking = False
        self._pauses = 0
        self.gone: Gone | None = None

    def arm(self, base_urls: list[str], check: Callable[[], str | None]) -> None:
        """Watch requests to ``base_urls``; ``check()`` is the health check (``None`` when healthy)."""
        with self._lock:
            self._prefixes = tuple(url.rstrip("/") for url in base_urls)
            self._check = check
            self._failures, self._first, self.gone = 0, None, None

    def disarm(self) -> None:
        with self._lock:
            self._prefixes, self._check = (), None

    def answered(self, url: str, label: str) -> None:
        if not self._watched(url):
            return
        with self._lock:
            self._failures, self._first, self._last_answered = 0, None, label

    def unanswered(self, url: str, label: str, at: float, *, refused: bool = False) -> None:
        """An attempt to ``url`` got no answer; raises :class:`TargetGone` once the target is gone.

        ``refused``: the connection was refused (nobody listens): the health check is asked at once; a reset or
        a close may be the request's own doing, so those count up to :data:`THRESHOLD` first.
        """
        if self.gone is not None and self._watched(url):
            raise TargetGone(self.gone)
        if not self._watched(url):
            return
        with self._lock:
            self._failures += 1
            if self._first is None:
                self._first = (at, label)
            if (self._failures < THRESHOLD and not refused) or self._checking or self._check is None:
                return
            self._checking, check, first, after = True, self._check, self._first, self._last_answered
        try:
            problem = check()
        finally:
            with self._lock:
                self._checking = False
        if problem is None:
            with self._lock:
                self._failures = 0  # healthy: those failures were the requests', reported against them
            return
        with self._lock:
            self.gone = Gone(first[0], after, first[1], problem)
        raise TargetGone(self.gone)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """While the harness itself stops the target (a restart), unanswered requests say nothing of it."""
        with self._lock:
            self._pauses += 1
        try:
            yield
        finally:
            with self._lock:
                self._pauses -= 1
                self._failures, self._first = 0, None

    def _watched(self, url: str) -> bool:
        return not self._checking and not self._pauses and any(url.startswith(prefix) for prefix in self._prefixes)


#: The run's watch (one run per process).
WATCH = TargetWatch()

_Method = TypeVar("_Method", bound=Callable[..., Any])


def unwatched(method: _Method) -> _Method:
    """For a target's own restart: the requests it refuses meanwhile are the harness's doing."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with WATCH.paused():
            return method(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
