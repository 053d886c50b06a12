"""The AUTH checks on good and bad recorded exchanges."""

from __future__ import annotations

import pytest

from conformance.checks import auth
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, Violation

BEARER = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"}


def envelope(code: str, message: str = "nope") -> dict:
    return {"success": False, "error": {"message": message, "code": code, "field": None}, "request_id": "r1"}


def answer(
    status: int,
    code: str | None = None,
    *,
    path: str = "/api/users/me",
    request_headers=None,
    response_headers=None,
    message: str = "nope",
) -> Exchange:
    body = envelope(code, message) if code else {"ok": True}
    return Exchange.build(
        "GET",
        f"http://127.0.0.1:8000{path}",
        status,
        request_headers=request_headers,
        response_headers={"content-type": "application/json", **(response_headers or {})},
        response_body=body,
    )


class TestBearerDecodedOnce:
    def test_one_decode_with_a_bearer_token_passes(self):
        auth.bearer_decoded_once(
            answer(200, request_headers=BEARER, response_headers={"X-Debug-JWT-Decodes": "1"}), "X-Debug-JWT-Decodes"
        )

    def test_a_failed_request_with_one_decode_passes(self):
        exchange = answer(401, "TOKEN_INVALID", request_headers=BEARER, response_headers={"X-Debug-JWT-Decodes": "1"})
        auth.bearer_decoded_once(exchange, "X-Debug-JWT-Decodes")

    def test_zero_decodes_without_a_token_passes(self):
        auth.bearer_decoded_once(
            answer(200, path="/health", response_headers={"X-Debug-JWT-Decodes": "0"}), "X-Debug-JWT-Decodes"
        )

    def test_three_decodes_fail(self):
        exchange = answer(200, request_headers=BEARER, response_headers={"X-Debug-JWT-Decodes": "3"})
        with pytest.raises(Violation) as failure:
            auth.bearer_decoded_once(exchange, "X-Debug-JWT-Decodes")
        assert failure.value.requirement == "AUTH-1"
        assert "X-Debug-JWT-Decodes: 3" in str(failure.value)

    def test_a_decode_without_a_token_fails(self):
        with pytest.raises(Violation, match="without a bearer token"):
            auth.bearer_decoded_once(
                answer(200, path="/health", response_headers={"X-Debug-JWT-Decodes": "1"}), "X-Debug-JWT-Decodes"
            )

    def test_zero_decodes_of_a_sent_token_fail(self):
        with pytest.raises(Violation):
            auth.bearer_decoded_once(
                answer(200, request_headers=BEARER, response_headers={"X-Debug-JWT-Decodes": "0"}),
                "X-Debug-JWT-Decodes",
            )

    def test_missing_header_names_the_instrumentation(self):
        with pytest.raises(Violation, match="debug instrumentation"):
            auth.bearer_decoded_once(answer(200, request_headers=BEARER), "X-Debug-JWT-Decodes")

    def test_non_numeric_header_fails(self):
        with pytest.raises(Violation):
            auth.bearer_decoded_once(
                answer(200, request_headers=BEARER, response_headers={"X-Debug-JWT-Decodes": "x"}),
                "X-Debug-JWT-Decodes",
            )

    def test_header_name_comes_from_the_profile(self):
        exchange = answer(200, request_headers=BEARER, response_headers={"X-Decodes": "1"})
        auth.bearer_decoded_once(exchange, header_name="X-Decodes")

    def test_basic_credentials_are_not_a_bearer_token(self):
        exchange = answer(
            401,
            "UNAUTHORIZED",
            request_headers={"Authorization": "Basic dTpw"},
            response_headers={"X-Debug-JWT-Decodes": "0"},
        )
        auth.bearer_decoded_once(exchange, "X-Debug-JWT-Decodes")


