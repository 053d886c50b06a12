"""Revocation checks (REV-1 .. REV-6) and their positive control."""

from __future__ import annotations

import pytest

from conformance.checks import revocation
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, Violation


def answer(status, code=None, path="/api/users/me", method="GET"):
    body = (
        {"id": "u1"} if code is None else {"success": False, "error": {"message": "m", "code": code}, "request_id": "r"}
    )
    return Exchange.build(
        method, f"http://sut{path}", status, response_headers={"content-type": "application/json"}, response_body=body
    )


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
    assert violation.actual.startswith(
        "ACCEPTED: update_me (PUT http://sut/api/users/me) answered 200 (the revoked "
        "token changed data); ACCEPTED: create_patient"
    )
    assert "created data" in violation.actual
    assert "delete_patient (DELETE http://sut/api/patients/p1) answered 404 with code NOT_FOUND" in violation.actual
    assert violation.actual.endswith("refused with 401 on user guard, pro guard")
    assert violation.exchange is calls["update_me"]  # the first accepted write is the one shown


def test_unrevoked_token_still_accepted():
    revocation.token_still_accepted(OK)
    with pytest.raises(Violation, match="never revoked") as failure:
        revocation.token_still_accepted(REVOKED)
    assert failure.value.requirement == "REV-1"


def probe(exchange, at=0.0, route="user guard", token="revoked"):
    return revocation.OutageProbe(at, route, token, exchange)


@pytest.mark.parametrize("exchange", [UNAVAILABLE, REVOKED, answer(503, "UNKNOWN_ERROR")])
def test_outage_refusal_passes(exchange):
    revocation.guarded_routes_fail_closed([probe(exchange), probe(exchange, 8.0, token="unrevoked")], held=10)


@pytest.mark.parametrize("exchange, text", [(OK, "Actual: ACCEPTED unchecked: the revoked token"), (CRASHED, "500")])
def test_outage_acceptance_or_crash_fails(exchange, text):
    with pytest.raises(Violation, match=text) as failure:
        revocation.guarded_routes_fail_closed([probe(exchange)], held=10)
    assert failure.value.requirement == "REV-5"


def test_an_unrevoked_token_served_during_the_outage_fails():
    """It cannot have been checked: the store is down. (The old probe sent only a revoked token.)"""
    with pytest.raises(Violation, match="ACCEPTED unchecked: the unrevoked token on the user guard") as failure:
        revocation.guarded_routes_fail_closed([probe(UNAVAILABLE), probe(OK, token="unrevoked")], held=10)
    assert failure.value.requirement == "REV-5"


def test_a_plan_guards_403_during_the_outage_is_acceptance():
    refused_by_plan = answer(403, "PRO_REQUIRED", path="/api/patients/pro-feature/")
    with pytest.raises(Violation, match="ACCEPTED unchecked: the revoked token on the pro guard"):
        revocation.guarded_routes_fail_closed([probe(refused_by_plan, route="pro guard")], held=10)


def test_failing_closed_first_and_opening_later_is_caught_and_said():
    probes = [probe(UNAVAILABLE, 0.0), probe(UNAVAILABLE, 3.0), probe(OK, 9.0)]
    with pytest.raises(Violation, match="9 s into the outage") as failure:
        revocation.guarded_routes_fail_closed(probes, held=10)
    assert "it failed closed until then, and served from 9 s into the outage on" in failure.value.actual
    assert failure.value.exchange is probes[2].exchange


def test_a_success_report_during_the_outage_is_env7_too():
    logged_out = Exchange.build(
        "POST",
        "http://sut/api/auth/logout",
        200,
        response_headers={"content-type": "application/json"},
        response_body={"success": True, "message": "Logged out"},
    )
    with pytest.raises(ExceptionGroup) as group:
        revocation.guarded_routes_fail_closed([probe(logged_out, route="logout", token="unrevoked")], held=10)
    assert [v.requirement for v in group.value.exceptions] == ["REV-5", "ENV-7"]


def test_no_probe_is_not_judged():
    with pytest.raises(NotApplicable):
        revocation.guarded_routes_fail_closed([], held=10)


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


def test_a_revoked_token_answered_success_fails_the_requirement_and_env7():
    deleted = Exchange.build(
        "DELETE",
        "http://sut/api/patients/p1",
        200,
        response_headers={"content-type": "application/json"},
        response_body={"success": True, "message": "Patient deleted"},
    )
    with pytest.raises(ExceptionGroup) as group:
        revocation.refused_on_every_operation({"user guard": REVOKED, "delete_patient": deleted})
    assert [v.requirement for v in group.value.exceptions] == ["REV-1", "ENV-7"]
    assert "DELETE http://sut/api/patients/p1 200" in group.value.exceptions[1].actual


def test_a_served_read_without_a_success_report_is_the_requirements_alone():
    with pytest.raises(Violation) as failure:
        revocation.token_rejected_as_revoked(OK, requirement="REV-3")
    assert failure.value.requirement == "REV-3"


def test_under_a_should_clause_refresh_adds_no_env7():
    issued = Exchange.build(
        "POST",
        "http://sut/api/auth/refresh",
        200,
        response_headers={"content-type": "application/json"},
        response_body={"success": True, "access_token": "a"},
    )
    with pytest.raises(ExceptionGroup):
        revocation.refresh_refused(issued, what="a revoked refresh token")
    with pytest.raises(Violation):
        revocation.refresh_refused(issued, what="a used refresh token", must=False)
    with pytest.raises(Violation):  # REV-6 is a SHOULD: the token need not be refused, so no ENV-7
        revocation.refresh_refused(issued, what="a token from before the change", requirement="REV-6")
