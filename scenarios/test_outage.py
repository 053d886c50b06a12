"""Revocation while the revocation store is down, and recovery (REV-5).

Managed mode stops the SUT's Redis and starts it again (same port, same
data); external mode cannot, and the test is not run. The store is always
started again, also when a check fails.

With the store down no token can be checked, so every guarded route must fail
closed (503) for every token: one logged out before the outage, and one never
revoked (a SUT cannot have checked it). Every guard class is probed (user,
pro, role, and logout), with both tokens, in rounds for as long as the outage
is held (``OUTAGE_HOLD_SECONDS``): a SUT that fails closed at first and opens
after a while (a circuit breaker, a fallback) is seen open; the report notes
how long the outage was held. Positive controls: before the outage the revoked
token is refused and an unrevoked session works; after it, service resumes.
A revoked token taken again after the recovery may have lapsed in time rather
than been lost in the outage: a time control (``time_control.py``) tells, and
REV-5 is then blocked by REV-1.
"""

from __future__ import annotations

import time

import pytest

from conformance.checks import envelope, revocation
from conformance.exchange import Exchange
from conformance.outcomes import NotRun, Violation
from scenarios.kit.helpers import guard_calls, let_in, logout, poll, user_call
from scenarios.kit.time_control import TimeControl, blocked_if_time_explains

#: A global side effect (restart, store outage, extra SUT processes): under pytest -n nothing else runs meanwhile.
pytestmark = pytest.mark.exclusive

#: Seconds the SUT gets to serve again once the store is back (reconnect and retry back-off).
RECOVERY_SECONDS = 30.0
#: Seconds the outage is held while the guarded routes are probed ("however long the outage lasts": as long
#: as a run can afford; a breaker or fallback that opens after a few seconds is seen open).
OUTAGE_HOLD_SECONDS = 6.5
#: Seconds between two rounds of probes during the outage.
PROBE_INTERVAL_SECONDS = 2.0


def outage_round(
    api, profile, at: float, tokens: dict[str, str], logout_tokens: dict[str, str]
) -> list[revocation.OutageProbe]:
    """One request per guard class and token, and a logout per token, ``at`` seconds into the outage."""
    probes = []
    for token_kind, token in tokens.items():
        for klass, exchange in guard_calls(api, profile, token).items():
            probes.append(revocation.OutageProbe(at, f"{klass} guard", token_kind, exchange))
    for token_kind, token in logout_tokens.items():  # last: what a wrong logout revokes affects nothing above
        probes.append(revocation.OutageProbe(at, "logout", token_kind, api.call("logout", token=token)))
    return probes


