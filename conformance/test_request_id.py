"""Request ids (RID-1 .. RID-3): one id per request, in the header and in the error body.

The 401, 422 and 500 samples of RID-1 are the run-wide ones of
:mod:`conformance.actors.provoked` (the 422 is a ``register`` body without an
email, the 500 needs a privileged login): a request id belongs to a response
class, not to the test that provoked it, and from one address each
``register`` or ``login`` costs 12 s.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.actors.provoked import registry
from conformance.checks import request_id
from conformance.outcomes import Inconclusive, NotApplicable, NotRun

#: Requests of the uniqueness sample, and how many are in flight at once (a race in an id counter needs overlap).
UNIQUENESS_SAMPLE = 48
UNIQUENESS_CONCURRENCY = 8


@pytest.fixture(scope="module")
def header_name(profile) -> str:
    return profile.headers.request_id


def unknown_path() -> str:
    return f"/api/hlc-no-such-route-{uuid.uuid4().hex[:8]}"


def shared(kind: str):
    """A response of the run-wide provocations (the accounts fixture is asked for only here)."""

    def provoke(api, profile, request):
        accounts = request.getfixturevalue("accounts")
        return registry(api, profile, request.getfixturevalue("target"), accounts)(kind)

    return provoke


def user_token(request) -> str:
    return request.getfixturevalue("user").access_token


# Accounts are asked for only where needed, so a run without an OTP source still judges the rest.
RESPONSES = {
    "health-200": lambda api, profile, request: api.call("health"),
    "me-200": lambda api, profile, request: api.call("me", token=user_token(request)),
    "unknown-route-404": lambda api, profile, request: api.request("GET", unknown_path()),
    "no-token-401": shared("no-token-401"),
    "forbidden-403": lambda api, profile, request: api.call("list_users", token=user_token(request)),
    "wrong-method-405": lambda api, profile, request: api.request("DELETE", profile.operation("health").path),
    "validation-422": shared("invalid-body-422"),
    "unhandled-500": shared("unhandled-500"),
}


def response_kinds() -> list:
    """RESPONSES' kinds as parameters, each marked with the RID-1 clauses of its status class."""
    by_class = {
        "2": ("RID-1/success",),
        "4": ("RID-1/client-error", "RID-1/matches-body"),
        "5": ("RID-1/server-error", "RID-1/matches-body"),
    }
    return [pytest.param(kind, marks=pytest.mark.clause(*by_class[kind.rsplit("-", 1)[1][0]])) for kind in RESPONSES]


@pytest.mark.requirement("RID-1")
@pytest.mark.parametrize("kind", response_kinds())
def test_response_carries_the_request_id_of_its_body(api, profile, request, header_name, kind):
    if kind == "unhandled-500" and profile.is_production:
        raise NotRun("error_trigger is absent from production targets", option="a development target")
    exchange = RESPONSES[kind](api, profile, request)
    request_id.request_id_matches_header(exchange, header_name=header_name)


WELL_FORMED = {
    "uuid": lambda: str(uuid.uuid4()),
    "hex": lambda: uuid.uuid4().hex,
}
MALFORMED = {
    "too-long": lambda: "a" * 1024,
    "spaces": lambda: "request id with spaces " + uuid.uuid4().hex[:6],
    "markup": lambda: f"<script>alert('{uuid.uuid4().hex[:6]}')</script>",
    "injection": lambda: f'{uuid.uuid4().hex[:6]}"; DROP TABLE users;--',
}


@pytest.mark.requirement("RID-2")
@pytest.mark.parametrize("where", ["success", pytest.param("error", marks=pytest.mark.clause("RID-2/on-errors"))])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(v, id=f"well-formed-{k}", marks=pytest.mark.clause("RID-2/propagated"))
        for k, v in WELL_FORMED.items()
    ]
    + [pytest.param(v, id=f"malformed-{k}", marks=pytest.mark.clause("RID-2/replaced")) for k, v in MALFORMED.items()],
)
def test_incoming_request_id_is_propagated_or_replaced(api, header_name, value, where):
    sent = value()
    headers = {header_name: sent}
    exchange = (
        api.call("health", headers=headers)
        if where == "success"
        else api.request("GET", unknown_path(), headers=headers)
    )
    request_id.incoming_request_id_handled(exchange, sent, header_name=header_name)


@pytest.mark.requirement("RID-2")
@pytest.mark.parametrize("where", ["success", pytest.param("error", marks=pytest.mark.clause("RID-2/on-errors"))])
@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("at-length-limit", marks=pytest.mark.clause("RID-2/propagated")),
        pytest.param("just-past-length-limit", marks=pytest.mark.clause("RID-2/replaced")),
        pytest.param("comma-joined", marks=pytest.mark.clause("RID-2/replaced")),
    ],
)
def test_incoming_request_id_at_the_edge_of_well_formed(api, profile, header_name, kind, where):
    """Boundary values: an id of the longest length the profile declares is kept, one character more is replaced
    (the far-past 1024 characters above pass a SUT that checks against a limit of 1000)."""
    sent, well_formed = request_id.boundary_ids(profile.limits.request_id_max_length)[kind]
    headers = {header_name: sent}
    if where == "success":
        exchange = api.call("health", headers=headers)
    else:
        exchange = api.request("GET", unknown_path(), headers=headers)
    request_id.incoming_request_id_handled(exchange, sent, header_name=header_name, well_formed=well_formed)


@pytest.mark.requirement("RID-3")
@pytest.mark.clause("RID-3/success-responses", "RID-3/error-responses", "RID-3/concurrent")
def test_generated_request_ids_are_unique(api, header_name):
    def one(n: int):
        return api.call("health") if n % 2 else api.request("GET", unknown_path())

    with ThreadPoolExecutor(max_workers=UNIQUENESS_CONCURRENCY) as pool:
        exchanges = list(pool.map(one, range(UNIQUENESS_SAMPLE), timeout=120))
    try:
        request_id.request_ids_unique(exchanges, header_name=header_name)
    except NotApplicable as why:
        raise Inconclusive(f"the SUT generated too few request ids to compare ({why}); RID-1 says why") from None
