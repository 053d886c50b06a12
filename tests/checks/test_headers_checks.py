"""Unit tests of the security-header and CORS checks on recorded exchanges."""

from __future__ import annotations

import pytest

from conformance.checks import headers
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

GOOD = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cache-Control": "no-store",
    "Content-Type": "application/json",
}
ENVELOPE = {"success": False, "error": {"message": "nope", "code": "BAD_REQUEST"}, "request_id": "r1"}
ORIGIN = "http://localhost:3000"


def exchange(headers_: dict, *, path="/api/users/me", status=200, method="GET", request_headers=None, body=b"{}"):
    return Exchange.build(
        method,
        f"http://127.0.0.1:8000{path}",
        status,
        response_headers=headers_,
        request_headers=request_headers,
        response_body=body,
    )


def without(name: str, **changes: str) -> dict:
    result = {k: v for k, v in GOOD.items() if k.lower() != name.lower()}
    result.update({k.replace("_", "-"): v for k, v in changes.items()})
    return result


@pytest.mark.parametrize("status", [200, 307, 401, 404, 405, 413, 500])
def test_all_headers_pass_on_every_status(status):
    headers.security_headers_present(exchange(GOOD, status=status), hsts_required=True, api_prefix="/api/")


@pytest.mark.parametrize(
    ("missing", "phrase"),
    [
        ("X-Content-Type-Options", "X-Content-Type-Options"),
        ("Content-Security-Policy", "Content-Security-Policy is missing"),
        ("Referrer-Policy", "Referrer-Policy"),
        ("Cache-Control", "Cache-Control"),
    ],
)
def test_missing_header_is_an_hdr1_violation(missing, phrase):
    with pytest.raises(Violation) as caught:
        headers.security_headers_present(exchange(without(missing)), hsts_required=False, api_prefix="/api/")
    assert caught.value.requirement == "HDR-1"
    assert phrase in caught.value.actual


def test_frame_ancestors_none_replaces_x_frame_options():
    headers.security_headers_present(exchange(without("X-Frame-Options")), hsts_required=True, api_prefix="/api/")


def test_framing_allowed_by_both_is_a_violation():
    bad = without(
        "X-Frame-Options",
        **{"X-Frame-Options": "SAMEORIGIN", "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'"},
    )
    with pytest.raises(Violation, match="framing is not denied"):
        headers.security_headers_present(exchange(bad), hsts_required=False, api_prefix="/api/")


def test_csp_without_frame_ancestors_is_a_violation():
    bad = without("Content-Security-Policy", **{"Content-Security-Policy": "default-src 'self'"})
    with pytest.raises(Violation, match="lacks frame-ancestors"):
        headers.security_headers_present(exchange(bad), hsts_required=False, api_prefix="/api/")


def test_unsafe_referrer_policy_is_a_violation():
    with pytest.raises(Violation, match="unsafe-url"):
        headers.security_headers_present(
            exchange(without("Referrer-Policy", Referrer_Policy="unsafe-url")), hsts_required=False, api_prefix="/api/"
        )


def test_last_referrer_policy_token_is_the_effective_one():
    fallback = without("Referrer-Policy", Referrer_Policy="no-referrer, strict-origin-when-cross-origin")
    headers.security_headers_present(exchange(fallback), hsts_required=False, api_prefix="/api/")


def test_cache_control_only_required_under_api():
    headers.security_headers_present(
        exchange(without("Cache-Control"), path="/health"), hsts_required=False, api_prefix="/api/"
    )
    with pytest.raises(NotApplicable):
        headers.cache_control_no_store(exchange(without("Cache-Control"), path="/health"), prefix="/api/")
    with pytest.raises(Violation, match="private"):
        headers.cache_control_no_store(
            exchange(without("Cache-Control", Cache_Control="private, max-age=60")), prefix="/api/"
        )
    headers.cache_control_no_store(
        exchange(without("Cache-Control", Cache_Control="no-cache, no-store")), prefix="/api/"
    )


def test_hsts_missing_fails_only_when_required():
    no_hsts = exchange(without("Strict-Transport-Security"))
    headers.security_headers_present(no_hsts, hsts_required=False, api_prefix="/api/")
    with pytest.raises(Violation, match="Strict-Transport-Security is missing"):
        headers.security_headers_present(no_hsts, hsts_required=True, api_prefix="/api/")
    with pytest.raises(Violation):
        headers.hsts_present(no_hsts)


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("max-age=3600; includeSubDomains", "below"),
        ("max-age=31536000", "includeSubDomains"),
        ("includeSubDomains", "max-age is missing"),
    ],
)
def test_weak_hsts_is_a_violation(value, phrase):
    with pytest.raises(Violation, match=phrase):
        headers.hsts_present(exchange(without("Strict-Transport-Security", Strict_Transport_Security=value)))


def test_strong_hsts_passes():
    headers.hsts_present(
        exchange(
            without(
                "Strict-Transport-Security", Strict_Transport_Security='max-age="63072000"; includesubdomains; preload'
            )
        )
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"X-Powered-By": "Express"},
        {"X-XSS-Protection": "1; mode=block"},
        {"Expect-CT": "max-age=0"},
        {"Feature-Policy": "camera 'none'"},
        {"Public-Key-Pins": 'pin-sha256="x"'},
        {"Server": "nginx/1.25.3"},
        {"Server": "Apache 2.4"},
    ],
)
def test_fingerprinting_headers_are_hdr2_violations(extra):
    with pytest.raises(Violation) as caught:
        headers.no_fingerprinting_headers(exchange({**GOOD, **extra}))
    assert caught.value.requirement == "HDR-2"


