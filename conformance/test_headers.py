"""HDR-1..3: security headers on every class of response, no fingerprinting headers, CORS.

Each response class (200, 201, 307, 401, 403, 404, 405, 413, 422, 500 and
both kinds of preflight) is sampled once per module and judged by every
header check, because a SUT that adds headers in a handler or a late
middleware typically misses exactly the error responses. The 500 sample
needs an admin account (``error_trigger``): without one that case is *not
run*.

The samples other suites judge too (the 201 registration, the 401 without a
token, the 413 and 422 of ``register``, the 500) are the run-wide ones of
:mod:`conformance.actors.provoked`: a header belongs to a response class, not
to the test that provoked it, and from one address each ``register`` or
``login`` costs 12 s. The 201 is the registration of the run's unverified
account, so the sample costs no account of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from conformance.actors.provoked import registry
from conformance.checks import headers
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation, should_clause

#: Methods tried, in order, for a method the SUT does not route on a path.
UNROUTED_METHODS = ("DELETE", "PATCH", "PUT", "POST")


class Samples:
    """One response per class, made on first use and kept for the module."""

    def __init__(self, api, accounts, user, profile, target) -> None:
        self.api, self.accounts, self.user, self.profile = api, accounts, user, profile
        self.shared = registry(api, profile, target, accounts)
        self._made: dict[str, Exchange] = {}

    def get(self, name: str) -> Exchange:
        if name in SHARED:
            return self.shared(SHARED[name])  # once per run, recorded into this test's report
        if name not in self._made:
            self._made[name] = MAKERS[name](self)
        return self._made[name]

    # -- makers, one per response class ---------------------------------------------
    def health(self) -> Exchange:
        return self.api.call("health")

    def me(self) -> Exchange:
        return self.api.call(self.profile.guard_classes["user"], token=self.user.access_token)

    def redirect(self) -> Exchange:
        path = self.profile.operation("list_patients").path
        if not path.endswith("/") or path == "/":
            pytest.skip(f"the profile's list_patients path {path} has no trailing slash to redirect to")
        return self.api.request("GET", path.rstrip("/"), token=self.user.access_token)

    def forbidden(self) -> Exchange:
        return self.api.call(self.profile.guard_classes["role"], token=self.user.access_token)

    def unknown_api_route(self) -> Exchange:
        return self.api.request("GET", f"{self.profile.api_prefix}hlc-no-such-route-{secrets.token_hex(4)}")

    def unknown_route(self) -> Exchange:
        return self.api.request("GET", f"/hlc-no-such-route-{secrets.token_hex(4)}")

    def method_not_allowed(self) -> Exchange:
        path = self.profile.operation(self.profile.guard_classes["user"]).path
        routed = {op.method for op in self.profile.operations.values() if op.path == path}
        method = next(m for m in UNROUTED_METHODS if m not in routed)
        return self.api.request(method, path, token=self.user.access_token)

    def preflight_allowed(self) -> Exchange:
        return self._preflight(self.profile.cors.allowed_origin)

    def preflight_disallowed(self) -> Exchange:
        return self._preflight(self.profile.cors.disallowed_origin)

    def preflight_from(self, origin: str) -> Exchange:
        """A preflight of the user-guarded operation from ``origin`` (not kept: each origin is its own)."""
        return self._preflight(origin)

    def _preflight(self, origin: str) -> Exchange:
        path = self.profile.operation(self.profile.guard_classes["user"]).path
        return self.api.request(
            "OPTIONS",
            path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )


#: The response classes of the run-wide provocations (:mod:`conformance.actors.provoked`), by kind.
SHARED = {
    "201-register": "registered-201",
    "401-no-token": "no-token-401",
    "413-too-large": "oversized-413",
    "422-invalid-body": "invalid-body-422",
    "500-unhandled-error": "unhandled-500",
}
MAKERS: dict[str, Callable[[Samples], Exchange]] = {
    "200-health": Samples.health,
    "200-me": Samples.me,
    "307-redirect": Samples.redirect,
    "403-wrong-role": Samples.forbidden,
    "404-unknown-api-route": Samples.unknown_api_route,
    "404-unknown-route": Samples.unknown_route,
    "405-wrong-method": Samples.method_not_allowed,
    "preflight-allowed": Samples.preflight_allowed,
    "preflight-disallowed": Samples.preflight_disallowed,
}
#: Every response class, in the order of the parameters.
RESPONSE_CLASSES = sorted([*MAKERS, *SHARED], key=lambda name: (name[0] == "p", name))
#: The HDR-1 clause of each response class, by its status class (the first digit) or as a preflight.
HDR1_CLAUSES = {"2": "success", "3": "redirect", "4": "client-error", "5": "server-error", "p": "preflight"}


def response_classes() -> list:
    """MAKERS' names as parameters, each marked with its HDR-1 clause."""
    return [pytest.param(name, marks=pytest.mark.clause(f"HDR-1/{HDR1_CLAUSES[name[0]]}")) for name in RESPONSE_CLASSES]


