"""The run's one locked account, locked once and judged by every lockout test that needs a lock.

From one source address at 5 logins a minute every login costs 12 s, and a
lock costs the threshold's failures and an account. Judging a lock does not
consume it, so the lock is made once per run (:func:`lock`), the first time a
test asks for it, and its exchanges are kept: LOCK-1 judges its two
right-password attempts, ENV-3 the lock's code on the first of them, LOCK-1/2's
sequence model the whole history as its pinned example, and LOCK-3 attacks no
other account of its own. Each test records the history's exchanges into its own
report (:meth:`LockHistory.record`), so a failure shows them.

The history is the pinned sequence of the sequence model: the threshold's wrong
passwords with the email upper-cased and as registered in turn (failures under
any case count for one account, §6), then the right password as registered, a
wrong one, and the right one upper-cased (the lock holds for every attempt and
every case of the email). What a control
showed about its ambiguous 429s (``Logins.source_limited``) is taken right
after it, while it still speaks of the same rate window, and kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.body import describe
from conformance.checks import lockout
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable
from scenarios.kit.logins import Logins
from scenarios.kit.strategies import EmailCase

SAME, UPPER = EmailCase((False,)), EmailCase((True,))


def sequence(threshold: int) -> list[tuple[bool, EmailCase]]:
    """The history's attempts ``(right password?, email case)``: mixed-case failures, then the right password, a
    wrong one, and the right one upper-cased. The wrong one while locked must get the lock's answer too: a lock
    checked after the password (wrong -> 401, right -> 429) tells a guesser which password is right."""
    failures = [(False, UPPER if n % 2 == 0 else SAME) for n in range(threshold)]
    return failures + [(True, SAME), (False, UPPER), (True, UPPER)]


@dataclass(frozen=True)
class LockHistory:
    """One account's failures and the right password after them, as sent, with what the controls showed."""

    email: str
    password: str = field(repr=False)
    threshold: int
    attempts: tuple[tuple[bool, EmailCase, Exchange], ...]
    #: What the controls of the history's ambiguous 429s showed (``Logins.source_limited``): None when none was sent.
    limited: bool | None
    controls: tuple[Exchange, ...] = ()
    #: Why no lock was seen (the right password let in, or the answer could not be judged); None when it was.
    problem: str | None = None

    @property
    def right(self) -> list[Exchange]:
        """The right-password attempts after the failures: as registered, then with the email upper-cased."""
        return [exchange for correct, _, exchange in self.attempts if correct]

    @property
    def policy_attempts(self) -> list[tuple[bool | None, Exchange]]:
        """The attempts as ``lockout.follows_lockout_policy`` takes them (None: the SUT may take it or not)."""
        return [(None if correct and not case.is_identity else correct, e) for correct, case, e in self.attempts]

    @property
    def exchanges(self) -> list[Exchange]:
        """Every exchange of the history in the order sent, controls last."""
        return [exchange for _, _, exchange in self.attempts] + list(self.controls)

    def record(self, api: Any) -> None:
        """Add the history's exchanges to the running test's report (``api.record``)."""
        for exchange in self.exchanges:
            api.record(exchange)


def lock(logins: Logins, account: Any, threshold: int, *, on_lock: Callable[[], None] | None = None) -> LockHistory:
    """Send the history of :func:`sequence` for ``account``; ``on_lock`` is called when the lock is seen.

    The lock is seen when the first right password is refused, whatever its
    label (LOCK-1 judges the labels); a rate limit's answer shows nothing.
    """
    controls_before = len(logins.controls)
    attempts = []
    for correct, case in sequence(threshold):
        password = account.password if correct else logins.wrong
        attempts.append((correct, case, logins.login(case.apply(account.email), password)))
    limited = logins.source_limited([exchange for _, _, exchange in attempts])
    controls = tuple(logins.controls[controls_before:])
    first_right = next(exchange for correct, _, exchange in attempts if correct)
    problem = None
    try:
        if not lockout.right_password_refused(first_right, source_limited=limited):
            problem = f"{threshold} wrong passwords did not lock the account: the right password then got " + describe(
                first_right
            )
    except NotApplicable as why:
        problem = f"{threshold} wrong passwords for the account could not be judged: {why}"
    if problem is None and on_lock is not None:
        on_lock()
    return LockHistory(account.email, account.password, threshold, tuple(attempts), limited, controls, problem)


class SharedLock:
    """The run's one :class:`LockHistory`, made by the first test that asks for it (``get``)."""

    def __init__(self) -> None:
        self._history: LockHistory | None = None
        self._failure: Exception | None = None

    def get(self, make: Callable[[], LockHistory]) -> LockHistory:
        """The history, made on the first call; a failure to make it is raised again to every later caller (a run
        pays the threshold's paced logins for one lock, not once per test that asks)."""
        if self._history is None and self._failure is None:
            try:
                self._history = make()
            except Exception as failure:
                self._failure = failure
        if self._failure is not None:
            raise self._failure.with_traceback(None)
        assert self._history is not None
        return self._history
