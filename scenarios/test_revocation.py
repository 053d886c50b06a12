"""Revocation by logout, refresh and password change on one instance (REV-1, REV-2, REV-6).

Restart, second instance and store outage are ``test_restart.py``,
``test_instances.py`` and ``test_outage.py``. Every test revokes sessions of
an account it created itself.
"""

from __future__ import annotations

import dataclasses

import pytest

from conformance.checks import revocation
from scenarios.helpers import guard_calls, logout, refresh, should, user_call


@pytest.mark.requirement("REV-1")
def test_logged_out_token_is_rejected_on_every_guard_class(api, accounts, profile):
    account = accounts.new()
    revocation.control_succeeded(user_call(api, profile, account.access_token), what="the token works before logout")
    revocation.control_succeeded(logout(api, account), what="logout succeeds")

    for exchange in guard_calls(api, profile, account.access_token).values():
        revocation.token_rejected_as_revoked(exchange, requirement="REV-1")


@pytest.mark.requirement("REV-1")
def test_logout_leaves_the_users_other_sessions_working(api, accounts, profile):
    account = accounts.new()
    other_session = accounts.login(account)
    revocation.control_succeeded(logout(api, account), what="logout succeeds")

    revocation.token_still_accepted(user_call(api, profile, other_session.access_token), requirement="REV-1")
    revocation.token_still_accepted(refresh(api, other_session.refresh_token), requirement="REV-1")


@pytest.mark.requirement("REV-2")
def test_refresh_rejects_a_revoked_refresh_token(api, accounts):
    account = accounts.new()
    revocation.control_succeeded(logout(api, account, with_refresh=True), what="logout with the refresh token succeeds")

    revocation.refresh_refused(refresh(api, account.refresh_token), what="a refresh token revoked by logout")


@pytest.mark.requirement("REV-2")
def test_refresh_rejects_an_access_token(api, accounts):
    account = accounts.new()

    revocation.refresh_refused(refresh(api, account.access_token), what="an access token")


@pytest.mark.requirement("REV-2")
def test_used_refresh_token_cannot_be_reused(api, accounts, strict):
    """The SHOULD part of REV-2 (rotation): a warning, a failure only under --strict."""
    account = accounts.new()
    rotated = refresh(api, account.refresh_token)
    revocation.control_succeeded(rotated, what="refresh with a fresh refresh token succeeds")

    reused = refresh(api, account.refresh_token)
    should(lambda: revocation.refresh_refused(reused, what="a refresh token that was already used"),
           strict=strict)  # fmt: skip


@pytest.mark.requirement("REV-6")
def test_password_change_revokes_every_earlier_token(api, accounts, profile):
    account = accounts.new()
    other_session = accounts.login(account)
    new_password = accounts.password()
    changed = api.call("change_password", token=account.access_token,
                       json={"current_password": account.password, "new_password": new_password})  # fmt: skip
    revocation.control_succeeded(changed, what="the password change succeeds")
    fresh = accounts.login(dataclasses.replace(account, password=new_password))
    revocation.control_succeeded(user_call(api, profile, fresh.access_token),
                                 what="a session opened after the change works")  # fmt: skip

    revocation.token_rejected_as_revoked(user_call(api, profile, account.access_token), requirement="REV-6")
    revocation.token_rejected_as_revoked(user_call(api, profile, other_session.access_token), requirement="REV-6")
    revocation.refresh_refused(refresh(api, other_session.refresh_token), requirement="REV-6",
                               what="a refresh token issued before the password change")  # fmt: skip
