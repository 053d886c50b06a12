"""The error envelope (ENV-1 .. ENV-7): provoke each kind of error once, judge it per requirement.

Each error is provoked once per run: the kinds other suites judge too (the
unhandled 500, the invalid and the oversized ``register`` body, the unverified
account's login, the wrong OTP, the unknown email's login, the missing token)
come from the run-wide :mod:`conformance.actors.provoked`, so that a run from
one address spends one rate-limited request on each; the rest from a
module-scoped cache. Each is judged by one test per requirement, so that every
requirement gets its own verdict and a defect shows up under the requirement
it breaks. Where one failure merely follows from another, the follower is
not judged (the test is skipped with the reason): a body without a code is
ENV-1's failure, not ENV-3's; a failure answered with 2xx is ENV-7's, not
ENV-3's; ENV-4 and ENV-5 judge the context and the field only once there is a
404 or 422 with an error object.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.actors.provoked import Provocations, registry
from conformance.checks import envelope
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation
from conformance.wire import sources
from conformance.wire.transport import exchange_of

#: Requests beyond twice the declared limit before giving up on seeing a 429: a burst that
#: straddles the boundary of a fixed window needs up to twice the limit.
RATE_BURST_SLACK = 10


@dataclass(frozen=True)
class Kit:
    """What a case needs to provoke its error; accounts are asked for only by the cases that need them,
    so that a run without an OTP source still judges the errors that need no account."""

    api: Any
    profile: Any
    target: Any
    request: pytest.FixtureRequest

    @property
    def user(self) -> Any:
        return self.request.getfixturevalue("user")

    @property
    def accounts(self) -> Any:
        return self.request.getfixturevalue("accounts")

    @property
    def shared(self) -> Provocations:
        """The run's shared provocations (asked for on first use, like the accounts)."""
        return registry(self.api, self.profile, self.target, self.accounts)


@dataclass(frozen=True)
class Case:
    provoke: Callable[[Kit], Exchange]
    code: str
    #: Produced by the framework (routing, parsing, validation, limits, middleware): ENV-2.
    framework: bool = False
    #: The input ENV-5 wants named in ``error.field`` (one name, or any of several).
    offending_input: str | tuple[str, ...] | None = None
    #: A missing resource (ENV-4): the context must name the identifier the case sent.
    missing: bool = False


@dataclass
class Provoked:
    """Each case's exchange, provoked at most once per run (or the reason it could not be)."""

    kit: Kit
    done: dict[str, Exchange | BaseException] = field(default_factory=dict)

    def __call__(self, name: str) -> Exchange:
        if name not in self.done:
            try:
                self.done[name] = CASES[name].provoke(self.kit)
            except Exception as reason:  # NotRun, TransportFailure...: replayed to every test of the case
                self.done[name] = reason
        outcome = self.done[name]
        if isinstance(outcome, BaseException):
            raise outcome.with_traceback(None)  # not the tracebacks of every earlier replay
        self.kit.api.record(outcome)  # shown in this test's failure report too
        return outcome


def framework_error_is_envelope(exchange: Exchange) -> None:
    """ENV-1 for an error a framework produced, which is also ENV-2's failure."""
    __tracebackhide__ = True
    try:
        envelope.error_body_is_envelope(exchange)
    except Violation as violation:
        also = Violation(
            "ENV-2",
            expected="framework-level errors in the envelope too",
            actual=violation.actual,
            exchange=exchange,
            hint=violation.hint,
        )
        summary = f"ENV-1/ENV-2  a framework-level error is not in the envelope ({exchange.label}): {violation.actual}"
        raise ExceptionGroup(summary, [violation, also]) from None


def method_not_allowed_names_allowed(exchange: Exchange) -> None:
    """ENV-3's table: 405 comes with an ``Allow`` header."""
    __tracebackhide__ = True
    if not (exchange.response.headers.get("allow") or "").strip():
        raise Violation(
            "ENV-3",
            expected="405 METHOD_NOT_ALLOWED with an Allow header",
            actual="no Allow header",
            exchange=exchange,
            extra_headers=("allow",),
        )


# -- how each error is provoked -----------------------------------------------------


def unknown_api_route(kit: Kit) -> Exchange:
    return kit.api.request("GET", f"/api/hlc-no-such-route-{uuid.uuid4().hex[:8]}")


def unknown_route(kit: Kit) -> Exchange:
    return kit.api.request("POST", f"/hlc-no-such-route-{uuid.uuid4().hex[:8]}", json={})