@pytest.fixture(scope="module")
def samples(api, accounts, user, profile, target) -> Samples:
    return Samples(api, accounts, user, profile, target)


@pytest.mark.requirement("HDR-1")
@pytest.mark.parametrize("response_class", response_classes())
def test_security_headers_on_every_response_class(samples, profile, response_class, conformance_note):
    """HSTS is a MUST on https and production targets, a SHOULD clause of HDR-1 elsewhere (a warning)."""
    exchange = samples.get(response_class)
    conformance_note(f"observatory score {headers.observatory_score(exchange)}")
    hsts_required = profile.hsts_required(exchange.request.url)
    problems: list[Violation] = []
    for check in (
        lambda: headers.security_headers_present(exchange, hsts_required=hsts_required, api_prefix=profile.api_prefix),
        lambda: None if hsts_required else should_clause(lambda: headers.hsts_present(exchange)),
    ):
        try:
            check()
        except Violation as violation:
            problems.append(violation)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ExceptionGroup(f"HDR-1: {len(problems)} problems with {exchange.label}", problems)


@pytest.mark.requirement("HDR-2")
@pytest.mark.clause("HDR-2/fingerprinting", "HDR-2/deprecated")
@pytest.mark.parametrize(
    "response_class",
    [
        "200-health",
        "200-me",
        "401-no-token",
        "404-unknown-route",
        "405-wrong-method",
        "500-unhandled-error",
        "preflight-allowed",
    ],
)
def test_no_fingerprinting_headers(samples, response_class):
    headers.no_fingerprinting_headers(samples.get(response_class))


@pytest.mark.requirement("HDR-3")
@pytest.mark.clause("HDR-3/preflight-allowed")
def test_preflight_from_allowed_origin_is_echoed_with_credentials(samples, profile):
    headers.cors_allows_only(samples.get("preflight-allowed"), origin=profile.cors.allowed_origin, allowed=True)


@pytest.mark.requirement("HDR-3")
@pytest.mark.clause("HDR-3/preflight-disallowed")
def test_preflight_from_disallowed_origin_gets_no_grant(samples, profile):
    origin = profile.cors.disallowed_origin
    headers.cors_allows_only(samples.get("preflight-disallowed"), origin=origin, allowed=False)


@pytest.mark.requirement("HDR-3")
@pytest.mark.clause("HDR-3/request-allowed")
def test_credentialed_request_from_allowed_origin_is_echoed(api, user, profile):
    origin = profile.cors.allowed_origin
    exchange = api.call(profile.guard_classes["user"], token=user.access_token, headers={"Origin": origin})
    headers.cors_allows_only(exchange, origin=origin, allowed=True)


@pytest.mark.requirement("HDR-3")
@pytest.mark.clause("HDR-3/look-alike")
@pytest.mark.parametrize("kind", headers.LOOK_ALIKE_KINDS)
def test_look_alike_of_the_allowed_origin_gets_no_grant(api, samples, profile, kind):
    """Equivalence classes: an origin that a prefix, suffix, scheme- or port-blind comparison takes for the
    allowed one is another origin, refused on a preflight and on a request alike."""
    allowed = {profile.cors.allowed_origin, *profile.cors.other_allowed_origins}
    origin = headers.look_alike_origins(profile.cors.allowed_origin).get(kind)
    if origin is None or origin in allowed:
        raise NotApplicable(f"no {kind} look-alike of {profile.cors.allowed_origin} that the profile does not allow")
    headers.cors_allows_only(samples.preflight_from(origin), origin=origin, allowed=False)
    headers.cors_allows_only(api.call("health", headers={"Origin": origin}), origin=origin, allowed=False)


@pytest.mark.requirement("HDR-3")
@pytest.mark.clause("HDR-3/request-disallowed")
@pytest.mark.parametrize("authenticated", [False, True], ids=["health", "me"])
def test_request_from_disallowed_origin_gets_no_grant(api, user, profile, authenticated):
    origin = profile.cors.disallowed_origin
    if authenticated:
        exchange = api.call(profile.guard_classes["user"], token=user.access_token, headers={"Origin": origin})
    else:
        exchange = api.call("health", headers={"Origin": origin})
    headers.cors_allows_only(exchange, origin=origin, allowed=False)
