"""State that must survive a restart of the SUT (REV-3; LOCK-4, restart half).

One restart serves every test of the module: the fixture prepares the state
(a revoked session and an unrevoked one of the same user, a locked account),
restarts the SUT (managed: same data dir, port and stores; external:
``--restart-cmd``), and the tests judge what is left -- the fixture's own state,
and every revocation and lock the run's ledger holds from before the restart.
Positive controls: the unrevoked session and the user must still work after
the restart, otherwise the restart lost more than revocations and no verdict holds.

Attribution: REV-3 is charged only with what was refused just before the
restart. The fixture presents every token it will judge (its own on every
guard class, the ledger's earlier ones) once more right before restarting:
what is taken already then was never lost *in* the restart; it is the finding
of the requirement that revoked it (REV-1, REV-2...), and the ledger records
it (``Ledger.taken``) so that the end-of-run re-check does not blame the
restart for it either.

A restart takes seconds, so a revocation or lock that lapses in time (REV-1,
LOCK-1) also looks lost across it: when something is taken again after the
restart, a time control (``time_control.py``) says whether time explains it,
and then REV-3 (LOCK-4) is blocked by REV-1 (LOCK-1) rather than accused.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from conformance import redaction
from conformance.body import describe
from conformance.checks import envelope, lockout, revocation
from conformance.outcomes import Inconclusive, NotApplicable, Violation
from scenarios.kit.helpers import guard_calls, let_in, lock_account, logout, present, refresh, user_call
from scenarios.kit.ledger import Entry, Ledger
from scenarios.kit.logins import Logins
from scenarios.kit.time_control import TimeControl, blocked_if_time_explains

FIXTURE = "scenarios/test_restart.py::restarted"

#: A global side effect (restart, store outage, extra SUT processes): under pytest -n nothing else runs meanwhile.
pytestmark = pytest.mark.exclusive


@dataclasses.dataclass
class Restarted:
    revoked: Any  # an account whose first session was logged out before the restart
    kept: Any  # a second session of the same account, never revoked
    refresh_refused_before: bool  # whether the logged-out refresh token was refused before the restart
    locked: Any  # an account locked by failed logins before the restart
    lock_problem: str | None  # why the account could not be locked, if it could not
    logins: Logins  # the lockout logins' channels
    earlier: list[Entry]  # the ledger's entries from before the restart, but the three the tests above judge
    revoked_at: float
    locked_at: float
    restarted_at: float
    unrefused_before: dict[str, str] = dataclasses.field(default_factory=dict)  # guard class -> its answer, before
    taken_before: list[Entry] = dataclasses.field(default_factory=list)  # earlier entries taken just before


@pytest.fixture(scope="module")
def restarted(target, api, accounts, profile, sides, ledger) -> Restarted:
    target.require("restart")  # before any traffic: a run that cannot restart sends nothing here
    side = sides.new()
    revoked = side.accounts.new()
    kept = side.accounts.login(revoked)
    revocation.control_succeeded(logout(side.api, revoked), what="logout succeeds before the restart")
    revoked_at = ledger.now()
    revocation.control_rejected(
        user_call(side.api, profile, revoked.access_token), what="the logged-out token is refused before the restart"
    )
    ledger.revoked(revoked.access_token, kind="access", how="logout", requirement="REV-1", where=FIXTURE, at=revoked_at)
    refresh_refused = refresh(side.api, revoked.refresh_token).response.status == 401
    if refresh_refused:
        ledger.revoked(
            revoked.refresh_token, kind="refresh", how="logout", requirement="REV-1", where=FIXTURE, at=revoked_at
        )

    logins = Logins(sides, profile, wrong_password="Wrong-" + accounts.password())
    locked = sides.new().accounts.new(login=False)
    problem, _ = lock_account(logins, locked.email, locked.password, profile.limits.lockout_threshold)
    locked_at = ledger.now()
    if problem is None:
        ledger.locked(locked.email, locked.password, where=FIXTURE, at=locked_at)
    _revoke_every_other_way(sides, profile, ledger)

    judged_apart = {revoked.access_token, revoked.refresh_token, locked.password}
    earlier = [e for e in ledger.before(ledger.now()) if e.secret not in judged_apart]
    unrefused_before, taken_before = _taken_just_before(api, profile, logins, ledger, revoked.access_token, earlier)
    target.restart()
    event = ledger.event("restart", token_requirement="REV-3", lock_requirement="LOCK-4")
    return Restarted(
        revoked,
        kept,
        refresh_refused,
        locked,
        problem,
        logins,
        [e for e in earlier if e not in taken_before],
        revoked_at,
        locked_at,
        event.at,
        unrefused_before,
        taken_before,
    )


def _taken_just_before(
    api, profile, logins, ledger: Ledger, revoked_token: str, earlier: list[Entry]
) -> tuple[dict[str, str], list[Entry]]:
    """Present what REV-3 will judge once more, right before the restart (see the module docstring).

    Returns the guard classes that did not refuse the fixture's logged-out token with 401 (by class, how they
    answered: let in, or a 5xx), and the earlier token entries that were taken or could not be judged: none of
    it is REV-3's to judge after the restart.
    """
    before = guard_calls(api, profile, revoked_token)
    unrefused_before = {
        klass: problem for klass, e in before.items() if (problem := revocation.refusal_problem(e)) is not None
    }
    if any(let_in(e) for e in before.values()):
        fixture_entry = next((e for e in ledger.entries if e.secret == revoked_token), None)
        if fixture_entry is not None:
            ledger.taken(fixture_entry)
    taken_before = []
    for entry in earlier:
        if entry.family != "token":
            continue
        problem, _, judged = present(entry, api, profile, logins)
        if problem is not None:
            ledger.taken(entry)
        if problem is not None or not judged:
            taken_before.append(entry)
    return unrefused_before, taken_before


def _revoke_every_other_way(sides, profile, ledger: Ledger) -> None:
    """A refresh token revoked by rotation and tokens revoked by a password change, entered when refused right
    after: presented after the restart by the test of the ledger's earlier entries (REV-3 for every kind)."""
    side = sides.new()
    rotated = side.accounts.new()
    if refresh(side.api, rotated.refresh_token).response.status == 200:
        at = ledger.now()
        if refresh(side.api, rotated.refresh_token).response.status == 401:
            ledger.revoked(
                rotated.refresh_token, kind="refresh", how="rotation", requirement="REV-2", where=FIXTURE, at=at
            )
    changed = side.accounts.new()
    new_password = side.accounts.password()
    redaction.register(new_password, "password")  # masked also where the SUT echoes it
    answer = side.api.call(
        "change_password",
        token=changed.access_token,
        json={"current_password": changed.password, "new_password": new_password},
    )
    if 200 <= answer.response.status < 300:
        at = ledger.now()
        if user_call(side.api, profile, changed.access_token).response.status == 401:
            ledger.revoked(
                changed.access_token, kind="access", how="password change", requirement="REV-6", where=FIXTURE, at=at
            )