def wrong_method(kit: Kit) -> Exchange:
    op = kit.profile.operation(kit.profile.guard_classes["user"])
    declared = {o.method for o in kit.profile.operations.values() if o.path == op.path}
    method = next(m for m in ("DELETE", "PATCH", "PUT", "POST") if m not in declared)
    return kit.api.request(method, op.path, token=kit.user.access_token)


def malformed_json(kit: Kit) -> Exchange:
    return kit.api.call("register", content=b'{"email": "hlc@example.com", "password": ', headers=JSON_HEADERS)


def weak_password(kit: Kit) -> Exchange:
    body = {"email": f"hlc-weak-{uuid.uuid4().hex[:8]}@example.com", "password": "short", "full_name": "Weak Password"}
    return kit.api.call("register", json=body)


def shared(kind: str) -> Callable[[Kit], Exchange]:
    """A case provoked once per run for every suite that judges it (:mod:`conformance.actors.provoked`)."""

    def provoke(kit: Kit) -> Exchange:
        return kit.shared(kind)

    return provoke


#: The register body without an email: also the 422 sample of the header and request-id suites.
missing_email = shared("invalid-body-422")


def wrong_type(kit: Kit) -> Exchange:
    body = {
        "email": f"hlc-type-{uuid.uuid4().hex[:8]}@example.com",
        "password": ["not", "a", "string"],
        "full_name": "x y",
    }
    return kit.api.call("register", json=body)


def short_otp(kit: Kit) -> Exchange:
    length = kit.profile.accounts.otp_length
    return kit.api.call("verify_otp", json={"email": kit.user.email, "otp_code": "1" * (length - 1)})


def short_patient_name(kit: Kit) -> Exchange:
    return kit.api.call("create_patient", json={"name": "x"}, token=kit.user.access_token)


# Validation errors through the other channels (ENV-5): a login form field, query parameters. The name
# of the login's password field depends on the profile, so its provoking function fills it into the
# list the case names, before the case is judged.
LOGIN_PASSWORD_FIELD: list[str] = []


def login_form_without_password(kit: Kit) -> Exchange:
    login = kit.profile.login
    if login.operation.body != "form":
        raise NotApplicable("the login takes no form body (its JSON fields are JSON-body validation cases)")
    LOGIN_PASSWORD_FIELD[:] = [login.password_field]
    email = f"hlc-form-{uuid.uuid4().hex[:8]}@example.com"
    return kit.api.call("login", data={login.username_field: email})


def query_limit_not_a_number(kit: Kit) -> Exchange:
    return kit.api.call("list_patients", token=kit.user.access_token, params={"limit": "abc"})


def query_skip_negative(kit: Kit) -> Exchange:
    return kit.api.call("list_patients", token=kit.user.access_token, params={"skip": "-1"})


oversized_body = shared("oversized-413")
no_token = shared("no-token-401")


def malformed_token(kit: Kit) -> Exchange:
    return kit.api.call(kit.profile.guard_classes["user"], token="not-a-jwt")


#: An unknown email's login: also one of the failed logins AUTH-4 and AUTH-5 judge.
wrong_credentials = shared("unknown-email-login")


def wrong_role(kit: Kit) -> Exchange:
    return kit.api.call(kit.profile.guard_classes["role"], token=kit.user.access_token)


def wrong_plan(kit: Kit) -> Exchange:
    return kit.api.call(kit.profile.guard_classes["pro"], token=kit.user.access_token)


def duplicate_email(kit: Kit) -> Exchange:
    body = {"email": kit.user.email, "password": "Aa1!" + uuid.uuid4().hex, "full_name": "Duplicate Email"}
    return kit.api.call("register", json=body)


unhandled_error = shared("unhandled-500")


def rate_limited(kit: Kit) -> Exchange:
    """A burst of failed logins from this suite's own loopback address, so no other suite's budget is spent."""
    address = sources.require_source(
        kit.target.base_url,
        kit.profile.sources.envelope_rate_burst,
        purpose="the rate-limit case of ENV-2/ENV-3 (RATE-1 judges 429s itself)",
        own=True,
    )
    rate = kit.profile.rate_limits.login
    if rate is None:
        raise NotApplicable('the profile declares no login rate limit ([rate_limits] login = "none")')
    count = rate.count
    login = kit.profile.login
    with sources.client_from(kit.target.base_url, address, timeout=10.0) as client:
        exchange = None
        for _ in range(2 * count + RATE_BURST_SLACK):
            body = login.body(f"hlc-burst-{uuid.uuid4().hex[:10]}@example.com", "Wrong-Passw0rd!")
            sent = client.request(login.operation.method, login.operation.path, **body)
            exchange = kit.api.record(exchange_of(sent))
            if exchange.response.status == 429:
                return exchange
    return exchange


