"""Revocation checks (REV-1 .. REV-6) and their positive control."""

from __future__ import annotations

import pytest

from conformance.checks import revocation
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, Violation


def answer(status, code=None, path="/api/users/me", method="GET"):
    body = {"id": "u1"} if code is None else {
        "success": False, "error": {"message": "m", "code": code}, "request_id": "r"}  # fmt: skip
    return Exchange.build(method, f"http://sut{path}", status, response_headers={"content-type": "application/json"},
                          response_body=body)  # fmt: skip


OK = answer(200)
REVOKED = answer(401, "TOKEN_REVOKED")
INVALID = answer(401, "TOKEN_INVALID")
UNAVAILABLE = answer(503, "SERVICE_UNAVAILABLE")
CRASHED = answer(500, "INTERNAL_ERROR")


@pytest.mark.parametrize("exchange", [REVOKED, INVALID], ids=["revoked", "other-code-is-env-3s"])
def test_revoked_token_refused_with_401_passes(exchange):
    revocation.token_rejected_as_revoked(exchange)


@pytest.mark.parametrize("exchange, text", [(OK, "Actual: ACCEPTED: GET"), (CRASHED, "500")])
def test_revoked_token_not_rejected_as_revoked_fails(exchange, text):
    with pytest.raises(Violation, match=text) as failure:
        revocation.token_rejected_as_revoked(exchange, requirement="REV-3")
    assert failure.value.requirement == "REV-3"


def test_revoked_token_refused_only_by_the_plan_guard_says_it_passed_authentication():
    with pytest.raises(Violation, match="passed authentication and was refused only by the plan or role guard"):
        revocation.token_rejected_as_revoked(answer(403, "PRO_REQUIRED", path="/api/patients/pro-feature/"))


# -- several operations at once: reads and writes --------------------------------------

READS = {"user guard": REVOKED, "pro guard": answer(401, "TOKEN_REVOKED", path="/api/patients/pro-feature/")}


def test_revoked_token_refused_on_every_operation_passes():
    revocation.refused_on_every_operation({**READS, "create_patient": answer(401, "TOKEN_REVOKED", method="POST")})


def test_revoked_token_accepted_on_writes_fails_with_the_writes_as_headline():
    calls = {
        **READS,
        "update_me": answer(200, method="PUT"),
        "create_patient": answer(201, path="/api/patients/", method="POST"),
        "delete_patient": answer(404, "NOT_FOUND", path="/api/patients/p1", method="DELETE"),
    }
    with pytest.raises(Violation) as failure:
        revocation.refused_on_every_operation(calls, revoked="a logged-out token")
    violation = failure.value
    assert violation.requirement == "REV-1"
    assert violation.actual.startswith("ACCEPTED: update_me (PUT http://sut/api/users/me) answered 200 (the revoked "
                                       "token changed data); ACCEPTED: create_patient")  # fmt: skip
    assert "created data" in violation.actual
    assert "delete_patient (DELETE http://sut/api/patients/p1) answered 404 with code NOT_FOUND" in violation.actual
    assert violation.actual.endswith("refused with 401 on user guard, pro guard")
    assert violation.exchange is calls["update_me"]  # the first accepted write is the one shown


def test_unrevoked_token_still_accepted():
    revocation.token_still_accepted(OK)
    with pytest.raises(Violation, match="never revoked") as failure:
        revocation.token_still_accepted(REVOKED)
    assert failure.value.requirement == "REV-1"


@pytest.mark.parametrize("exchange", [UNAVAILABLE, REVOKED, answer(503, "UNKNOWN_ERROR")])
def test_outage_refusal_passes(exchange):
    revocation.token_refused_during_outage(exchange)


@pytest.mark.parametrize("exchange, text", [(OK, "Actual: ACCEPTED while the store was down"), (CRASHED, "500")])
def test_outage_acceptance_or_crash_fails(exchange, text):
    with pytest.raises(Violation, match=text) as failure:
        revocation.token_refused_during_outage(exchange)
    assert failure.value.requirement == "REV-5"


def test_refresh_refusal():
    refresh = answer(401, "TOKEN_INVALID", path="/api/auth/refresh")
    revocation.refresh_refused(refresh, what="an access token")
    revocation.refresh_refused(answer(401, "TOKEN_REVOKED", path="/api/auth/refresh"), what="a revoked refresh token")
    with pytest.raises(Violation, match="Actual: ACCEPTED: refresh issued tokens for an access token") as failure:
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