@pytest.mark.parametrize("server", [None, "uvicorn", "cloudflare"])
def test_server_without_version_passes(server):
    headers.no_fingerprinting_headers(exchange({**GOOD, **({"Server": server} if server else {})}))


def test_observatory_score_rewards_headers_and_punishes_their_absence():
    perfect = headers.observatory_score(exchange(GOOD))
    bare = headers.observatory_score(exchange({"Content-Type": "application/json"}))
    assert perfect > 100
    assert bare == 100 - 25 - 20 - 5 - 20
    wildcard = headers.observatory_score(
        exchange({"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"})
    )
    assert wildcard == 0


def preflight(origin: str, status: int, response_headers: dict, body=b""):
    return exchange(
        {**GOOD, **response_headers},
        method="OPTIONS",
        status=status,
        body=body,
        request_headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )


def test_allowed_origin_echoed_with_credentials_passes():
    cors = {"Access-Control-Allow-Origin": ORIGIN, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
    headers.cors_allows_only(preflight(ORIGIN, 200, cors), origin=ORIGIN, allowed=True)
    headers.cors_allows_only(
        exchange({**GOOD, **cors}, request_headers={"Origin": ORIGIN}), origin=ORIGIN, allowed=True
    )


@pytest.mark.parametrize(
    ("cors", "phrase"),
    [
        ({"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}, "'\\*'"),
        ({"Access-Control-Allow-Origin": ORIGIN}, "Credentials is missing"),
        ({}, "Allow-Origin is missing"),
    ],
)
def test_allowed_origin_without_echo_or_credentials_is_hdr3_violation(cors, phrase):
    with pytest.raises(Violation, match=phrase) as caught:
        headers.cors_allows_only(preflight(ORIGIN, 200, cors), origin=ORIGIN, allowed=True)
    assert caught.value.requirement == "HDR-3"


def test_refused_preflight_of_allowed_origin_is_a_violation():
    cors = {"Access-Control-Allow-Origin": ORIGIN, "Access-Control-Allow-Credentials": "true"}
    with pytest.raises(Violation, match="refused with 400"):
        headers.cors_allows_only(preflight(ORIGIN, 400, cors, body=ENVELOPE), origin=ORIGIN, allowed=True)


def test_disallowed_origin_without_grant_passes():
    evil = "https://evil.example"
    headers.cors_allows_only(preflight(evil, 200, {}), origin=evil, allowed=False)
    headers.cors_allows_only(preflight(evil, 400, {}, body=ENVELOPE), origin=evil, allowed=False)
    headers.cors_allows_only(exchange(GOOD, request_headers={"Origin": evil}), origin=evil, allowed=False)


@pytest.mark.parametrize("granted", ["https://evil.example", "*"])
def test_disallowed_origin_with_any_grant_is_a_violation(granted):
    evil = "https://evil.example"
    with pytest.raises(Violation, match="disallowed origin got"):
        headers.cors_allows_only(
            preflight(evil, 200, {"Access-Control-Allow-Origin": granted}), origin=evil, allowed=False
        )


def test_refused_preflight_with_plain_text_body_is_a_violation():
    evil = "https://evil.example"
    refused = preflight(evil, 400, {"Content-Type": "text/plain"}, body=b"Disallowed CORS origin")
    with pytest.raises(Violation, match="not the error envelope"):
        headers.cors_allows_only(refused, origin=evil, allowed=False)


# -- look-alike origins (HDR-3/look-alike) ----------------------------------------------------


def test_look_alikes_of_an_origin_with_a_port_are_each_another_origin():
    derived = headers.look_alike_origins("http://localhost:3000")
    assert derived == {
        "string-extended": "http://localhost:3000.evil.test",
        "host-extended": "http://localhost.evil.test:3000",
        "host-prefixed": "http://evillocalhost:3000",
        "subdomain": "http://evil.localhost:3000",
        "other-scheme": "https://localhost:3000",
        "other-port": "http://localhost:3001",
        "port-extended": "http://localhost:30001",
        "null": "null",
    }


def test_look_alikes_of_a_default_port_origin_defeat_prefix_and_suffix_matching():
    derived = headers.look_alike_origins("https://allowed.example.com")
    assert derived["string-extended"] == "https://allowed.example.com.evil.test"
    assert derived["host-prefixed"] == "https://evilallowed.example.com"
    assert derived["other-scheme"] == "http://allowed.example.com"
    assert set(derived) == set(headers.LOOK_ALIKE_KINDS)
    assert "https://allowed.example.com" not in derived.values()


def test_a_look_alike_granted_is_a_violation():
    exchange = Exchange.build(
        "GET",
        "http://sut/health",
        200,
        request_headers={"origin": "http://localhost:30001"},
        response_headers={
            "access-control-allow-origin": "http://localhost:30001",
            "access-control-allow-credentials": "true",
        },
    )
    with pytest.raises(Violation, match="a disallowed origin got Access-Control-Allow-Origin"):
        headers.cors_allows_only(exchange, origin="http://localhost:30001", allowed=False)