@pytest.mark.requirement("REV-5")
@pytest.mark.clause(
    "REV-5/revoked-never-accepted", "REV-5/unrevoked-only-after-check", "REV-5/long-outage", "REV-5/recovery"
)
def test_no_token_is_accepted_unchecked_while_the_store_is_down(
    target, api, profile, sides, ledger, logins, request, conformance_note
):
    target.require("store:redis")  # before any traffic: a run that cannot stop the store sends nothing here
    side = sides.new()
    account = side.accounts.new()
    kept = side.accounts.login(account)  # never revoked: probed during the outage, the recovery's control after
    logout_probe = side.accounts.login(account)  # never revoked: sent only to logout during the outage
    revocation.control_succeeded(logout(api, account), what="logout succeeds")
    revoked_at = ledger.now()
    revocation.control_rejected(user_call(api, profile, account.access_token), what="the logged-out token is refused")
    ledger.revoked(
        account.access_token, kind="access", how="logout", requirement="REV-1", where=request.node.nodeid, at=revoked_at
    )
    revocation.control_succeeded(user_call(api, profile, kept.access_token), what="an unrevoked session works")

    tokens = {"revoked": account.access_token, "unrevoked": kept.access_token}
    logout_tokens = {"revoked": account.access_token, "unrevoked": logout_probe.access_token}
    probes: list[revocation.OutageProbe] = []
    target.stop_store("redis")
    started = time.monotonic()
    try:
        while True:
            at = time.monotonic() - started
            probes += outage_round(api, profile, at, tokens, logout_tokens)
            if at >= OUTAGE_HOLD_SECONDS:
                break
            time.sleep(min(PROBE_INTERVAL_SECONDS, max(0.0, OUTAGE_HOLD_SECONDS - (time.monotonic() - started))))
        held = time.monotonic() - started
    finally:
        target.start_store("redis")
        ledger.event("store outage", token_requirement="REV-5", lock_requirement="LOCK-4")
    routes = ", ".join(sorted({p.route for p in probes}))
    conformance_note(
        f"the store outage was held {held:.0f} s: every guarded route ({routes}) was probed with a "
        f"revoked and an unrevoked token in {len({p.at for p in probes})} rounds, the last "
        f"{probes[-1].at:.0f} s in"
    )
    revocation.guarded_routes_fail_closed(probes, held=held)

    # Resumed: guarded routes serve unrevoked tokens again, and a login (rate limit, lockout) succeeds.
    for what, resumed in wait_for_service(api, profile, sides, kept).items():
        if not 200 <= resumed.response.status < 300:
            raise Violation(
                "REV-5",
                expected=f"service resumes within {RECOVERY_SECONDS:g} s of the store's return",
                actual=f"{what} still gets {resumed.response.status}",
                exchange=resumed,
                hint="reconnect to the store instead of keeping a dead connection",
            )
    after = user_call(api, profile, account.access_token)
    if let_in(after):  # lost in the outage, or lapsed in time (REV-1)?
        time_control = TimeControl(api, profile, sides, ledger, logins, where=request.node.nodeid)
        blocked_if_time_explains(time_control, "token", ledger.now() - revoked_at, "the logged-out token")
    revocation.token_rejected_as_revoked(after, requirement="REV-5")


@pytest.mark.requirement("ENV-3", "ENV-6")
@pytest.mark.clause(
    "ENV-3/service-unavailable",
    "ENV-6/store-outage-503",
    "ENV-6/traceback",
    "ENV-6/file-path",
    "ENV-6/exception-class",
    "ENV-6/query-text",
)
def test_store_outage_is_answered_service_unavailable(target, api, profile, sides, ledger):
    """The refusal's code is judged here, apart from REV-5, so that a wrong code is blamed on ENV-3 alone;
    then its body, a 5xx like any other, for internals (ENV-6)."""
    target.require("store:redis")
    account = sides.new().accounts.new()
    revocation.control_succeeded(user_call(api, profile, account.access_token), what="the session works")
    target.stop_store("redis")
    try:
        during = user_call(api, profile, account.access_token)
    finally:
        target.start_store("redis")
        ledger.event("store outage", token_requirement="REV-5", lock_requirement="LOCK-4")
    wait_for_service(api, profile, sides, account)  # REV-5 judges recovery; this only leaves the SUT serving
    if during.response.status != 503:
        raise NotRun(
            f"the outage was answered {during.response.status}, not 503: no SERVICE_UNAVAILABLE to judge "
            "(REV-5 judges the answer itself)"
        )
    envelope.status_matches_code(during, profile, expected_code="SERVICE_UNAVAILABLE")
    envelope.server_error_leaks_nothing(during)


def wait_for_service(api, profile, sides, account) -> dict[str, Exchange]:
    """Poll, bounded, until a guarded read and a login (rate limit, lockout) succeed again after an outage.

    Polling both also makes the SUT drop the connections it kept to the old store, on every path
    that uses it, before the next test needs them. Returns the last answer of each, by what it shows.
    """
    side = sides.new()
    sends = {
        "an unrevoked session": lambda: user_call(api, profile, account.access_token),
        "a login with the right password": lambda: side.api.login(account.email, account.password),
    }
    return {
        what: poll(send, until=lambda e: 200 <= e.response.status < 300, seconds=RECOVERY_SECONDS)
        for what, send in sends.items()
    }