@pytest.fixture(scope="module")
def time_control(restarted, api, profile, sides, ledger) -> TimeControl:
    return TimeControl(api, profile, sides, ledger, restarted.logins, where="test_restart.py")


def _kept_session_works(restarted, api, profile) -> None:
    revocation.control_succeeded(
        user_call(api, profile, restarted.kept.access_token),
        what="an unrevoked session of the same user works after the restart",
    )


@pytest.mark.requirement("REV-3")
@pytest.mark.clause("REV-3/access-token", "REV-3/positive-control")
def test_revoked_token_stays_revoked_after_restart(restarted, api, profile, ledger, time_control, conformance_note):
    _kept_session_works(restarted, api, profile)

    before = restarted.unrefused_before
    calls = {
        f"{klass} guard": e
        for klass, e in guard_calls(api, profile, restarted.revoked.access_token).items()
        if klass not in before
    }
    if not calls:
        raise NotApplicable(
            "the logged-out token was not refused with 401 on any guard class already before the "
            "restart: " + "; ".join(before.values()),
            blocked_by="REV-1",
        )
    if before:
        conformance_note(
            f"judged on {', '.join(calls)} only: right before the restart the logged-out token was "
            f"already not refused on {', '.join(before)} (REV-1's finding, not the restart's)"
        )
    if any(let_in(e) for e in calls.values()):
        blocked_if_time_explains(time_control, "token", ledger.now() - restarted.revoked_at, "the logged-out token")
    revocation.refused_on_every_operation(calls, requirement="REV-3", revoked="a token logged out before the restart")


@pytest.mark.requirement("REV-3")
@pytest.mark.clause("REV-3/refresh-token", "REV-3/positive-control")
def test_revoked_refresh_token_stays_revoked_after_restart(restarted, api, profile, ledger, time_control):
    _kept_session_works(restarted, api, profile)
    if not restarted.refresh_refused_before:
        raise NotApplicable(
            "the refresh token revoked by logout was accepted even before the restart", blocked_by="REV-2"
        )

    answer = refresh(api, restarted.revoked.refresh_token)
    if answer.response.status < 400:
        blocked_if_time_explains(
            time_control, "token", ledger.now() - restarted.revoked_at, "the logged-out refresh token"
        )
    revocation.refresh_refused(answer, requirement="REV-3", what="a refresh token revoked before the restart")


