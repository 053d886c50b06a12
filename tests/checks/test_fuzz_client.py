"""The extreme pass's transport (conformance.fuzz.client.ProbeSender) over an in-process stand-in for the SUT."""

from __future__ import annotations

import json

import httpx
import pytest

from conformance import profile as profiles
from conformance.actors.accounts import Account
from conformance.fuzz.checks import Judgement
from conformance.fuzz.client import ProbeSender, Safety
from conformance.fuzz.extremes import Probe
from conformance.wire.client import ApiClient, ClientTimeout

pytestmark = pytest.mark.filterwarnings("ignore::conformance.fuzz.checks.FuzzFinding")

HEADERS = {
    "content-type": "application/json",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-debug-jwt-decodes": "1",
}


def answer(request: httpx.Request, status: int, body: dict | None = None, *, headers=True) -> httpx.Response:
    rid = "rid-1"
    if body is None:
        body = {"success": False, "error": {"message": "x", "code": "VALIDATION_ERROR"}, "request_id": rid}
    return httpx.Response(status, json=body, headers={**(HEADERS if headers else {}), "x-request-id": rid})


class StandIn:
    """Answers like the SUT would; records the bearer token of every request."""

    def __init__(self, route):
        self.route = route
        self.tokens: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.tokens.append((request.url.path, request.headers.get("authorization", "")))
        if request.url.path == "/api/auth/login":
            return answer(request, 200, {"access_token": f"fresh-{len(self.tokens)}", "token_type": "bearer"})
        return self.route(request)


@pytest.fixture
def profile():
    return profiles.load()


def safety(profile, *, source="127.0.0.201") -> Safety:
    return Safety(
        base_url="http://sut",
        source=source,
        profile=profile,
        tokens={"logout": "sacrificial"},
        default_token="ordinary",
        email_domain="example.com",
        email_fields=frozenset({"email"}),
        sacrificial=Account("hlc-x-2@example.com", "Pw-123456789ab", "X", "1"),
    )


def probe(
    kind="int-2p63",
    *,
    operation="list_patients",
    method="GET",
    target="/api/patients/?skip=9223372036854775808",
    field="skip",
    location="query",
    unjudged=frozenset(),
) -> Probe:
    return Probe(f"{method} /api/x", operation, kind, field, location, method, target, (), None, unjudged)


def sender(profile, stand_in, **kwargs) -> ProbeSender:
    api = ApiClient("http://sut", profile, transport=httpx.MockTransport(stand_in))
    return ProbeSender(safety(profile, **kwargs), Judgement(profile), api)


def test_a_5xx_for_an_extreme_value_names_operation_field_and_kind(profile):
    send = sender(profile, StandIn(lambda r: answer(r, 500)))
    violation = send.send(probe())
    assert violation is not None and violation.requirement == "API-1"
    assert (
        "int-2p63 (2**63, one past the 64-bit signed maximum) in query field 'skip' of GET /api/x" in violation.expected
    )
    assert violation.actual.startswith("5xx: 500")
    assert "Reproduce: curl" in str(violation) and "ordinary" not in str(violation), "the token is masked"


def test_missing_headers_on_an_error_is_api1_too(profile):
    violation = sender(profile, StandIn(lambda r: answer(r, 422, headers=False))).send(probe())
    assert violation is not None and "HDR-1" in violation.actual


def test_a_conforming_refusal_passes(profile):
    assert sender(profile, StandIn(lambda r: answer(r, 422))).send(probe()) is None


def test_an_over_long_url_refused_by_the_http_server_is_not_judged(profile):
    bare = StandIn(lambda r: httpx.Response(414, text="URI Too Long"))
    assert sender(profile, bare).send(probe("long-string", unjudged=frozenset({414, 431}))) is None
    assert sender(profile, bare).send(probe("long-string")) is not None, "only where the probe says so"


def test_no_answer_at_all_is_an_api1_violation(profile):
    def reset(request):
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    violation = sender(profile, reset).send(probe())
    assert violation is not None and violation.actual.startswith("no answer: ")


def test_a_probe_the_client_gave_up_on_is_inconclusive_not_a_failure(profile):
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ClientTimeout):
        sender(profile, slow).send(probe())


def test_session_ending_probes_get_a_session_of_their_own_renewed_after_each_success(profile):
    stand_in = StandIn(lambda r: answer(r, 200, {"success": True}))
    send = sender(profile, stand_in)
    logout = probe(
        "nul-char", operation="logout", method="POST", target="/api/auth/logout", field="refresh_token", location="json"
    )
    for _ in range(2):
        assert send.send(logout) is None
    assert send.send(probe()) is None
    used = [token for path, token in stand_in.tokens if path != "/api/auth/login"]
    assert used[0] != used[1], "a fresh session after the logout that succeeded"
    assert all(t.startswith("Bearer fresh-") for t in used[:2]), "never the sacrificial session the fuzzer uses"
    assert used[2] == "Bearer ordinary"


def test_without_an_own_source_address_a_pass_spends_a_share_of_each_rate_limit(profile):
    send = sender(profile, StandIn(lambda r: answer(r, 401)), source=None)
    login = probe(
        "nul-char", operation="login", method="POST", target="/api/auth/login", field="username", location="form"
    )
    for _ in range(30):
        send.send(login)
    share = int(profile.rate_limits.login.count * 0.2)
    assert send.spending.sent[login.label] == share
    assert send.spending.held_back[login.label] == 30 - share
    assert json.dumps(dict(send.spending.sent))  # what the suite records


# -- path parameters from the run's own resources (conformance.fuzz.resources) ---------------------------

