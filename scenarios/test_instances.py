"""State that every instance must share (REV-4; LOCK-4, instances half).

Managed mode starts a second SUT process on the same stores; external mode
needs ``--peer-url``. Positive control: an unrevoked session must work on both
instances, otherwise they do not serve the same users and no verdict holds.
What is seen refused right after its revocation or lock enters the run's
ledger (``ledger.py``).
"""

from __future__ import annotations

import pytest

from conformance.checks import lockout, revocation
from conformance.outcomes import Inconclusive, NotApplicable
from scenarios.kit.helpers import guard_calls, lock_account, logout, refresh, user_call

#: A global side effect (restart, store outage, extra SUT processes): under pytest -n nothing else runs meanwhile.
pytestmark = pytest.mark.exclusive


@pytest.fixture(scope="module")
def peer(target) -> str:
    return target.peer_url()


@pytest.mark.requirement("REV-4")
@pytest.mark.clause("REV-4/revoked-on-{revoke_on}")
@pytest.mark.parametrize("revoke_on", ["main", "peer"])
def test_token_revoked_on_one_instance_is_rejected_on_the_other(
    revoke_on, peer, target, sides, profile, ledger, request
):
    here, there = (None, peer) if revoke_on == "main" else (peer, None)
    side = sides.new()
    account = side.accounts.new()
    kept = side.accounts.login(account)
    for base_url in (here, there):
        revocation.control_succeeded(
            user_call(side.api, profile, kept.access_token, base_url=base_url),
            what=f"a session works on {base_url or target.base_url}",
        )
    revocation.control_succeeded(logout(side.api, account, base_url=here), what="logout succeeds")
    revoked_at = ledger.now()

    calls = {
        f"{klass} guard": e for klass, e in guard_calls(side.api, profile, account.access_token, base_url=there).items()
    }
    refreshed = refresh(side.api, account.refresh_token, base_url=there)
    if all(e.response.status == 401 for e in calls.values()):
        ledger.revoked(
            account.access_token,
            kind="access",
            how="logout",
            requirement="REV-1",
            where=request.node.nodeid,
            at=revoked_at,
            base_url=here,
        )
    if refreshed.response.status == 401:
        ledger.revoked(
            account.refresh_token,
            kind="refresh",
            how="logout",
            requirement="REV-1",
            where=request.node.nodeid,
            at=revoked_at,
            base_url=here,
        )
    revocation.refused_on_every_operation(calls, requirement="REV-4", revoked="a token revoked on the other instance")
    revocation.refresh_refused(refreshed, requirement="REV-4", what="a refresh token revoked on the other instance")


@pytest.mark.requirement("LOCK-4")
@pytest.mark.clause("LOCK-4/instances")
def test_lock_is_shared_by_instances(peer, sides, profile, logins, ledger, request):
    locked = sides.new().accounts.new(login=False)
    problem, _ = lock_account(logins, locked.email, locked.password, profile.limits.lockout_threshold)
    if problem:
        raise Inconclusive(problem)
    ledger.locked(locked.email, locked.password, where=request.node.nodeid)
    control = sides.new().accounts.new(login=False)
    revocation.control_succeeded(
        logins.login(control.email, control.password, base_url=peer), what="another account can log in on the peer"
    )

    attempt = logins.login(locked.email, locked.password, base_url=peer)
    try:
        lockout.account_locked(
            attempt, requirement="LOCK-4", retry_after=False, source_limited=logins.source_limited([attempt])
        )
    except NotApplicable as why:
        raise Inconclusive(str(why)) from None
