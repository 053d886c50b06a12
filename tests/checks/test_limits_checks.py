"""The SIZE-1 and 429 checks on good and bad recorded exchanges."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from conformance.checks import limits
from conformance.exchange import Exchange
from conformance.outcomes import Violation
from conformance.test_limits import chunks_of, oversized_body


def answer(status: int, code: str | None, headers=None) -> Exchange:
    body = (
        {"success": False, "error": {"message": "m", "code": code}, "request_id": "r"} if code else "<html>nope</html>"
    )
    return Exchange.build(
        "POST",
        "http://127.0.0.1:8000/api/auth/login",
        status,
        response_headers={"content-type": "application/json", **(headers or {})},
        response_body=body,
    )


class TestRetryAfter:
    @pytest.mark.parametrize("value", ["0", "42", " 900 ", "Wed, 21 Oct 2015 07:28:00 GMT"])
    def test_valid_values_parse(self, value):
        assert limits.retry_after_seconds(value) is not None

    @pytest.mark.parametrize("value", ["", "-5", "1.5", "soon", "42s", "٣"])
    def test_invalid_values_do_not_parse(self, value):
        assert limits.retry_after_seconds(value) is None

    def test_duplicate_headers_fail(self):
        exchange = answer(429, "RATE_LIMIT_EXCEEDED", headers={"Retry-After": ["10", "20"]})
        with pytest.raises(Violation):
            limits.retry_after_is_valid(exchange, "RATE-1")


class TestRateLimited:
    def test_429_with_code_and_retry_after_passes(self):
        limits.rate_limited(answer(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "17"}))

    def test_http_date_retry_after_passes(self):
        limits.rate_limited(answer(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))

    def test_missing_retry_after_fails(self):
        with pytest.raises(Violation, match="no Retry-After header") as failure:
            limits.rate_limited(answer(429, "RATE_LIMIT_EXCEEDED"))
        assert failure.value.requirement == "RATE-1"

    def test_garbage_retry_after_fails(self):
        with pytest.raises(Violation, match="Retry-After: later"):
            limits.rate_limited(answer(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "later"}))

    def test_wrong_code_fails(self):
        with pytest.raises(Violation, match="RATE_LIMIT_EXCEEDED"):
            limits.rate_limited(answer(429, "TOO_MANY", {"Retry-After": "1"}))

    def test_not_limited_fails(self):
        with pytest.raises(Violation, match="401 with code INVALID_CREDENTIALS"):
            limits.rate_limited(answer(401, "INVALID_CREDENTIALS"))

    def test_every_missing_label_is_named(self):
        bare = Exchange.build(
            "POST",
            "http://127.0.0.1:8000/api/auth/login",
            429,
            response_headers={"content-type": "application/json"},
            response_body={"error": "Rate limit exceeded: 5 per 1 minute"},
        )
        with pytest.raises(Violation) as failure:
            limits.rate_limited(bare)
        assert failure.value.actual == (
            "429 without an error code: no error code (expected RATE_LIMIT_EXCEEDED); no Retry-After header"
        )

    def test_refusal_problems_are_empty_for_a_conforming_answer(self):
        exchange = answer(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "3"})
        assert limits.refusal_problems(exchange, status=429, code="RATE_LIMIT_EXCEEDED") == []

    def test_lockout_expects_account_locked(self):
        limits.rate_limited(answer(429, "ACCOUNT_LOCKED", {"Retry-After": "900"}), requirement="LOCK-1")
        with pytest.raises(Violation) as failure:
            limits.rate_limited(answer(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "9"}), requirement="LOCK-1")
        assert failure.value.requirement == "LOCK-1"

    def test_lockout_without_retry_after_is_a_lockout_violation(self):
        with pytest.raises(Violation) as failure:
            limits.rate_limited(answer(429, "ACCOUNT_LOCKED"), requirement="LOCK-1")
        assert failure.value.requirement == "LOCK-1"


class TestPayloadTooLarge:
    def test_413_envelope_passes(self):
        limits.payload_too_large(answer(413, "PAYLOAD_TOO_LARGE"))

    def test_html_413_fails(self):
        with pytest.raises(Violation, match="413 without an error code") as failure:
            limits.payload_too_large(answer(413, None))
        assert failure.value.requirement == "SIZE-1"

    @pytest.mark.parametrize(
        ("status", "code"), [(401, "TOKEN_INVALID"), (404, "NOT_FOUND"), (422, "VALIDATION_ERROR")]
    )
    def test_routing_or_auth_first_fails(self, status, code):
        with pytest.raises(Violation, match="before routing and authentication"):
            limits.payload_too_large(answer(status, code))

    def test_413_with_another_code_fails_with_a_code_hint(self):
        with pytest.raises(Violation, match="error code PAYLOAD_TOO_LARGE"):
            limits.payload_too_large(answer(413, "TOO_BIG"))


class TestOversizedBodies:
    """The SIZE-1 suite's bodies are exactly one byte over the limit, and well-formed."""

    @pytest.mark.parametrize("style", ["json", "form", "none"])
    def test_body_has_exactly_the_requested_size(self, style):
        assert len(oversized_body(style, 1025)) == 1025

    def test_json_body_parses(self):
        assert set(json.loads(oversized_body("json", 100))) == {"pad"}

    def test_form_body_is_one_field(self):
        assert set(parse_qs(oversized_body("form", 100).decode())) == {"pad"}

    def test_chunks_reassemble_the_body(self):
        body = bytes(range(256)) * 1000
        chunks = list(chunks_of(body, size=4096))
        assert b"".join(chunks) == body
        assert max(map(len, chunks)) == 4096