class TestRejectionsAgree:
    def test_same_401_code_on_every_class_passes(self):
        auth.rejections_agree({k: answer(401, "TOKEN_EXPIRED") for k in ("user", "pro", "role", "logout")})

    def test_403_on_the_pro_class_fails(self):
        rejections = {
            "user": answer(401, "TOKEN_EXPIRED"),
            "pro": answer(403, "PRO_REQUIRED"),
            "role": answer(401, "TOKEN_EXPIRED"),
        }
        with pytest.raises(Violation, match="pro: 403 with code PRO_REQUIRED instead of 401") as failure:
            auth.rejections_agree(rejections, variant="expired")
        assert failure.value.requirement == "AUTH-2"
        assert failure.value.exchange is rejections["pro"]
        assert "the expired token refused with 401 and one code on every guard class (user, pro, role)" in str(
            failure.value
        )

    def test_an_accepted_token_is_the_headline(self):
        rejections = {"user": answer(401, "TOKEN_INVALID"), "pro": answer(200), "role": answer(401, "TOKEN_INVALID")}
        with pytest.raises(Violation) as failure:
            auth.rejections_agree(rejections, summary="the token with `alg: None` and no signature")
        assert failure.value.actual.startswith("the token with `alg: None` and no signature was accepted: 200 on pro")
        assert failure.value.exchange is rejections["pro"]

    def test_an_accepted_logout_fails(self):
        rejections = {
            **{k: answer(401, "TOKEN_INVALID") for k in ("user", "pro", "role")},
            "logout": answer(200, path="/api/auth/logout"),
        }
        with pytest.raises(Violation, match="was accepted: 200 on logout") as failure:
            auth.rejections_agree(rejections, variant="malformed")
        assert failure.value.exchange is rejections["logout"]

    def test_a_forged_logout_answered_success_is_env7_too(self):
        """The real backend's case: 200 {"success": true} to a logout with a forged token was AUTH-2's only."""
        logged_out = Exchange.build(
            "POST",
            "http://sut/api/auth/logout",
            200,
            response_headers={"content-type": "application/json"},
            response_body={"success": True, "message": "Logged out"},
        )
        rejections = {**{k: answer(401, "TOKEN_INVALID") for k in ("user", "pro", "role")}, "logout": logged_out}
        with pytest.raises(ExceptionGroup) as group:
            auth.rejections_agree(rejections, variant="bad-signature")
        auth2, env7 = group.value.exceptions
        assert auth2.requirement == "AUTH-2" and "was accepted: 200 on logout" in auth2.actual
        assert env7.requirement == "ENV-7" and env7.exchange is logged_out
        assert "POST http://sut/api/auth/logout 200" in env7.actual

    def test_every_problem_is_named_after_the_headline(self):
        rejections = {
            "user": answer(200),
            "pro": answer(403, "PRO_REQUIRED"),
            "role": answer(401, "TOKEN_INVALID"),
            "logout": answer(401, "TOKEN_REVOKED"),
        }
        with pytest.raises(Violation) as failure:
            auth.rejections_agree(rejections, variant="jwk-embedded")
        actual = failure.value.actual
        assert actual.index("was accepted: 200 on user") < actual.index(
            "pro: 403 with code PRO_REQUIRED instead of 401"
        )
        assert "the 401s differ in code: role: TOKEN_INVALID, logout: TOKEN_REVOKED" in actual
        assert failure.value.exchange is rejections["user"]
        assert "never a key, key URL or algorithm the token names" in failure.value.hint

    def test_a_wrong_status_names_a_missing_challenge_too(self):
        rejections = {
            "user": answer(401, "TOKEN_INVALID", response_headers={"WWW-Authenticate": "Bearer"}),
            "pro": answer(400, "BAD_REQUEST"),
        }
        with pytest.raises(Violation, match="pro: 400 with code BAD_REQUEST instead of 401"):
            auth.rejections_agree(rejections)

    def test_different_codes_fail(self):
        rejections = {
            "user": answer(401, "TOKEN_REVOKED"),
            "pro": answer(401, "TOKEN_REVOKED"),
            "role": answer(401, "TOKEN_INVALID"),
        }
        with pytest.raises(Violation, match="role: TOKEN_INVALID") as failure:
            auth.rejections_agree(rejections)
        assert failure.value.exchange is rejections["role"]

    def test_nothing_to_compare_is_not_applicable(self):
        with pytest.raises(NotApplicable):
            auth.rejections_agree({})