MISSING_PATIENT = {"get_patient": None, "update_patient": {"name": "Nobody Here"}, "delete_patient": None}


def missing_patient(operation: str) -> Callable[[Kit], Exchange]:
    def provoke(kit: Kit) -> Exchange:
        identifier = uuid.uuid4().hex
        return kit.api.call(
            operation, token=kit.user.access_token, path_params={"id": identifier}, json=MISSING_PATIENT[operation]
        )

    return provoke


#: On the run's one unverified account (AUTH-6 judges the same exchange).
wrong_otp = shared("wrong-otp")


def already_verified(kit: Kit) -> Exchange:
    """verify_otp for an account that is verified already: 400 BAD_REQUEST (§4), whatever the code."""
    code = "1" * kit.profile.accounts.otp_length
    return kit.api.call("verify_otp", json={"email": kit.user.email, "otp_code": code})


unverified_login = shared("unverified-login")


JSON_HEADERS = {"content-type": "application/json"}

CASES = {
    # ENV-2: what frameworks and middlewares answer
    "unknown-api-route": Case(unknown_api_route, "NOT_FOUND", framework=True),
    "unknown-route": Case(unknown_route, "NOT_FOUND", framework=True),
    "wrong-method": Case(wrong_method, "METHOD_NOT_ALLOWED", framework=True),
    "malformed-json": Case(malformed_json, "VALIDATION_ERROR", framework=True),
    "weak-password": Case(weak_password, "VALIDATION_ERROR", framework=True, offending_input="password"),
    "missing-email": Case(missing_email, "VALIDATION_ERROR", framework=True, offending_input="email"),
    "wrong-type": Case(wrong_type, "VALIDATION_ERROR", framework=True, offending_input="password"),
    "short-otp": Case(short_otp, "VALIDATION_ERROR", framework=True, offending_input="otp_code"),
    "short-patient-name": Case(short_patient_name, "VALIDATION_ERROR", framework=True, offending_input="name"),
    "login-form-without-password": Case(
        login_form_without_password, "VALIDATION_ERROR", framework=True, offending_input=LOGIN_PASSWORD_FIELD
    ),
    "query-limit-not-a-number": Case(
        query_limit_not_a_number, "VALIDATION_ERROR", framework=True, offending_input="limit"
    ),
    "query-skip-negative": Case(query_skip_negative, "VALIDATION_ERROR", framework=True, offending_input="skip"),
    "oversized-body": Case(oversized_body, "PAYLOAD_TOO_LARGE", framework=True),
    "rate-limited": Case(rate_limited, "RATE_LIMIT_EXCEEDED", framework=True),
    "no-token": Case(no_token, "UNAUTHORIZED", framework=True),
    "malformed-token": Case(malformed_token, "TOKEN_INVALID", framework=True),
    "unhandled-error": Case(unhandled_error, "INTERNAL_ERROR", framework=True),
    # ENV-1: what the application answers
    "wrong-credentials": Case(wrong_credentials, "INVALID_CREDENTIALS"),
    "wrong-role": Case(wrong_role, "FORBIDDEN"),
    "wrong-plan": Case(wrong_plan, "PRO_REQUIRED"),
    "duplicate-email": Case(duplicate_email, "DUPLICATE_EMAIL"),
    "wrong-otp": Case(wrong_otp, "INVALID_OTP"),
    "already-verified": Case(already_verified, "BAD_REQUEST"),
    "unverified-login": Case(unverified_login, "EMAIL_NOT_VERIFIED"),
    "missing-get-patient": Case(missing_patient("get_patient"), "NOT_FOUND", missing=True),
    "missing-update-patient": Case(missing_patient("update_patient"), "NOT_FOUND", missing=True),
    "missing-delete-patient": Case(missing_patient("delete_patient"), "NOT_FOUND", missing=True),
}


#: ENV-2's list item a framework error is, by its code (malformed JSON is an item apart from schema violations).
ENV2_ITEMS = {
    "NOT_FOUND": "unknown-route",
    "METHOD_NOT_ALLOWED": "wrong-method",
    "VALIDATION_ERROR": "schema-violation",
    "PAYLOAD_TOO_LARGE": "oversized-body",
    "RATE_LIMIT_EXCEEDED": "rate-limit",
    "UNAUTHORIZED": "auth-failures",
    "TOKEN_INVALID": "auth-failures",
    "INTERNAL_ERROR": "unhandled-errors",
}
#: ENV-5's kind of offending input, by case.
ENV5_KINDS = {
    "missing-email": "missing-field",
    "login-form-without-password": "missing-field",
    "weak-password": "invalid-value",
    "short-otp": "invalid-value",
    "short-patient-name": "invalid-value",
    "wrong-type": "wrong-type",
    "query-limit-not-a-number": "query-parameter",
    "query-skip-negative": "query-parameter",
}


