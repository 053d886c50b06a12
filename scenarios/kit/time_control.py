"""Whether time alone explains a revocation or lock that no longer holds after an event (a restart, an outage).

An event takes seconds, so a revocation (lock) that lapses in time (REV-1,
LOCK-1) also looks lost across it. When something is taken again after the
event, a *time control* decides: a token revoked by logout (an account locked)
after the event, presented once it is as old as the lapsed one (at most the
ledger's ``MIN_AGE``). Taken too, time explains the lapse, and the event's
requirement is blocked by REV-1 (LOCK-1), which the end-of-run re-check
(``test_time.py``) then fails on the control itself, a ledger entry like any
other. A logout control stands for every way of revoking a token: cheaper than
one per kind, and the ledger's end-of-run blame tells the kinds apart. Nothing
is made while nothing lapses, so a conforming SUT pays nothing.
"""

from __future__ import annotations

from conformance.body import describe
from conformance.checks import revocation
from conformance.outcomes import Inconclusive, NotApplicable
from scenarios.kit.helpers import let_in, lock_account, logout, present, user_call
from scenarios.kit.ledger import MIN_AGE, Entry, Ledger
from scenarios.kit.logins import Logins


class TimeControl:
    """Whether time alone explains a lapse seen after an event (see the module docstring); made lazily, once."""

    def __init__(self, api, profile, sides, ledger: Ledger, logins: Logins, *, where: str) -> None:
        self.api, self.profile, self.sides, self.ledger, self.logins = api, profile, sides, ledger, logins
        self.where = f"{where} (time control)"
        self._controls: dict[str, Entry | None] = {}
        self._lapsed_at: dict[str, float] = {}

    def explains(self, family: str, age: float) -> bool:
        """True when a ``family`` entry made after the event is taken again at an age of at most ``age``."""
        if family in self._lapsed_at:
            return self._lapsed_at[family] <= age
        control = self._controls[family] if family in self._controls else self._make(family)
        if control is None:
            return True  # not even a fresh revocation or lock holds: the immediate check's failure explains it
        self.ledger.wait_until_all_older_than(min(age, MIN_AGE), entries=[control])
        problem, exchange, judged = present(control, self.api, self.profile, self.logins)
        if not judged:
            raise Inconclusive(
                f"the control (a {family} made after the event, presented as late) could not be "
                f"judged: {describe(exchange) if exchange else 'no answer'}"
            )
        if problem:
            self._lapsed_at[family] = self.ledger.now() - control.at
            return True
        return False

    def _make(self, family: str) -> Entry | None:
        where = self.where
        if family == "token":
            side = self.sides.new()
            account = side.accounts.new()
            revocation.control_succeeded(logout(side.api, account, with_refresh=False), what="logout succeeds")
            revoked_at = self.ledger.now()
            fresh = user_call(side.api, self.profile, account.access_token)
            if let_in(fresh):
                self._controls[family] = None
                return None
            if fresh.response.status != 401:
                raise Inconclusive(
                    f"the control (a token just logged out) was neither refused nor let in: {describe(fresh)}"
                )
            self.ledger.revoked(
                account.access_token, kind="access", how="logout", requirement="REV-1", where=where, at=revoked_at
            )
        else:
            account = self.sides.new().accounts.new(login=False)
            problem, _ = lock_account(
                self.logins, account.email, account.password, self.profile.limits.lockout_threshold
            )
            if problem is not None:
                self._controls[family] = None
                return None
            self.ledger.locked(account.email, account.password, where=where)
        control = self.ledger.entries[-1]
        self._controls[family] = control
        return control


def blocked_if_time_explains(time_control: TimeControl, family: str, age: float, what: str) -> None:
    """NotApplicable, blocked by REV-1 (LOCK-1), when a control made after the event lapses as fast."""
    if time_control.explains(family, age):
        primary = "REV-1" if family == "token" else "LOCK-1"
        raise NotApplicable(
            f"{what} was taken again {age:.0f} s after it was made, and so was one made after the "
            f"event: the lapse is in time ({primary}), not the event's",
            blocked_by=primary,
        )
