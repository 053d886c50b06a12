"""Recorded exchanges, their curl rendering and secret masking."""

import json

from conformance.exchange import Exchange, Headers, mask_body, to_curl
from conformance.outcomes import Violation, excerpt


def test_headers_are_case_insensitive_and_multi_valued():
    headers = Headers({"X-Request-ID": "a", "Vary": ["Origin", "Accept"]})
    assert headers.get("x-request-id") == "a"
    assert headers.get_all("VARY") == ["Origin", "Accept"]
    assert "x-request-id" in headers and "missing" not in headers


def test_curl_masks_authorization_and_secret_body_fields():
    exchange = Exchange.build(
        "POST",
        "http://127.0.0.1:9/api/auth/login",
        401,
        request_headers={"Authorization": "Bearer eyJsecret", "Content-Type": "application/x-www-form-urlencoded"},
        request_body=b"username=a%40example.com&password=Hunter2-Hunter2",
    )
    curl = to_curl(exchange.request)
    assert "eyJsecret" not in curl and "Hunter2" not in curl
    assert '"authorization: Bearer ${TOKEN}"' in curl
    assert '"username=a%40example.com&password=${PASSWORD}"' in curl
    assert curl.endswith("(set $TOKEN, $PASSWORD first: the run's secrets are masked, never printed)")


def test_json_bodies_are_masked_at_any_depth():
    body = json.dumps({"refresh_token": "r1", "nested": [{"password": "p", "name": "n"}]}).encode()
    masked = json.loads(mask_body(body))
    assert masked == {"refresh_token": "***", "nested": [{"password": "***", "name": "n"}]}


def test_response_excerpt_masks_issued_tokens():
    body = json.dumps({"success": True, "access_token": "a.b.c", "user": {"email": "x@example.com"}}).encode()
    text = excerpt(body)
    assert "a.b.c" not in text and "x@example.com" in text


def test_violation_renders_requirement_expectation_response_and_reproduction():
    exchange = Exchange.build(
        "GET",
        "http://127.0.0.1:9/api/patients/nope",
        404,
        request_headers={"Authorization": "Bearer tok"},
        response_headers={"X-Request-ID": "r-1", "Content-Type": "application/json"},
        response_body={"detail": "Not Found"},
    )
    text = Violation("ENV-1", expected="the §4 envelope", actual="a 'detail' body", exchange=exchange).render()
    lines = text.splitlines()
    assert lines[0].startswith("ENV-1  Every error in the envelope") and "request r-1" in lines[0]
    assert "  Expected: the §4 envelope" in lines
    assert "    x-request-id: r-1" in lines
    assert any(line.startswith("  Reproduce: curl") and "tok" not in line for line in lines)