def clauses_of(name: str, requirement_id: str) -> list[str]:
    """The clauses of ``requirement_id`` that case ``name`` exercises."""
    case = CASES[name]
    named = {
        "ENV-1": lambda: ["framework-errors" if case.framework else "application-errors"],
        "ENV-2": lambda: ["malformed-json" if name == "malformed-json" else ENV2_ITEMS[case.code]],
        "ENV-3": lambda: [case.code.lower().replace("_", "-")],
        "ENV-4": lambda: [name.split("-")[1]],  # missing-get-patient -> get
        "ENV-5": lambda: [ENV5_KINDS[name]],
        "ENV-6": lambda: ["unhandled-500", "traceback", "file-path", "exception-class", "query-text"],
        "ENV-7": lambda: ["provoked-errors", "success-false-in-200"],
    }[requirement_id]()
    return [f"{requirement_id}/{clause}" for clause in named]


def cases(*requirement_ids: str, where: Callable[[Case], bool] = lambda case: True) -> list[Any]:
    """The names of the cases ``where`` selects, as parameters marked with ``requirement_ids`` and their clauses."""
    return [
        pytest.param(
            name,
            id=name,
            marks=[
                *_marks(name, requirement_ids),
                pytest.mark.clause(*(c for rid in requirement_ids for c in clauses_of(name, rid))),
            ],
        )
        for name, case in CASES.items()
        if where(case)
    ]


def _marks(name: str, requirement_ids: tuple[str, ...]) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.requirement(*requirement_ids)]
    if name == "rate-limited":  # from one address (single-source) it spends the login window: after every login
        marks.append(pytest.mark.exhausts_limit("login"))
    return marks


@pytest.fixture(scope="module")
def provoked(api, profile, target, request) -> Provoked:
    return Provoked(Kit(api, profile, target, request))


@pytest.mark.parametrize(
    "name",
    cases("ENV-1", where=lambda case: not case.framework) + cases("ENV-1", "ENV-2", where=lambda case: case.framework),
)
def test_error_is_answered_with_the_envelope(provoked, name):
    exchange = provoked(name)
    if exchange.response.status < 400:
        raise NotApplicable(f"answered {exchange.response.status}, not an error", blocked_by=("ENV-3", "ENV-7"))
    if CASES[name].framework:
        framework_error_is_envelope(exchange)
    else:
        envelope.error_body_is_envelope(exchange)


@pytest.mark.parametrize("name", cases("ENV-3"))
def test_error_has_the_status_and_code_of_the_table(provoked, profile, name):
    exchange, case = provoked(name), CASES[name]
    if envelope.reports_failure_as_success(exchange):
        raise NotApplicable("a failure answered with 2xx", blocked_by="ENV-7")
    envelope.status_matches_code(exchange, profile, expected_code=case.code)
    if case.code == "METHOD_NOT_ALLOWED":
        method_not_allowed_names_allowed(exchange)


@pytest.mark.parametrize("name", cases("ENV-4", where=lambda case: case.missing))
def test_missing_resource_names_resource_and_identifier(provoked, name):
    exchange = provoked(name)
    identifier = exchange.request.url.rstrip("/").rsplit("/", 1)[-1]
    envelope.not_found_has_context(exchange, identifier=identifier)


@pytest.mark.parametrize("name", cases("ENV-5", where=lambda case: case.offending_input is not None))
def test_validation_error_names_the_offending_input(provoked, name):
    envelope.validation_error_names_field(provoked(name), CASES[name].offending_input)


@pytest.mark.parametrize("name", cases("ENV-6", where=lambda case: case.code == "INTERNAL_ERROR"))
def test_server_error_leaks_no_internals(provoked, name):
    exchange = provoked(name)
    if exchange.response.status < 500:
        raise NotApplicable(f"answered {exchange.response.status}, not a server error", blocked_by="ENV-3")
    envelope.server_error_leaks_nothing(exchange)


@pytest.mark.parametrize("name", cases("ENV-7"))
def test_failure_is_not_reported_as_success(provoked, name):
    exchange = provoked(name)
    if 300 <= exchange.response.status < 400:
        raise NotApplicable(f"answered {exchange.response.status}", blocked_by="ENV-3")
    if exchange.response.status < 300:
        envelope.failure_not_reported_as_success(exchange)