RESOURCES_DOCUMENT = {
    "openapi": "3.0.3",
    "paths": {
        "/api/patients/": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string", "minLength": 2}},
                            }
                        }
                    }
                }
            }
        },
        "/api/patients/{id}": {
            "get": {"parameters": [{"name": "id", "in": "path", "required": True}]},
            "delete": {"parameters": [{"name": "id", "in": "path", "required": True}]},
        },
        "/api/patients/{patient_id}/notes": {
            "post": {
                "parameters": [{"name": "patient_id", "in": "path", "required": True}],
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {"text": {"type": "string"}}}}
                    }
                },
            }
        },
        "/api/patients/{patient_id}/notes/{note_id}": {
            "get": {
                "parameters": [
                    {"name": "patient_id", "in": "path", "required": True},
                    {"name": "note_id", "in": "path", "required": True},
                ]
            }
        },
        "/api/orphans/{orphan_id}": {"get": {"parameters": [{"name": "orphan_id", "in": "path", "required": True}]}},
    },
}


def own_resources(profile, answers):
    """PathValues over RESOURCES_DOCUMENT; ``answers(probe)`` gives (status, body) for each creation sent."""
    from conformance.fuzz.client import own_resources as make

    sent: list = []

    def route(request: httpx.Request) -> httpx.Response:
        sent.append(
            (
                request.method,
                request.url.raw_path.decode(),
                request.headers.get("authorization"),
                json.loads(request.content or b"null"),
            )
        )
        status, body = answers(request)
        return httpx.Response(status, json=body)

    api = ApiClient("http://sut", profile, transport=httpx.MockTransport(route))
    return make(safety(profile), RESOURCES_DOCUMENT, api), sent


def test_a_path_parameter_gets_a_resource_the_fuzzer_created_with_its_own_session(profile):
    numbers = iter(range(1, 100))
    values, sent = own_resources(profile, lambda r: (201, {"success": True, "data": {"id": f"p{next(numbers)}"}}))
    assert values.for_path("/api/patients/{id}") == {"id": "p1"}
    assert values.for_path("/api/patients/{id}") == {"id": "p1"}, "created once"
    assert sent == [("POST", "/api/patients/", "Bearer ordinary", {"name": "aa"})], "a minimal valid body"


def test_nested_parameters_are_created_under_their_parent(profile):
    def answers(request):
        return 201, ({"id": "n1"} if "notes" in request.url.path else {"id": "p1", "patient_id": "P-0001"})

    values, sent = own_resources(profile, answers)
    assert values.for_path("/api/patients/{patient_id}/notes/{note_id}") == {"patient_id": "P-0001", "note_id": "n1"}
    assert [path for _, path, _, _ in sent] == ["/api/patients/", "/api/patients/P-0001/notes"]


def test_a_deleted_resource_is_replaced_and_a_refused_creation_leaves_the_generated_values(profile):
    numbers = iter(range(1, 100))
    values, sent = own_resources(profile, lambda r: (201, {"id": f"p{next(numbers)}"}))
    first = values.for_path("/api/patients/{id}")
    values.spent("/api/patients/{id}", first)
    assert values.for_path("/api/patients/{id}") == {"id": "p2"}
    assert values.for_path("/api/orphans/{orphan_id}") == {}, "no documented collection to create it in"
    refused, sent = own_resources(profile, lambda r: (422, {"success": False}))
    assert refused.for_path("/api/patients/{id}") == {} and refused.for_path("/api/patients/{id}") == {}
    assert len(sent) == 1, "a refusal is not retried"


def test_creations_are_bounded(profile):
    numbers = iter(range(1, 1000))
    values, sent = own_resources(profile, lambda r: (201, {"id": f"p{next(numbers)}"}))
    for _ in range(100):
        values.spent("/api/patients/{id}", values.for_path("/api/patients/{id}"))
    assert len(sent) == values.max_creations


def test_no_resource_is_created_through_a_rate_limited_operation_shared_with_the_other_suites(profile):
    from conformance.fuzz.client import own_resources as make

    document = {
        "openapi": "3.0.3",
        "paths": {
            "/api/auth/register": {"post": {"x-conformance-operation": "register"}},
            "/api/auth/register/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": True}]}},
        },
    }
    sent = []
    created = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(201, json={"id": "x"}))
    api = ApiClient("http://sut", profile, transport=created)
    assert make(safety(profile, source=None), document, api).for_path("/api/auth/register/{id}") == {}
    assert not sent
    own_address = make(safety(profile), document, api)
    assert own_address.for_path("/api/auth/register/{id}") == {"id": "x"}, "from its own address"


def test_the_fuzzers_requests_from_the_runs_address_count_into_the_runs_pacer(profile, monkeypatch):
    """From one address the fuzzer's logins spend the same window as the suites': unpaced (its rate budget caps
    them), but counted, so the next paced login waits instead of meeting a 429."""
    from conformance.fuzz.client import CaseSender
    from conformance.wire import pacing

    waits: list[float] = []
    run_pacer = pacing.Pacer(profile, sleep=waits.append)
    monkeypatch.setattr(pacing, "RUN_PACER", run_pacer)
    sender = CaseSender(safety(profile, source=None), Judgement(profile))
    with pytest.raises(httpx.TransportError):
        sender.client.post("http://127.0.0.1:9" + profile.operation("login").path)  # nothing listens: refused
    sender.client.close()
    assert waits == [] and run_pacer.sent["login"] == 1
    assert run_pacer.by_test[""] == {"login+burst": 1}
