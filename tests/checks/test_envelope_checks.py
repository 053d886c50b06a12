"""Envelope checks on good and bad recorded exchanges."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import requests
import schemathesis

from conformance import profile as profiles
from conformance.checks import envelope, every_response
from conformance.exchange import Exchange
from conformance.fuzz import checks as sc
from conformance.outcomes import NotApplicable, Violation

JSON = {"content-type": "application/json", "x-request-id": "rid-1"}


@pytest.fixture(scope="module")
def profile():
    return profiles.load()


def error(status, code, *, message="Something went wrong", field=None, context=None, body=None, headers=JSON):
    if body is None:
        body = {"success": False, "error": {"message": message, "code": code}, "request_id": "rid-1"}
        if field is not None:
            body["error"]["field"] = field
        if context is not None:
            body["error"]["context"] = context
    return Exchange.build("GET", "http://sut/api/x", status, response_headers=headers, response_body=body)


def ok(body, status=200):
    return Exchange.build("POST", "http://sut/api/auth/verify-otp", status, response_headers=JSON, response_body=body)


# -- ENV-1 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "error": {"message": "No", "code": "NOT_FOUND"}, "request_id": "r"},
        {
            "success": False,
            "error": {"message": "No", "code": "NOT_FOUND", "field": None, "context": None},
            "request_id": "r",
        },
        {
            "success": False,
            "error": {"message": "Bad", "code": "VALIDATION_ERROR", "field": "email", "context": {}},
            "request_id": "r",
        },
    ],
)
def test_envelope_accepts_the_contract_shape(body):
    assert envelope.error_body_is_envelope(error(404, "NOT_FOUND", body=body)) is None


def test_envelope_is_not_applicable_below_400():
    with pytest.raises(NotApplicable):
        envelope.error_body_is_envelope(ok({"success": True}))


def test_envelope_is_not_applicable_to_head_requests():
    head = Exchange.build("HEAD", "http://sut/api/users/me", 401, response_headers=JSON)
    with pytest.raises(NotApplicable):
        envelope.error_body_is_envelope(head)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"detail": "Not Found"}, "'detail'"),
        ({"success": False, "error": {"message": "x", "code": "NOT_FOUND"}}, "missing top-level key(s) 'request_id'"),
        ({"success": True, "error": {"message": "x", "code": "NOT_FOUND"}, "request_id": "r"}, "success is true"),
        ({"success": False, "error": {"message": "x", "code": "not_found"}, "request_id": "r"}, "not UPPER_SNAKE_CASE"),
        ({"success": False, "error": {"message": "x"}, "request_id": "r"}, "error.code is missing"),
        ({"success": False, "error": {"code": "X"}, "request_id": "r"}, "error.message is missing"),
        ({"success": False, "error": "Not Found", "request_id": "r"}, "error is a string"),
        ({"success": False, "error": {"message": "x", "code": "X", "field": 3}, "request_id": "r"}, "error.field"),
        ({"success": False, "error": {"message": "x", "code": "X", "context": []}, "request_id": "r"}, "error.context"),
        ({"success": False, "error": {"message": "x", "code": "X", "trace": "t"}, "request_id": "r"}, "'trace'"),
        ({"success": False, "error": {"message": "x", "code": "X"}, "request_id": None}, "request_id is null"),
        ({"success": False, "error": {"message": "x", "code": "X"}, "request_id": "r", "detail": "x"}, "'detail'"),
        ([{"loc": ["body"], "msg": "x"}], "an array, not a JSON object"),
    ],
)
def test_envelope_rejects_what_differs_from_the_contract(body, complaint):
    with pytest.raises(Violation) as raised:
        envelope.error_body_is_envelope(error(404, "NOT_FOUND", body=body))
    assert raised.value.requirement == "ENV-1"
    assert complaint in raised.value.actual


def test_envelope_rejects_html_and_text_errors():
    html = Exchange.build(
        "GET",
        "http://sut/nope",
        500,
        response_headers={"content-type": "text/html"},
        response_body="<h1>Internal Server Error</h1>",
    )
    with pytest.raises(Violation) as raised:
        envelope.error_body_is_envelope(html)
    assert "not application/json" in raised.value.actual
    assert "not a JSON object" in raised.value.actual


def test_envelope_rejects_a_json_body_with_another_media_type():
    body = {"success": False, "error": {"message": "x", "code": "X"}, "request_id": "r"}
    with pytest.raises(Violation, match="text/plain"):
        envelope.error_body_is_envelope(error(400, "X", body=body, headers={"content-type": "text/plain"}))


def test_envelope_violation_renders_reproduction_and_hint():
    with pytest.raises(Violation) as raised:
        envelope.error_body_is_envelope(error(404, "NOT_FOUND", body={"detail": "Not Found"}))
    text = str(raised.value)
    assert text.startswith("ENV-1")
    assert "Reproduce: curl" in text and "HTTPException" in text


# -- ENV-3 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(404, "NOT_FOUND"), (401, "TOKEN_EXPIRED"), (429, "ACCOUNT_LOCKED"), (400, "INVALID_OTP")]
)
def test_status_and_code_from_the_table_pass(profile, status, code):
    assert envelope.status_matches_code(error(status, code), profile) is None


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "UNKNOWN_ERROR", "NOT_FOUND"),
        (400, "NOT_FOUND", "code NOT_FOUND with status 404"),
        (418, "TEAPOT", "a status of the contract table"),
        (403, "UNAUTHORIZED", "code UNAUTHORIZED with status 401"),
    ],
)
def test_status_and_code_outside_the_table_fail(profile, status, code, expected):
    with pytest.raises(Violation) as raised:
        envelope.status_matches_code(error(status, code), profile)
    assert raised.value.requirement == "ENV-3"
    assert expected in raised.value.expected


def test_expected_code_is_demanded(profile):
    envelope.status_matches_code(error(401, "TOKEN_INVALID"), profile, expected_code="TOKEN_INVALID")
    with pytest.raises(Violation) as raised:
        envelope.status_matches_code(error(401, "UNAUTHORIZED"), profile, expected_code="TOKEN_INVALID")
    assert raised.value.expected == "401 with code TOKEN_INVALID"
    assert raised.value.actual == "401 with code UNAUTHORIZED"


def test_expected_code_fails_on_a_success(profile):
    with pytest.raises(Violation, match="200 without an error code"):
        envelope.status_matches_code(ok({"success": False}), profile, expected_code="INVALID_OTP")


def test_expected_code_fails_on_a_wrong_status_without_code(profile):
    html = Exchange.build("GET", "http://sut/x", 500, response_body="<h1>Internal Server Error</h1>")
    with pytest.raises(Violation, match="500 without an error code"):
        envelope.status_matches_code(html, profile, expected_code="VALIDATION_ERROR")


def test_unknown_expected_code_is_a_harness_error(profile):
    with pytest.raises(ValueError):
        envelope.status_matches_code(error(404, "NOT_FOUND"), profile, expected_code="NOPE")


def test_status_and_code_leave_bodies_without_code_to_env1(profile):
    with pytest.raises(NotApplicable):
        envelope.status_matches_code(error(404, None, body={"detail": "x"}), profile)
    with pytest.raises(NotApplicable):
        envelope.status_matches_code(error(404, None, body={"detail": "x"}), profile, expected_code="NOT_FOUND")
    with pytest.raises(NotApplicable):
        envelope.status_matches_code(ok({"success": True}), profile)


# -- ENV-4 -----------------------------------------------------------------


def test_not_found_with_context_passes():
    exchange = error(404, "NOT_FOUND", context={"resource": "patient", "identifier": "abc"})
    envelope.not_found_has_context(exchange)
    envelope.not_found_has_context(exchange, resource="patient", identifier="abc")


@pytest.mark.parametrize(
    ("exchange", "complaint"),
    [
        (error(404, "NOT_FOUND"), "context.resource is null"),
        (error(404, "NOT_FOUND", context={"resource": "patient"}), "context.identifier is null"),
        (error(404, "NOT_FOUND", context={"resource": "patient", "identifier": "zzz"}), "not 'abc'"),
        (error(404, "UNKNOWN_ERROR", context={"resource": "", "identifier": "abc"}), 'context.resource is ""'),
    ],
)
def test_not_found_without_context_fails(exchange, complaint):
    with pytest.raises(Violation) as raised:
        envelope.not_found_has_context(exchange, identifier="abc")
    assert raised.value.requirement == "ENV-4"
    assert complaint in raised.value.actual


@pytest.mark.parametrize(
    "exchange",
    [
        error(400, "BAD_REQUEST", context={"resource": "patient", "identifier": "abc"}),
        error(404, "NOT_FOUND", body={"detail": "Patient not found"}),
        ok({"id": "abc"}),
    ],
)
def test_not_found_context_leaves_status_and_shape_to_other_checks(exchange):
    with pytest.raises(NotApplicable):
        envelope.not_found_has_context(exchange, identifier="abc")


# -- ENV-5 -----------------------------------------------------------------


def test_validation_error_naming_the_field_passes():
    exchange = error(422, "VALIDATION_ERROR", field="password")
    envelope.validation_error_names_field(exchange)
    envelope.validation_error_names_field(exchange, "password")
    envelope.validation_error_names_field(exchange, ["email", "password"])


@pytest.mark.parametrize(
    ("field", "expected_field"), [(None, None), ("", None), ("email", "password"), ("body", ["name", "phone"])]
)
def test_validation_error_without_the_field_fails(field, expected_field):
    with pytest.raises(Violation) as raised:
        envelope.validation_error_names_field(error(422, "VALIDATION_ERROR", field=field), expected_field)
    assert raised.value.requirement == "ENV-5"


def test_validation_field_check_ignores_other_errors():
    with pytest.raises(NotApplicable):
        envelope.validation_error_names_field(error(400, "BAD_REQUEST", field="password"))
    with pytest.raises(NotApplicable):
        envelope.validation_error_names_field(error(422, None, body={"detail": [{"loc": ["body", "password"]}]}))


def test_validation_field_is_judged_whatever_the_code():
    envelope.validation_error_names_field(error(422, "UNKNOWN_ERROR", field="password"), "password")
    with pytest.raises(Violation):
        envelope.validation_error_names_field(error(422, "UNKNOWN_ERROR"), "password")


@pytest.mark.parametrize(("field", "wanted"), [("limit", "limit"), ("skip", "skip"), ("pass", ["pass"])])
def test_validation_error_of_a_query_or_form_field_names_it(field, wanted):
    envelope.validation_error_names_field(error(422, "VALIDATION_ERROR", field=field), wanted)
    with pytest.raises(Violation, match="error.field"):
        envelope.validation_error_names_field(error(422, "VALIDATION_ERROR", field="query"), wanted)


def test_the_expected_names_are_read_when_judged():
    """The suite's login-form case fills the profile's field name into its list only when it is provoked."""
    names: list[str] = []
    exchange = error(422, "VALIDATION_ERROR", field="username")
    names.append("pass")
    with pytest.raises(Violation, match="'pass'"):
        envelope.validation_error_names_field(exchange, names)
    names[:] = ["username"]
    envelope.validation_error_names_field(exchange, names)


# -- ENV-6 -----------------------------------------------------------------


def test_generic_server_error_passes():
    envelope.server_error_leaks_nothing(error(500, "INTERNAL_ERROR", message="Internal server error"))
    envelope.server_error_leaks_nothing(error(503, "SERVICE_UNAVAILABLE", message="Service temporarily unavailable"))


@pytest.mark.parametrize(
    ("message", "what"),
    [
        (
            'Traceback (most recent call last):\n  File "/app/main.py", line 3, in f\nZeroDivisionError: division by zero',
            "traceback",
        ),
        ('File "/srv/heallog/routes.py", line 42', "stack frame"),
        ("failed in /usr/lib/python3.11/site-packages/starlette/routing.py", "file path"),
        ("ZeroDivisionError: division by zero", "exception class name"),
        ("HTTPException raised", "exception class name"),
        ("sqlite3: no such table: patients", "SQL text"),
        ("SELECT users.id, users.email FROM users WHERE users.email = ?", "SQL text"),
        ("insert into patients values (1)", "SQL text"),
    ],
)
def test_server_error_with_internals_fails(message, what):
    with pytest.raises(Violation) as raised:
        envelope.server_error_leaks_nothing(error(500, "INTERNAL_ERROR", message=message))
    assert raised.value.requirement == "ENV-6"
    assert what in raised.value.actual


def test_traceback_in_a_text_body_fails():
    exchange = Exchange.build("GET", "http://sut/x", 500, response_body="Traceback (most recent call last):\n  ...")
    with pytest.raises(Violation):
        envelope.server_error_leaks_nothing(exchange)


def test_leak_check_is_for_server_errors_only():
    with pytest.raises(NotApplicable):
        envelope.server_error_leaks_nothing(error(422, "VALIDATION_ERROR", message="ValueError in field"))


# -- ENV-7 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"success": True, "access_token": "t"}, {"id": "1"}, [{"id": "1"}], "plain"],
)
def test_real_successes_pass(body):
    envelope.failure_not_reported_as_success(ok(body))


@pytest.mark.parametrize(
    "body",
    [{"success": False, "message": "Invalid OTP"}, {"error": {"code": "INVALID_OTP", "message": "x"}}],
)
def test_failure_in_a_200_fails(body):
    with pytest.raises(Violation) as raised:
        envelope.failure_not_reported_as_success(ok(body))
    assert raised.value.requirement == "ENV-7"


def test_success_check_ignores_error_statuses():
    with pytest.raises(NotApplicable):
        envelope.failure_not_reported_as_success(error(400, "INVALID_OTP"))


# -- every_response ------------------------------------------------------------


def test_every_response_collects_each_violated_requirement(profile):
    exchange = Exchange.build(
        "GET",
        "http://sut/api/users/me",
        401,
        request_headers={"Authorization": "Bearer abc"},
        response_headers={"content-type": "text/html"},
        response_body="<h1>401</h1>",
    )
    violations = every_response(exchange, profile)
    assert [v.requirement for v in violations] == ["ENV-1", "RID-1", "HDR-1", "AUTH-1"]


def test_every_response_checks_decodes_only_for_bearer_requests(profile):
    exchange = Exchange.build(
        "GET", "http://sut/health", 200, response_headers={"x-request-id": "r"}, response_body={"status": "healthy"}
    )
    assert [v.requirement for v in every_response(exchange, profile) if v.requirement != "HDR-1"] == []


def test_every_response_reports_a_failure_dressed_as_success(profile):
    violations = every_response(ok({"success": False, "message": "Invalid OTP"}), profile)
    assert "ENV-7" in [v.requirement for v in violations]


# -- API-1 adapters (conformance.fuzz.checks) -------------------------------


def schemathesis_response(status, headers, body, *, request_headers=None):
    request = requests.Request(
        "POST", "http://sut/api/auth/login", headers=request_headers or {}, data=b"x=1"
    ).prepare()
    return schemathesis.Response(status, headers, body, request, elapsed=0.01, verify=False)


GOOD_HEADERS = {
    "content-type": ["application/json"],
    "x-request-id": ["rid-1"],
    "x-content-type-options": ["nosniff"],
    "x-frame-options": ["DENY"],
    "content-security-policy": ["default-src 'none'; frame-ancestors 'none'"],
    "referrer-policy": ["no-referrer"],
    "cache-control": ["no-store"],
}


def test_schemathesis_response_becomes_an_exchange():
    response = schemathesis_response(401, GOOD_HEADERS, b'{"a": 1}', request_headers={"Authorization": "Bearer t"})
    exchange = Exchange.from_schemathesis(response)
    assert exchange.label == "POST http://sut/api/auth/login"
    assert exchange.request.headers.get("authorization") == "Bearer t"
    assert exchange.request.body == b"x=1"
    assert exchange.response.status == 401
    assert exchange.response.headers.get("X-Request-ID") == "rid-1"
    assert exchange.response.json == {"a": 1}


def test_api1_check_passes_a_conforming_error_and_fails_a_bare_one(profile):
    good = {"success": False, "error": {"message": "x", "code": "NOT_FOUND"}, "request_id": "rid-1"}
    with sc.judging(sc.Judgement(profile)):
        sc.every_response_conforms(None, schemathesis_response(404, GOOD_HEADERS, json.dumps(good).encode()), None)
        with pytest.raises(AssertionError, match="ENV-1"):
            sc.every_response_conforms(None, schemathesis_response(404, GOOD_HEADERS, b'{"detail": "Not Found"}'), None)
    with pytest.raises(AssertionError, match="API-1"):
        sc.no_server_error(None, schemathesis_response(500, GOOD_HEADERS, json.dumps(good).encode()), None)
    sc.no_server_error(None, schemathesis_response(404, GOOD_HEADERS, b""), None)


def test_api1_check_only_warns_once_about_other_requirements(profile):
    success_dressed = b'{"success": false, "message": "Invalid OTP"}'
    judgement = sc.Judgement(profile)
    with sc.judging(judgement), pytest.warns(sc.FuzzFinding, match="ENV-7") as caught:
        for _ in range(3):
            sc.every_response_conforms(None, schemathesis_response(200, GOOD_HEADERS, success_dressed), None)
    assert len([w for w in caught if issubclass(w.category, sc.FuzzFinding)]) == 1
    assert judgement.reported == {"ENV-7"}


def test_document_operations_are_named_after_the_profile(profile):
    document = {
        "paths": {
            "/api/patients/{patient_id}": {"get": {"responses": {}}, "put": {"responses": {}}, "parameters": []},
            "/api/debug/sentry-test": {"get": {"responses": {}}},
            "/api/extra": {"get": {"responses": {}}},
        }
    }
    annotated = sc.annotate_operations(document, profile, excluded=["error_trigger"])
    paths = annotated["paths"]
    assert paths["/api/patients/{patient_id}"]["get"][sc.OPERATION_KEY] == "get_patient"
    assert paths["/api/patients/{patient_id}"]["put"][sc.OPERATION_KEY] == "update_patient"
    assert sc.OPERATION_KEY not in paths["/api/extra"]["get"]
    assert "x-conformance-operation" not in document["paths"]["/api/debug/sentry-test"]["get"], (
        "the input is not modified"
    )

    def ctx(raw):
        return SimpleNamespace(operation=SimpleNamespace(definition=SimpleNamespace(raw=raw)))

    assert sc.is_excluded(ctx(paths["/api/debug/sentry-test"]["get"]))
    assert not sc.is_excluded(ctx(paths["/api/patients/{patient_id}"]["get"]))
    assert sc.logical_operation(ctx(paths["/api/debug/sentry-test"]["get"]).operation) == "error_trigger"
