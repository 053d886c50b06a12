"""Revocation checks (REV-1 .. REV-6) and their positive control."""

from __future__ import annotations

import pytest

from conformance.checks import revocation
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, Violation


def answer(status, code=None, path="/api/users/me"):
    body = {"id": "u1"} if code is None else {
        "success": False, "error": {"message": "m", "code": code}, "request_id": "r"}  # fmt: skip
    return Exchange.build("GET", f"http://sut{path}", status, response_headers={"content-type": "application/json"},
                          response_body=body)  # fmt: skip


OK = answer(200)
REVOKED = answer(401, "TOKEN_REVOKED")
INVALID = answer(401, "TOKEN_INVALID")
UNAVAILABLE = answer(503, "SERVICE_UNAVAILABLE")
CRASHED = answer(500, "INTERNAL_ERROR")


@pytest.mark.parametrize("exchange", [REVOKED, INVALID], ids=["revoked", "other-code-is-env-3s"])
def test_revoked_token_refused_with_401_passes(exchange):
    revocation.token_rejected_as_revoked(exchange)


@pytest.mark.parametrize("exchange, text", [(OK, "was accepted"), (CRASHED, "500")])
def test_revoked_token_not_rejected_as_revoked_fails(exchange, text):
    with pytest.raises(Violation, match=text) as failure:
        revocation.token_rejected_as_revoked(exchange, requirement="REV-3")
    assert failure.value.requirement == "REV-3"


def test_unrevoked_token_still_accepted():
    revocation.token_still_accepted(OK)
    with pytest.raises(Violation, match="never revoked") as failure:
        revocation.token_still_accepted(REVOKED)
    assert failure.value.requirement == "REV-1"


@pytest.mark.parametrize("exchange", [UNAVAILABLE, REVOKED, answer(503, "UNKNOWN_ERROR")])
def test_outage_refusal_passes(exchange):
    revocation.token_refused_during_outage(exchange)


@pytest.mark.parametrize("exchange, text", [(OK, "accepted while the store was down"), (CRASHED, "500")])
def test_outage_acceptance_or_crash_fails(exchange, text):
    with pytest.raises(Violation, match=text) as failure:
        revocation.token_refused_during_outage(exchange)
    assert failure.value.requirement == "REV-5"


def test_refresh_refusal():
    refresh = answer(401, "TOKEN_INVALID", path="/api/auth/refresh")
    revocation.refresh_refused(refresh, what="an access token")
    revocation.refresh_refused(answer(401, "TOKEN_REVOKED", path="/api/auth/refresh"), what="a revoked refresh token")
    with pytest.raises(Violation, match="refresh accepted an access token") as failure:
        revocation.refresh_refused(answer(200, path="/api/auth/refresh"), what="an access token")
    assert failure.value.requirement == "REV-2"
    with pytest.raises(Violation, match="500"):
        revocation.refresh_refused(answer(500, "INTERNAL_ERROR", path="/api/auth/refresh"), what="a reused token")


def test_failed_positive_control_is_inconclusive():
    revocation.control_succeeded(OK, what="the unrevoked token works after the restart")
    with pytest.raises(Inconclusive, match="positive control failed: the unrevoked .* 401 with code TOKEN_INVALID"):
        revocation.control_succeeded(INVALID, what="the unrevoked token works after the restart")


def test_failed_precondition_is_inconclusive():
    revocation.control_rejected(REVOKED, what="the logged-out token is refused before the restart")
    with pytest.raises(Inconclusive, match="precondition failed: the logged-out token .* 200"):
        revocation.control_rejected(OK, what="the logged-out token is refused before the restart")