class TestRefusalHasCode:
    def test_the_code_of_its_kind_passes(self):
        auth.refusal_has_code(answer(401, "TOKEN_INVALID"), "TOKEN_INVALID")

    def test_an_accepted_token_is_blocked_by_auth_2_not_blamed_on_the_code(self):
        with pytest.raises(NotApplicable) as outcome:
            auth.refusal_has_code(answer(200), "TOKEN_INVALID")
        assert outcome.value.blocked_by == ("AUTH-2",)

    def test_a_wrong_code_fails_env_3_naming_every_problem(self):
        with pytest.raises(Violation) as failure:
            auth.refusal_has_code(answer(401, "UNKNOWN_ERROR"), "TOKEN_EXPIRED")
        assert failure.value.requirement == "ENV-3"
        assert failure.value.expected == "401 with code TOKEN_EXPIRED"
        assert failure.value.actual == "401 with code UNKNOWN_ERROR, without a WWW-Authenticate: Bearer challenge"

    def test_a_wrong_status_fails(self):
        with pytest.raises(Violation, match="403 with code FORBIDDEN"):
            auth.refusal_has_code(answer(403, "FORBIDDEN"), "UNAUTHORIZED")


class TestWeakSecrets:
    def test_genuine_token_accepted_is_the_positive_control(self):
        auth.genuine_token_admitted(answer(200))
        with pytest.raises(Inconclusive, match="genuine token"):
            auth.genuine_token_admitted(answer(401, "TOKEN_REVOKED"))

    def test_all_refused_passes(self):
        auth.weak_secrets_refused([("weak secret #1", answer(401, "TOKEN_INVALID")), ("weak secret #2", answer(500))])

    def test_accepted_weak_secrets_fail_naming_their_labels(self):
        accepted = answer(200, request_headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.weak-signature"})
        answers = [
            ("weak secret #1 (a)", answer(401, "TOKEN_INVALID")),
            ("weak secret #2 (b)", accepted),
            ("weak secret #3 (c)", answer(200)),
        ]
        with pytest.raises(Violation) as failure:
            auth.weak_secrets_refused(answers)
        assert failure.value.requirement == "AUTH-7"
        assert failure.value.actual == (
            "2 of 3 accepted on the user guard class: weak secret #2 (b): 200; weak secret #3 (c): 200"
        )
        assert failure.value.exchange is accepted
        assert "weak-signature" not in str(failure.value)  # the forged token is never printed

    def test_nothing_sent_is_not_applicable(self):
        with pytest.raises(NotApplicable):
            auth.weak_secrets_refused([])


class TestGuardAdmits:
    def test_2xx_passes(self):
        auth.guard_admits(answer(200))

    @pytest.mark.parametrize(("status", "code"), [(403, "PRO_REQUIRED"), (403, "FORBIDDEN"), (401, "TOKEN_INVALID")])
    def test_refusal_fails(self, status, code):
        with pytest.raises(Violation) as failure:
            auth.guard_admits(answer(status, code))
        assert failure.value.requirement == "AUTH-3"


class TestChallenge:
    def test_bearer_challenge_passes(self):
        auth.unauthenticated_has_challenge(answer(401, "UNAUTHORIZED", response_headers={"WWW-Authenticate": "Bearer"}))

    def test_challenge_with_parameters_passes(self):
        header = {"WWW-Authenticate": 'Basic realm="x", Bearer error="invalid_token"'}
        auth.unauthenticated_has_challenge(answer(401, "TOKEN_INVALID", response_headers=header))

    def test_missing_challenge_fails(self):
        with pytest.raises(Violation, match="no WWW-Authenticate") as failure:
            auth.unauthenticated_has_challenge(answer(401, "UNAUTHORIZED"))
        assert failure.value.requirement == "AUTH-4"

    def test_other_scheme_fails(self):
        with pytest.raises(Violation, match="Basic"):
            auth.unauthenticated_has_challenge(
                answer(401, "UNAUTHORIZED", response_headers={"WWW-Authenticate": "Basic"})
            )

    def test_scheme_prefix_is_not_bearer(self):
        with pytest.raises(Violation):
            header = {"WWW-Authenticate": "Bearerish"}
            auth.unauthenticated_has_challenge(answer(401, "UNAUTHORIZED", response_headers=header))

    def test_non_401_is_not_applicable(self):
        with pytest.raises(NotApplicable):
            auth.unauthenticated_has_challenge(answer(403, "FORBIDDEN"))


class TestLoginFailuresIndistinguishable:
    def test_identical_answers_pass(self):
        auth.login_failures_indistinguishable(
            answer(401, "INVALID_CREDENTIALS", message="Invalid email or password"),
            answer(401, "INVALID_CREDENTIALS", message="Invalid email or password"),
        )

    def test_different_status_fails(self):
        with pytest.raises(Violation) as failure:
            auth.login_failures_indistinguishable(answer(401, "INVALID_CREDENTIALS"), answer(404, "NOT_FOUND"))
        assert failure.value.requirement == "AUTH-5"

    def test_different_message_fails(self):
        with pytest.raises(Violation, match="No such user"):
            auth.login_failures_indistinguishable(
                answer(401, "INVALID_CREDENTIALS", message="Wrong password"),
                answer(401, "INVALID_CREDENTIALS", message="No such user"),
            )

    def test_different_code_fails(self):
        with pytest.raises(Violation):
            auth.login_failures_indistinguishable(answer(401, "INVALID_CREDENTIALS"), answer(401, "USER_NOT_FOUND"))

    def test_accepted_wrong_password_fails(self):
        with pytest.raises(Violation, match="refused"):
            auth.login_failures_indistinguishable(answer(200), answer(200))

    def test_rate_limited_attempt_is_inconclusive(self):
        with pytest.raises(Inconclusive):
            auth.login_failures_indistinguishable(
                answer(401, "INVALID_CREDENTIALS"), answer(429, "RATE_LIMIT_EXCEEDED")
            )


class TestAuth6:
    def test_unverified_login_403_passes(self):
        auth.unverified_login_refused(answer(403, "EMAIL_NOT_VERIFIED"))

    def test_unverified_login_with_tokens_fails(self):
        with pytest.raises(Violation) as failure:
            auth.unverified_login_refused(answer(200))
        assert failure.value.requirement == "AUTH-6"

    def test_wrong_otp_400_passes(self):
        auth.wrong_otp_refused(answer(400, "INVALID_OTP"))

    def test_wrong_otp_as_200_failure_fails(self):
        exchange = Exchange.build(
            "POST", "http://h/api/auth/verify-otp", 200, response_body={"success": False, "message": "Invalid OTP"}
        )
        with pytest.raises(Violation, match="200 without an error code"):
            auth.wrong_otp_refused(exchange)

    def test_wrong_otp_with_bad_request_code_fails(self):
        with pytest.raises(Violation):
            auth.wrong_otp_refused(answer(400, "BAD_REQUEST"))


def test_status_and_code_names_the_requirement():
    with pytest.raises(Violation) as failure:
        auth.status_and_code(answer(401, "TOKEN_INVALID"), 401, "TOKEN_EXPIRED", "ENV-3")
    assert failure.value.requirement == "ENV-3"
    assert "Expected: 401 with code TOKEN_EXPIRED" in str(failure.value)
    auth.status_and_code(answer(401, "TOKEN_EXPIRED"), 401, "TOKEN_EXPIRED", "ENV-3")


def test_decode_count_is_not_judged_on_a_413_refused_before_authentication():
    exchange = Exchange.build(
        "POST",
        "http://127.0.0.1:9/api/users/me/password",
        413,
        request_headers={"Authorization": "Bearer a.b.c"},
        response_headers={"X-Debug-JWT-Decodes": "0"},
    )
    with pytest.raises(NotApplicable):
        auth.bearer_decoded_once(exchange, "X-Debug-JWT-Decodes")


# -- AUTH-3/every-role ------------------------------------------------------------------------


def test_other_role_forbidden_passes_on_403_forbidden():
    auth.other_role_forbidden(
        answer(403, "FORBIDDEN", path="/api/patients/x"), role="admin", required="doctor", status=403, code="FORBIDDEN"
    )


@pytest.mark.parametrize(
    "status, code, through", [(404, "NOT_FOUND", True), (200, None, True), (401, "UNAUTHORIZED", False)]
)
def test_other_role_let_through_or_answered_otherwise_fails(status, code, through):
    with pytest.raises(Violation, match="role 'admin' on a route that requires role 'doctor'") as f:
        auth.other_role_forbidden(
            answer(status, code, path="/api/patients/x"), role="admin", required="doctor", status=403, code="FORBIDDEN"
        )
    assert f.value.requirement == "AUTH-3"
    assert ("let it through" in f.value.actual) is through
