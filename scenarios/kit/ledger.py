"""The run's revocations and locks, kept to be presented again later: the time dimension of REV-* and LOCK-1.

A revocation that holds for a few seconds and then lapses passes every check
made right after the logout. So every scenario that revokes a token (logout,
refresh rotation, password change) or locks an account enters it here, and it
is presented again after every restart of the SUT (``test_restart.py``) and at
the end of the run (``test_time.py``), at least :data:`MIN_AGE` seconds after
it was made. Only what was seen refused right after it was made is entered: a
revocation that never held is its own scenario's failure, not a lapse.

Blame. A token accepted again lapsed either in time or across an *event* it
lived through (a restart of the SUT: REV-3; a store outage: REV-5; for locks,
LOCK-4 for both). A lapse of an entry that lived through no event is the time
dimension of the requirement it came from (logout: REV-1; rotation: REV-2's
SHOULD; password change: REV-6; a lock: LOCK-1). A lapse of an entry that lived
through an event is the event's, unless a no-event entry revoked the same way
(or by logout; for locks, any no-event lock) that was no older lapsed too: time
explains it, and the event's requirement is *blocked* by the time failure
rather than accused with it. Likewise among no-event tokens: a rotated or
password-changed token's lapse is explained by a logout token's (REV-1) lapse
at no greater age, one revocation store's TTL being the likelier cause than two
defects.

An event is blamed only for what held until it: an entry seen taken before an
event (presented again just before a restart, :meth:`Ledger.taken`) did not
live through that event as a revocation, so its lapse is its own
requirement's (REV-1, REV-2...), never the event's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from conformance.wire import waiting

#: Seconds a revocation or a lock must have held before it is presented again at the end of the run.
MIN_AGE = 30.0
#: The primary requirement of each family: a lapse of its entries explains the other entries' lapses.
PRIMARY = {"token": "REV-1", "lock": "LOCK-1"}


@dataclass(frozen=True)
class Event:
    """Something the SUT lived through that state must survive: a restart, a store outage."""

    name: str
    token_requirement: str  # whose failure a token lapse across it is (REV-3, REV-5)
    lock_requirement: str  # whose failure a lock lapse across it is (LOCK-4)
    at: float


@dataclass(frozen=True)
class Entry:
    """One revoked token or locked account of the run.

    ``secret`` is the token, or the account's right password: never printed (``repr=False``).
    """

    family: str  # "token" or "lock"
    kind: str  # "access", "refresh" or "lock"
    how: str  # "logout", "rotation", "password change", "failed logins"
    requirement: str  # the requirement whose time dimension a lapse without event breaks
    where: str  # the test (node id) that made it
    at: float
    secret: str = field(repr=False)
    email: str = ""
    base_url: str | None = None  # the instance it was revoked on (None: the main one, where it is presented)

    def describe(self, now: float) -> str:
        article = "an" if self.kind[0] in "aeiou" else "a"
        what = (
            f"{article} {self.kind} token revoked by {self.how}" if self.family == "token" else f"{self.email}'s lock"
        )
        return f"{what} in {self.where.rsplit('::', 1)[-1]} {now - self.at:.0f} s ago"


@dataclass(frozen=True)
class Lapse:
    """An entry presented again and not refused; ``problem`` says how it was taken."""

    entry: Entry
    problem: str
    age: float


class Ledger:
    """The session's entries and events. Thread-safe (scenario bursts run on other threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] | None = None):
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self.entries: list[Entry] = []
        self.events: list[Event] = []
        self._taken_at: dict[int, float] = {}  # id(entry) -> when it was first seen taken again

    def now(self) -> float:
        return self._clock()

    # -- feeding --------------------------------------------------------------------------
    def revoked(
        self,
        token: str | None,
        *,
        kind: str,
        how: str,
        requirement: str,
        where: str,
        at: float | None = None,
        base_url: str | None = None,
    ) -> None:
        """Enter a token seen refused right after ``how`` revoked it at ``at`` (:meth:`now`; default: now)."""
        if token:
            self._add(
                Entry(
                    "token", kind, how, requirement, where, self.now() if at is None else at, token, base_url=base_url
                )
            )

    def locked(self, email: str, password: str, *, where: str, at: float | None = None) -> None:
        """Enter an account seen locked (its right password refused) right after its failures."""
        self._add(
            Entry(
                "lock",
                "lock",
                "failed logins",
                PRIMARY["lock"],
                where,
                self.now() if at is None else at,
                password,
                email=email,
            )
        )

    def event(self, name: str, *, token_requirement: str, lock_requirement: str) -> Event:
        event = Event(name, token_requirement, lock_requirement, self.now())
        with self._lock:
            self.events.append(event)
        return event

    def taken(self, entry: Entry, *, at: float | None = None) -> None:
        """Record that ``entry`` was seen taken again (a lapse) at ``at``: no later event is blamed for it."""
        with self._lock:
            self._taken_at.setdefault(id(entry), self.now() if at is None else at)

    def _add(self, entry: Entry) -> None:
        with self._lock:
            self.entries.append(entry)

    # -- reading --------------------------------------------------------------------------
    def before(self, instant: float, family: str | None = None) -> list[Entry]:
        with self._lock:
            return [e for e in self.entries if e.at < instant and family in (None, e.family)]

    def lived_through(self, entry: Entry) -> list[Event]:
        """The events that came while ``entry`` still held: after it was made, before it was first seen taken."""
        with self._lock:
            taken = self._taken_at.get(id(entry), float("inf"))
            return [event for event in self.events if entry.at < event.at < taken]

    def wait_until_all_older_than(self, seconds: float = MIN_AGE, *, entries: Iterable[Entry] | None = None) -> float:
        """Sleep until every entry is ``seconds`` old (at most ``seconds``); the seconds slept."""
        entries = list(self.entries if entries is None else entries)
        if not entries:
            return 0.0
        wait = min(seconds, max(0.0, seconds - (self.now() - max(e.at for e in entries))))
        if wait > 0:
            if self._sleep is not None:
                self._sleep(wait)
            else:
                waiting.sleep(wait, what=f"the ledger's re-check ({seconds:.0f} s after the last entry)")
        return wait

    def blame(self, lapses: Sequence[Lapse]) -> dict[str, list[Lapse]]:
        """The lapses by the requirement they break; explained ones under ``"blocked by <ID>"``.

        See the module docstring: a lapse of an entry that lived through no
        event (a *calm* one) is its requirement's, unless a calm REV-1 (LOCK-1)
        lapse at no greater age explains it; a lapse across an event is the
        event's, unless a calm lapse of the same kind of revocation (or of
        REV-1, LOCK-1) at no greater age explains it.
        """
        calm = [lapse for lapse in lapses if not self.lived_through(lapse.entry)]
        calm_ids = {id(lapse) for lapse in calm}

        def primary_explains(lapse: Lapse) -> bool:
            family = lapse.entry.family
            return any(
                o.entry.family == family and o.entry.requirement == PRIMARY[family] and o.age <= lapse.age for o in calm
            )

        def calm_blame(lapse: Lapse) -> str:
            entry = lapse.entry
            if entry.requirement != PRIMARY[entry.family] and primary_explains(lapse):
                return f"blocked by {PRIMARY[entry.family]}"
            return entry.requirement

        def eventful_blame(lapse: Lapse) -> str:
            entry = lapse.entry
            for other in calm:
                same = other.entry.how == entry.how or other.entry.requirement == PRIMARY[entry.family]
                if other.entry.family == entry.family and same and other.age <= lapse.age:
                    blamed = calm_blame(other)
                    return blamed if blamed.startswith("blocked by ") else f"blocked by {blamed}"
            return self.owner(entry)

        blamed: dict[str, list[Lapse]] = {}
        for lapse in lapses:
            key = calm_blame(lapse) if id(lapse) in calm_ids else eventful_blame(lapse)
            blamed.setdefault(key, []).append(lapse)
        return blamed

    def owner(self, entry: Entry) -> str:
        """The requirement a lapse of ``entry`` breaks when nothing else explains it."""
        events = self.lived_through(entry)
        if not events:
            return entry.requirement
        return events[0].token_requirement if entry.family == "token" else events[0].lock_requirement
