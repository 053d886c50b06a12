"""Revocation by logout, refresh and password change on one instance (REV-1, REV-2, REV-6).

Restart, second instance and store outage are ``test_restart.py``,
``test_instances.py`` and ``test_outage.py``. Every test sends from a source
address of its own (``sides``), so that provisioning stays within the declared
register and login limits. A test that only revokes sessions revokes ones it
opened itself (:func:`own_session`): a login to an ordinary account, which from
one address at a scarce registration limit is one of the run's pool (a login
costs what a registration does there, and the account count drops); the
password change needs an account of its own. What is
seen refused right after its revocation enters the run's ledger, to be
presented again after the restart and at the end of the run (``ledger.py``).
"""

from __future__ import annotations

import dataclasses

import pytest

from conformance.checks import revocation
from conformance.outcomes import should_clause
from scenarios.kit.helpers import created_id, guard_calls, logout, refresh, user_call, write_calls

#: An id no patient has: the write probes' target when the SUT would not create one.
NO_PATIENT = "hlc-no-such-patient"


def own_session(side):
    """A session of this test's own, to log out or rotate: a login to an ordinary account (never a pool member's
    standing session); where accounts are not pooled, a new account's, as it costs no login then."""
    if not side.accounts.pooled:
        return side.accounts.new()
    (account,) = side.accounts.ordinary(1)
    return side.accounts.login(account)


@pytest.mark.requirement("REV-1")
@pytest.mark.clause("REV-1/user", "REV-1/pro", "REV-1/role", "REV-1/writes")
def test_logged_out_token_is_rejected_on_every_guard_class_and_every_write(sides, profile, ledger, request):
    side = sides.new()
    account = own_session(side)
    created = side.api.call("create_patient", token=account.access_token, json={"name": "Revocation Probe"})
    patient = created_id(created) or NO_PATIENT  # a revoked token must be refused before the resource is looked up
    revocation.control_succeeded(
        user_call(side.api, profile, account.access_token), what="the token works before logout"
    )
    revocation.control_succeeded(logout(side.api, account), what="logout succeeds")
    revoked_at = ledger.now()

    calls = {f"{klass} guard": e for klass, e in guard_calls(side.api, profile, account.access_token).items()}
    calls.update(write_calls(side.api, profile, account.access_token, patient))
    if all(e.response.status == 401 for e in calls.values()):
        ledger.revoked(
            account.access_token,
            kind="access",
            how="logout",
            requirement="REV-1",
            where=request.node.nodeid,
            at=revoked_at,
        )
    revocation.refused_on_every_operation(calls, requirement="REV-1", revoked="a logged-out token")


@pytest.mark.requirement("REV-1")
@pytest.mark.clause("REV-1/other-sessions")
def test_logout_leaves_the_users_other_sessions_working(sides, profile):
    side = sides.new()
    account = own_session(side)
    other_session = side.accounts.login(account)
    revocation.control_succeeded(logout(side.api, account), what="logout succeeds")

    revocation.token_still_accepted(user_call(side.api, profile, other_session.access_token), requirement="REV-1")
    revocation.token_still_accepted(refresh(side.api, other_session.refresh_token), requirement="REV-1")


@pytest.mark.requirement("REV-2")
@pytest.mark.clause("REV-2/revoked-refresh-token")
def test_refresh_rejects_a_revoked_refresh_token(sides, ledger, request):
    side = sides.new()
    account = own_session(side)
    revocation.control_succeeded(
        logout(side.api, account, with_refresh=True), what="logout with the refresh token succeeds"
    )
    revoked_at = ledger.now()

    answer = refresh(side.api, account.refresh_token)
    if answer.response.status == 401:
        ledger.revoked(
            account.refresh_token,
            kind="refresh",
            how="logout",
            requirement="REV-1",
            where=request.node.nodeid,
            at=revoked_at,
        )
    revocation.refresh_refused(answer, what="a refresh token revoked by logout")


@pytest.mark.requirement("REV-2")
@pytest.mark.clause("REV-2/access-token")
def test_refresh_rejects_an_access_token(sides, profile):
    side = sides.new()
    (account,) = side.accounts.ordinary(1)  # a conforming refresh consumes nothing of an access token
    # A refused refresh proves something only of a live access token (a kept one may have been ended since).
    revocation.control_succeeded(user_call(side.api, profile, account.access_token), what="the access token works")

    answer = refresh(side.api, account.access_token)
    if answer.response.status != 401:
        side.accounts.session_spent(account)  # taken as a refresh token, it may have been rotated away
    revocation.refresh_refused(answer, what="an access token")


@pytest.mark.requirement("REV-2")
@pytest.mark.clause("REV-2/reuse")
def test_used_refresh_token_cannot_be_reused(sides, strict, ledger, request):
    """The SHOULD part of REV-2 (rotation): a warning, a failure only under --strict."""
    side = sides.new()
    account = own_session(side)
    rotated = refresh(side.api, account.refresh_token)
    revocation.control_succeeded(rotated, what="refresh with a fresh refresh token succeeds")
    revoked_at = ledger.now()

    reused = refresh(side.api, account.refresh_token)
    if reused.response.status == 401:
        ledger.revoked(
            account.refresh_token,
            kind="refresh",
            how="rotation",
            requirement="REV-2",
            where=request.node.nodeid,
            at=revoked_at,
        )
    should_clause(lambda: revocation.refresh_refused(reused, what="a refresh token that was already used", must=False))


@pytest.mark.requirement("REV-6")
@pytest.mark.clause("REV-6/current-token", "REV-6/other-tokens")
def test_password_change_revokes_every_earlier_token(sides, profile, ledger, request):
    side = sides.new()
    account = side.accounts.new()  # its own: the password changes
    other_session = side.accounts.login(account)
    new_password = side.accounts.password()
    changed = side.api.call(
        "change_password",
        token=account.access_token,
        json={"current_password": account.password, "new_password": new_password},
    )
    revocation.control_succeeded(changed, what="the password change succeeds")
    revoked_at = ledger.now()
    fresh = side.accounts.login(dataclasses.replace(account, password=new_password))
    revocation.control_succeeded(
        user_call(side.api, profile, fresh.access_token), what="a session opened after the change works"
    )

    answers = [
        ("access", account.access_token, user_call(side.api, profile, account.access_token)),
        ("access", other_session.access_token, user_call(side.api, profile, other_session.access_token)),
        ("refresh", other_session.refresh_token, refresh(side.api, other_session.refresh_token)),
    ]
    for kind, token, answer in answers:
        if answer.response.status == 401:
            ledger.revoked(
                token, kind=kind, how="password change", requirement="REV-6", where=request.node.nodeid, at=revoked_at
            )
    revocation.token_rejected_as_revoked(answers[0][2], requirement="REV-6")
    revocation.token_rejected_as_revoked(answers[1][2], requirement="REV-6")
    revocation.refresh_refused(
        answers[2][2], requirement="REV-6", what="a refresh token issued before the password change"
    )