@pytest.mark.requirement("LOCK-4")
@pytest.mark.clause("LOCK-4/restart")
def test_lock_survives_restart(restarted, api, profile, ledger, time_control):
    if restarted.lock_problem:
        raise Inconclusive(restarted.lock_problem)
    # A refused right password shows a lock only if the users themselves survived the restart: a SUT that lost
    # them refuses it too (401), and would pass. Positive control: a session of a user made before it.
    _kept_session_works(restarted, api, profile)
    logins = restarted.logins
    control = logins.side().accounts.new(login=False)
    revocation.control_succeeded(
        logins.login(control.email, control.password), what="another account can log in after the restart"
    )

    attempt = logins.login(restarted.locked.email, restarted.locked.password)
    limited = logins.source_limited([attempt])
    kind = lockout.answer_kind(attempt, source_limited=limited)
    if kind == lockout.LIMITED:
        raise Inconclusive(lockout.LIMITED_REASON)
    if kind == lockout.OK:  # let in: lost in the restart, or lapsed in time (LOCK-1)?
        blocked_if_time_explains(time_control, "lock", ledger.now() - restarted.locked_at, "the lock")
    lockout.account_locked(attempt, requirement="LOCK-4", retry_after=False, source_limited=limited)
    # Locks the run made before this module (another order of the tests), if any.
    if any(e.family == "lock" for e in restarted.earlier):
        _earlier_entries_hold(restarted, api, profile, ledger, time_control, family="lock", requirement="LOCK-4")


@pytest.mark.requirement("REV-3")
@pytest.mark.clause("REV-3/every-revocation", "REV-3/positive-control")
def test_every_revocation_made_before_the_restart_holds_after_it(restarted, api, profile, ledger, time_control):
    """The ledger's other tokens from before the restart: the fixture's rotation and password change, and
    whatever the run revoked earlier (in another order of the tests), each only if it was still refused right
    before the restart."""
    if not [e for e in restarted.earlier if e.family == "token"] and restarted.taken_before:
        owners = tuple(dict.fromkeys(e.requirement for e in restarted.taken_before))
        raise NotApplicable(
            f"every token revoked before the restart ({len(restarted.taken_before)}) was taken "
            "again, or could not be judged, already right before it: not the restart's finding",
            blocked_by=owners,
        )
    _earlier_entries_hold(restarted, api, profile, ledger, time_control, family="token", requirement="REV-3")


def _earlier_entries_hold(restarted, api, profile, ledger, time_control, *, family: str, requirement: str) -> None:
    __tracebackhide__ = True
    earlier = [e for e in restarted.earlier if e.family == family]
    if not earlier:
        raise NotApplicable(
            f"nothing else was {'revoked' if family == 'token' else 'locked'} before the restart in this run"
        )
    _kept_session_works(restarted, api, profile)

    failures, blocked, unjudged = [], [], []
    for entry in earlier:
        problem, exchange, judged = present(entry, api, profile, restarted.logins)
        if problem is None:
            if not judged:
                unjudged.append(exchange)
            continue
        what = entry.describe(ledger.now())
        if time_control.explains(family, ledger.now() - entry.at):
            blocked.append(what)
        else:
            failures.append((what, problem, exchange))
    if failures:
        envelope.judged_with_success_reports(
            lambda: _lost(failures, family, requirement),
            [exchange for _, _, exchange in failures],
            requirement=requirement,
            must_fail="every request with a revocation made before the restart",
        )
    if blocked:
        raise NotApplicable(
            "lapsed in time, not across the restart: " + "; ".join(blocked),
            blocked_by="REV-1" if family == "token" else "LOCK-1",
        )
    if len(unjudged) == len(earlier):
        answer = unjudged[0]
        raise Inconclusive(
            f"none of the {len(earlier)} entries made before the restart could be judged after it: "
            f"the answers neither refused nor let in (e.g. {describe(answer) if answer else 'none'})"
        )


def _lost(failures: list, family: str, requirement: str) -> None:
    __tracebackhide__ = True
    raise Violation(
        requirement,
        expected=f"every {'revocation' if family == 'token' else 'lock'} made before the restart (and still holding "
        "right before it) holds after it",
        actual=f"{len(failures)} no longer hold: " + "; ".join(f"{what}: {problem}" for what, problem, _ in failures),
        exchange=failures[0][2],
        hint="keep revocations and locks in the shared store (with persistence), not in the process",
    )
