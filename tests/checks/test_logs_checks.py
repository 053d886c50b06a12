"""Unit tests of the log checks and of the canary encodings they search for."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

import pytest

from conformance import canaries
from conformance.checks import logs
from conformance.checks.logs import LogRecord, NonJsonLine
from conformance.outcomes import NotApplicable, Violation

PASSWORD = "Cn3f9a2b!Q7xd41e0c"
EMAIL = "hlc-canary-1a2b3c@example.com"
PHONE = "+491512345678"
OTP = "493817"
SECRETS = {"password": PASSWORD, "email": EMAIL, "phone": PHONE, "OTP": OTP}


def line(**fields) -> str:
    return json.dumps({"event": "request", "level": "info", "timestamp": "2026-11-26T14:00:00.493817Z", **fields})


CLEAN = [
    line(event="login_failed", email="hlc***@***.com", request_id="r1"),
    line(event="otp_sent", phone="***5678", request_id="r2"),
    line(event="request", path="/api/auth/login", status=401, request_id="r1", duration_ms=4.938172),
]


def test_parse_lines_tells_records_from_text():
    parsed = logs.parse_lines([CLEAN[0], "", "INFO: Started server", "[1, 2]", "   "])
    assert [type(p) for p in parsed] == [LogRecord, NonJsonLine, NonJsonLine]
    assert [p.number for p in parsed] == [1, 3, 4]
    assert parsed[0].fields["event"] == "login_failed"


def test_clean_log_passes_even_with_the_otp_inside_longer_numbers():
    logs.no_canary_in_logs(CLEAN, SECRETS)


def b64_blob(prefix: bytes, secret: str) -> str:
    return base64.b64encode(prefix + secret.encode() + b":tail").decode()


@pytest.mark.parametrize(
    ("label", "leak", "form"),
    [
        ("password", line(body={"password": PASSWORD}), "raw"),
        ("password", line(body=urlencode({"username": EMAIL, "password": PASSWORD})), "URL-encoded"),
        ("password", line(query="p=" + quote(PASSWORD, safe="")), "URL-encoded"),
        ("email", line(user=EMAIL.upper()), "raw"),
        ("email", line(user=quote(EMAIL, safe="")), "URL-encoded"),
        ("email", json.dumps({"event": "x", "level": "info", "body": json.dumps({"u": EMAIL.replace("-", "\u2010")})}),
         None),
        ("phone", line(phone=PHONE), "raw"),
        ("phone", line(phone="491512345678"), "digits only"),
        ("OTP", line(event=f"otp {OTP} sent"), "raw"),
        ("password", line(authorization="Basic " + b64_blob(b"", PASSWORD)), "base64 (offset 0)"),
        ("password", line(authorization="Basic " + b64_blob(b"u", PASSWORD)), "base64 (offset 1)"),
        ("password", line(authorization="Basic " + b64_blob(b"us", PASSWORD)), "base64 (offset 2)"),
    ],
)
def test_every_encoding_of_a_canary_is_found(label, leak, form):
    if form is None:  # a JSON-escaped non-ASCII look-alike is no leak: the text differs
        logs.no_canary_in_logs([leak], SECRETS)
        return
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([*CLEAN, leak], SECRETS)
    assert caught.value.requirement == "LOG-1"
    assert f"line 4 contains the {label} ({form})" in caught.value.actual
    assert caught.value.actual.startswith("1 line(s) with secrets")


def test_form_encoded_space_is_found():
    secret = "Two Words!2a"
    with pytest.raises(Violation, match=r"\(form-encoded\)"):
        logs.no_canary_in_logs([line(body=urlencode({"password": secret}))], {"password": secret})


@pytest.mark.parametrize(
    ("wrap", "form"),
    [(lambda body: {"password": body["password"]}, "(JSON-escaped)"),
     (lambda body: {"body": json.dumps(body)}, "(JSON-escaped twice)")],
)
def test_json_escaped_canary_is_found(wrap, form):
    secret = 'Pw"quote\\back1A'
    leak = json.dumps({"event": "x", "level": "info", **wrap({"password": secret})})
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([leak], {"password": secret})
    assert form in caught.value.actual


def test_otp_in_a_message_with_the_same_timestamp_is_still_found():
    leaky = line(event=f"verification code {OTP}")
    with pytest.raises(Violation, match=r"line 1 contains the OTP \(raw\)"):
        logs.no_canary_in_logs([leaky], {"OTP": OTP})


def test_several_secrets_in_one_line_are_reported_together_and_masked():
    leak = line(email=EMAIL, phone=PHONE, request_id="r7")
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([*CLEAN, leak], SECRETS)
    assert "line 4 contains the email (raw), the phone (raw)" in caught.value.actual
    assert EMAIL not in caught.value.actual and PHONE not in caught.value.actual


def test_leak_is_masked_in_the_message():
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([line(password=PASSWORD)], {"password": PASSWORD})
    assert PASSWORD not in caught.value.actual
    assert "<password>" in caught.value.actual


def test_base64_core_is_independent_of_the_surrounding_bytes():
    secret = b"Secret-Value-42"
    for offset in range(3):
        core = canaries.base64_core(secret, offset)
        for prefix, suffix in ((b"\xff" * offset, b"\x00"), (b"ab"[:offset], b"zz")):
            assert core in base64.b64encode(b"xyz" + prefix + secret + suffix).decode()


def test_absent_from_avoids_values_already_logged():
    taken = iter(["111111", "222222", "333333"])
    value = canaries.absent_from(["at 12:00:00.111111 and id 9222222"], make=lambda: next(taken))
    assert value == "333333"


def test_generated_canaries_meet_the_password_rule_and_are_unique():
    password = canaries.password()
    assert len(password) >= 12 and any(c.isupper() for c in password) and any(c.islower() for c in password)
    assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)
    assert canaries.email() != canaries.email()
    assert canaries.phone().startswith("+") and len(canaries.phone()) == 13


def test_structured_lines_pass():
    logs.lines_are_structured(CLEAN + [""])


@pytest.mark.parametrize(
    ("bad", "phrase"),
    [("INFO:     Uvicorn running on http://127.0.0.1:8000", "not a JSON object"),
     ('"just a string"', "not a JSON object"),
     (json.dumps({"msg": "hi", "level": "info"}), "lacks event"),
     (json.dumps({"event": "hi"}), "lacks level")],
)
def test_unstructured_line_is_a_log2_violation(bad, phrase):
    with pytest.raises(Violation, match=phrase) as caught:
        logs.lines_are_structured([*CLEAN, bad])
    assert caught.value.requirement == "LOG-2"
    assert "1 of 4 lines" in caught.value.actual


def test_empty_log_is_not_judged():
    with pytest.raises(NotApplicable):
        logs.lines_are_structured(["", "  "])


def test_each_request_id_carried_passes():
    logs.request_lines_carry_request_id(CLEAN, ["r1", "r2", "r1"])


def test_request_without_a_line_is_a_log3_violation():
    with pytest.raises(Violation, match="no log line carries request id r3") as caught:
        logs.request_lines_carry_request_id(CLEAN, ["r1", "r3"])
    assert caught.value.requirement == "LOG-3"


def test_text_line_holding_the_request_id_carries_it():
    """LOG-3 judges the id only; that the line is not JSON is LOG-2's verdict."""
    logs.request_lines_carry_request_id(["2026-11-26T14:00:00Z INFO request request_id=r5 status=200"], ["r5"])


def test_request_id_only_in_the_message_is_pointed_out():
    lines = [line(event="handled r9", request_id="other-id")]
    with pytest.raises(Violation, match="appears only outside 'request_id' in line 1") as caught:
        logs.request_lines_carry_request_id(lines, ["r9"])
    assert "other-id" in caught.value.actual


def test_no_request_ids_is_not_judged():
    with pytest.raises(NotApplicable):
        logs.request_lines_carry_request_id(CLEAN, [])
