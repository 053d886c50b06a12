"""State that must survive a restart of the SUT (REV-3; LOCK-4, restart half).

One restart serves every test of the module: the fixture prepares the state
(a revoked session and an unrevoked one of the same user, a locked account),
restarts the SUT (managed: same data dir, port and stores; external:
``--restart-cmd``), and the tests judge what is left. Positive controls: the
unrevoked session and the user must still work after the restart, otherwise the
restart lost more than revocations and no verdict holds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from conformance.checks import lockout, revocation
from conformance.outcomes import Inconclusive, NotApplicable
from scenarios.helpers import guard_calls, lock_account, logout, refresh, user_call, wrong_password

#: A global side effect (restart, store outage, extra SUT processes): under pytest -n nothing else runs meanwhile.
pytestmark = pytest.mark.exclusive


@dataclasses.dataclass
class Restarted:
    revoked: Any  # an account whose first session was logged out before the restart
    kept: Any  # a second session of the same account, never revoked
    locked: Any  # an account locked by failed logins before the restart
    lock_problem: str | None  # why the account could not be locked, if it could not
    side: Any  # the channel the locked account was attacked from


@pytest.fixture(scope="module")
def restarted(target, api, accounts, profile, sides) -> Restarted:
    revoked = accounts.new()
    kept = accounts.login(revoked)
    revocation.control_succeeded(logout(api, revoked), what="logout succeeds before the restart")
    revocation.control_rejected(user_call(api, profile, revoked.access_token),
                                what="the logged-out token is refused before the restart")  # fmt: skip
    side = sides.new()
    locked = side.accounts.new(login=False)
    problem = lock_account(side.api, locked.email, profile.limits.lockout_threshold, wrong_password(accounts))

    target.restart()
    return Restarted(revoked, kept, locked, problem, side)


@pytest.mark.requirement("REV-3")
def test_revoked_token_stays_revoked_after_restart(restarted, api, profile):
    revocation.control_succeeded(user_call(api, profile, restarted.kept.access_token),
                                 what="an unrevoked session of the same user works after the restart")  # fmt: skip

    for exchange in guard_calls(api, profile, restarted.revoked.access_token).values():
        revocation.token_rejected_as_revoked(exchange, requirement="REV-3")


@pytest.mark.requirement("REV-3")
def test_revoked_refresh_token_stays_revoked_after_restart(restarted, api, profile):
    revocation.control_succeeded(user_call(api, profile, restarted.kept.access_token),
                                 what="an unrevoked session of the same user works after the restart")  # fmt: skip

    revocation.refresh_refused(refresh(api, restarted.revoked.refresh_token), requirement="REV-3",
                               what="a refresh token revoked before the restart")  # fmt: skip


@pytest.mark.requirement("LOCK-4")
def test_lock_survives_restart(restarted):
    if restarted.lock_problem:
        raise Inconclusive(restarted.lock_problem)
    control = restarted.side.accounts.new(login=False)
    revocation.control_succeeded(restarted.side.api.login(control.email, control.password),
                                 what="another account can log in after the restart")  # fmt: skip

    attempt = restarted.side.api.login(restarted.locked.email, restarted.locked.password)
    try:
        lockout.account_locked(attempt, requirement="LOCK-4", retry_after=False)
    except NotApplicable as why:
        raise Inconclusive(str(why)) from None
