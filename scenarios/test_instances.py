"""State that every instance must share (REV-4; LOCK-4, instances half).

Managed mode starts a second SUT process on the same stores; external mode
needs ``--peer-url``. Positive control: an unrevoked session must work on both
instances, otherwise they do not serve the same users and no verdict holds.
"""

from __future__ import annotations

import pytest

from conformance.checks import lockout, revocation
from conformance.outcomes import Inconclusive, NotApplicable
from scenarios.helpers import guard_calls, lock_account, logout, refresh, user_call, wrong_password

#: A global side effect (restart, store outage, extra SUT processes): under pytest -n nothing else runs meanwhile.
pytestmark = pytest.mark.exclusive


@pytest.fixture(scope="module")
def peer(target) -> str:
    return target.peer_url()


@pytest.mark.requirement("REV-4")
@pytest.mark.parametrize("revoke_on", ["main", "peer"])
def test_token_revoked_on_one_instance_is_rejected_on_the_other(revoke_on, peer, target, api, accounts, profile):
    here, there = (None, peer) if revoke_on == "main" else (peer, None)
    account = accounts.new()
    kept = accounts.login(account)
    for base_url in (here, there):
        revocation.control_succeeded(user_call(api, profile, kept.access_token, base_url=base_url),
                                     what=f"a session works on {base_url or target.base_url}")  # fmt: skip
    revocation.control_succeeded(logout(api, account, base_url=here), what="logout succeeds")

    for exchange in guard_calls(api, profile, account.access_token, base_url=there).values():
        revocation.token_rejected_as_revoked(exchange, requirement="REV-4")
    revocation.refresh_refused(refresh(api, account.refresh_token, base_url=there), requirement="REV-4",
                               what="a refresh token revoked on the other instance")  # fmt: skip


@pytest.mark.requirement("LOCK-4")
def test_lock_is_shared_by_instances(peer, accounts, profile, sides):
    side = sides.new()
    locked = side.accounts.new(login=False)
    problem = lock_account(side.api, locked.email, profile.limits.lockout_threshold, wrong_password(accounts))
    if problem:
        raise Inconclusive(problem)
    control = side.accounts.new(login=False)
    revocation.control_succeeded(side.api.login(control.email, control.password, base_url=peer),
                                 what="another account can log in on the peer")  # fmt: skip

    attempt = side.api.login(locked.email, locked.password, base_url=peer)
    try:
        lockout.account_locked(attempt, requirement="LOCK-4", retry_after=False)
    except NotApplicable as why:
        raise Inconclusive(str(why)) from None
