"""Unit tests of the log checks and of the canary encodings they search for."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus, urlencode

import pytest

from conformance.actors import canaries
from conformance.checks import logs
from conformance.checks.logs import LogRecord, NonJsonLine
from conformance.exchange import Exchange
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


# -- every encoding: a line holding the form is found (and named), a line without it is not ------------

#: A value with a character of every escaping class: space, quote, slash, backslash, plus, at, non-ASCII.
#: The question marks put "/" into its base64 at every alignment, so base64url differs from base64.
VALUE = 'Cn a"b/c\\d+é@x.Q9????'
#: The same shape, one character different: what a line "without it" holds.
NEAR_MISS = 'Cn a"b/c\\d+é@x.Q8????'


def b64_blob(prefix: bytes, secret: str, encode=base64.b64encode) -> str:
    return encode(prefix + secret.encode() + b":tail").decode()


def json_once(value: str, **options) -> str:
    return json.dumps(value, **options)[1:-1]


WRITTEN_FORMS = {
    # form name: how a logger writes the value, several ways each
    "raw": [lambda v: v],
    "case-folded": [str.upper, str.lower, str.swapcase],
    "URL-encoded": [
        lambda v: quote(v, safe=""),  # quote, upper-case hex
        lambda v: quote(v),  # quote with its default safe "/"
        lambda v: quote_plus(v, safe=""),  # quote_plus: space as +
        lambda v: re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(v, safe="")),  # lower-case hex
        lambda v: v.replace("@", "%40").replace(" ", "%20"),  # an encoder that escapes only a few characters
        lambda v: quote(quote(v, safe=""), safe=""),  # encoded twice
        lambda v: quote(v, safe="").upper(),  # and case-folded
    ],
    "JSON-escaped": [lambda v: json_once(v, ensure_ascii=False)],
    "JSON-escaped (ASCII)": [lambda v: json_once(v)],
    "JSON-escaped (slashes)": [lambda v: json_once(v).replace("/", "\\/")],
    "JSON-escaped twice": [lambda v: json_once(json_once(v)), lambda v: json.dumps({"body": json.dumps({"p": v})})],
    "JSON-escaped twice (slashes)": [lambda v: json_once(json_once(v).replace("/", "\\/"))],
    "base64 (offset 0)": [lambda v: b64_blob(b"", v)],
    "base64url (offset 0)": [lambda v: b64_blob(b"", v, base64.urlsafe_b64encode)],
    "base64 (offset 1)": [lambda v: b64_blob(b"u", v)],
    "base64url (offset 1)": [lambda v: b64_blob(b"u", v, base64.urlsafe_b64encode)],
    "base64 (offset 2)": [lambda v: b64_blob(b"us", v)],
    "base64url (offset 2)": [lambda v: b64_blob(b"us", v, base64.urlsafe_b64encode)],
}
WRITTEN = [
    pytest.param(form, write, id=f"{form}-{n}") for form, ways in WRITTEN_FORMS.items() for n, write in enumerate(ways)
]


def test_every_form_of_the_test_value_is_distinct():
    """Otherwise a test below would name another form than the one it wrote."""
    assert [form.name for form in canaries.encodings(VALUE)] == list(WRITTEN_FORMS)


@pytest.mark.parametrize(("form", "write"), WRITTEN)
def test_a_line_holding_the_form_is_found_and_named(form, write):
    leak = f"INFO request body={write(VALUE)} status=401"
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([*CLEAN, leak], {"password": VALUE})
    assert caught.value.requirement == "LOG-1"
    assert f"line 4 contains the canary password ({form})" in caught.value.actual
    assert caught.value.actual.startswith("1 line(s) with secrets")


@pytest.mark.parametrize(("form", "write"), WRITTEN)
def test_a_line_holding_the_form_of_another_value_is_not_found(form, write):
    logs.no_canary_in_logs([*CLEAN, f"INFO request body={write(NEAR_MISS)} status=401"], {"password": VALUE})


@pytest.mark.parametrize(("form", "write"), WRITTEN)
def test_the_form_is_masked_in_the_message(form, write):
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([f"INFO request body={write(VALUE)}"], {"password": VALUE})
    assert "<password>" in caught.value.actual
    assert canaries.mask(str(caught.value), {"password": VALUE}) == str(caught.value)


@pytest.mark.parametrize(
    "written", ["+491512345678", "491512345678", "+49 151 2345 678", "0049-151-2345678", "(49) 151.234.5678"]
)
def test_a_phone_is_found_whatever_its_punctuation(written):
    form = "raw" if written == PHONE else "digits, any punctuation"
    with pytest.raises(Violation, match=rf"line 1 contains the canary phone \({re.escape(form)}\)"):
        logs.no_canary_in_logs([line(phone=written)], {"phone": PHONE})


@pytest.mark.parametrize("written", ["***5678", "+49151234567", "4915123456789"])
def test_a_masked_or_other_phone_is_not_found(written):
    logs.no_canary_in_logs([line(phone=written)], {"phone": PHONE})


def test_digits_of_a_value_that_is_no_phone_are_not_a_form():
    assert "digits, any punctuation" not in [form.name for form in canaries.encodings("Cn3f9a2b!Q7xd41e0c")]


def test_a_plain_value_has_only_the_forms_that_differ():
    assert [form.name for form in canaries.encodings("Abc123def456")] == [
        "raw",
        "case-folded",
        "base64 (offset 0)",
        "base64 (offset 1)",
        "base64 (offset 2)",
    ]


@pytest.mark.parametrize(
    ("label", "leak", "form"),
    [
        ("password", line(body={"password": PASSWORD}), "raw"),
        ("password", line(body=urlencode({"username": EMAIL, "password": PASSWORD})), "URL-encoded"),
        ("email", line(user=EMAIL.upper()), "case-folded"),
        ("email", line(query="search=" + quote(EMAIL, safe="")), "URL-encoded"),
        ("phone", line(query="search=" + quote(PHONE, safe="")), "URL-encoded"),
        ("OTP", line(event=f"otp {OTP} sent"), "raw"),
        ("password", line(authorization="Basic " + b64_blob(b"us", PASSWORD)), "base64 (offset 2)"),
    ],
)
def test_leaks_in_json_lines_are_found(label, leak, form):
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([*CLEAN, leak], SECRETS)
    assert f"line 4 contains the canary {label} ({form})" in caught.value.actual


def test_a_json_escaped_non_ascii_lookalike_is_no_leak():
    lookalike = json.dumps({"event": "x", "level": "info", "body": json.dumps({"u": EMAIL.replace("-", "\u2010")})})
    logs.no_canary_in_logs([lookalike], SECRETS)


def test_otp_in_a_message_with_the_same_timestamp_is_still_found():
    leaky = line(event=f"verification code {OTP}")
    with pytest.raises(Violation, match=r"line 1 contains the canary OTP \(raw\)"):
        logs.no_canary_in_logs([leaky], {"OTP": OTP})


def test_several_secrets_in_one_line_are_reported_together_and_masked():
    leak = line(email=EMAIL, phone=PHONE, query=quote(EMAIL), request_id="r7")
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([*CLEAN, leak], SECRETS)
    assert "line 4 contains the canary email (raw); the canary phone (raw)" in caught.value.actual
    assert EMAIL not in caught.value.actual and PHONE not in caught.value.actual
    assert quote(EMAIL) not in caught.value.actual  # every form of it, not only the one named


def test_leak_is_masked_in_the_message():
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([line(password=PASSWORD)], {"password": PASSWORD})
    assert PASSWORD not in str(caught.value)
    assert "<password>" in caught.value.actual


# -- the request that carried the canary -----------------------------------------------------------


def search_exchange(term: str, request_id: str) -> Exchange:
    url = "http://127.0.0.1:8000/api/patients/?" + urlencode({"search": term})
    return Exchange.build(
        "GET",
        url,
        404,
        request_headers={"authorization": "Bearer x", "x-api-key": term},
        response_headers={"x-request-id": request_id},
        response_body={"success": False, "error": {"context": {"identifier": term}}},
    )


def test_the_finding_names_the_channel_and_the_request_with_every_canary_masked():
    searched = search_exchange(EMAIL, "r9")
    leak = line(query="search=" + quote(EMAIL, safe=""), request_id="r9")
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs(
            ["", leak], {"searched email": EMAIL}, {"searched email": [logs.Carrier("query string (search)", searched)]}
        )
    message = str(caught.value)
    assert "line 2 contains the canary searched email (URL-encoded), sent in the query string (search)" in message
    assert "(GET http://127.0.0.1:8000/api/patients/?search=<searched email>, request r9)" in message
    assert EMAIL not in message and quote(EMAIL, safe="") not in message and quote_plus(EMAIL) not in message
    assert caught.value.exchange.response.headers.get("x-request-id") == "r9"


def test_the_carrier_is_the_request_that_wrote_the_line():
    first, second = search_exchange(EMAIL, "r1"), search_exchange(EMAIL, "r2")
    carried = {"email": [logs.Carrier("JSON body (email)", first), logs.Carrier("form body (username)", second)]}
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([line(email=EMAIL, request_id="r2")], {"email": EMAIL}, carried)
    assert "sent in the form body (username)" in caught.value.actual
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([line(email=EMAIL, request_id="elsewhere")], {"email": EMAIL}, carried)
    assert "sent in the JSON body (email)" in caught.value.actual


def test_leaks_of_canaries_sent_by_two_requests_name_each_and_show_the_first():
    by_email, by_phone = search_exchange(EMAIL, "r1"), search_exchange(PHONE, "r2")
    carried = {
        "email": [logs.Carrier("query string (search)", by_email)],
        "phone": [logs.Carrier("query string (search)", by_phone)],
    }
    with pytest.raises(Violation) as caught:
        logs.no_canary_in_logs([line(email=EMAIL), line(phone=PHONE)], {"email": EMAIL, "phone": PHONE}, carried)
    assert caught.value.exchange.response.headers.get("x-request-id") == "r1"
    assert "line 1 contains the canary email (raw), sent in the query string (search) of GET " in caught.value.actual
    assert "line 2 contains the canary phone (raw), sent in the query string (search) of GET " in caught.value.actual
    assert "?search=<phone>" in caught.value.actual
    assert EMAIL not in str(caught.value) and PHONE not in str(caught.value)


def test_more_findings_than_shown_are_counted():
    with pytest.raises(Violation, match=r"\.\.\. and 2 more"):
        logs.no_canary_in_logs([line(email=EMAIL)] * (logs.SHOWN + 2), {"email": EMAIL})


# -- masking and drawing -----------------------------------------------------------------------


@pytest.mark.parametrize(("form", "write"), WRITTEN)
def test_mask_replaces_every_form(form, write):
    assert canaries.mask(f"a {write(VALUE)} b", {"password": VALUE}).count("<password>") >= 1
    assert canaries.first_form_in(canaries.mask(write(VALUE), {"password": VALUE}), VALUE) is None


def test_mask_hides_digits_even_inside_longer_numbers():
    assert canaries.mask(f"ts 12:00:00.{OTP}Z", {"OTP": OTP}) == "ts 12:00:00.<OTP>Z"


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


def test_absent_from_avoids_values_inside_other_canaries():
    taken = iter(["151234", "999999"])
    assert canaries.absent_from([], make=lambda: next(taken), taken=[PHONE]) == "999999"


def test_absent_from_avoids_every_form_already_logged():
    taken = iter([EMAIL, "hlc-canary-ffffff@example.com"])
    assert canaries.absent_from([quote(EMAIL.upper(), safe="")], make=lambda: next(taken)) != EMAIL


def test_generated_canaries_meet_the_password_rule_and_are_unique():
    password = canaries.password()
    assert len(password) >= 12 and any(c.isupper() for c in password) and any(c.islower() for c in password)
    assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)
    assert canaries.email() != canaries.email()
    assert canaries.phone().startswith("+") and len(canaries.phone()) == 13
    weak = canaries.weak_password()
    assert len(weak) >= 12 and not any(c.isupper() for c in weak) and weak.isalnum()
    assert canaries.api_key() != canaries.api_key()


def test_structured_lines_pass():
    logs.lines_are_structured(CLEAN + [""])


@pytest.mark.parametrize(
    ("bad", "phrase"),
    [
        ("INFO:     Uvicorn running on http://127.0.0.1:8000", "not a JSON object"),
        ('"just a string"', "not a JSON object"),
        (json.dumps({"msg": "hi", "level": "info"}), "lacks event"),
        (json.dumps({"event": "hi"}), "lacks level"),
    ],
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


def test_text_line_holding_the_request_id_is_blocked_by_log2_not_passed():
    """A text line has no request_id field: LOG-3 cannot be judged on it, LOG-2 fails on it."""
    text = "2026-11-26T14:00:00Z INFO request request_id=r5 status=200"
    with pytest.raises(NotApplicable, match="only in lines that are not JSON objects") as caught:
        logs.request_lines_carry_request_id([text], ["r5"])
    assert caught.value.blocked_by == ("LOG-2",)


def test_ids_only_in_text_beside_carried_ones_still_block():
    with pytest.raises(NotApplicable) as caught:
        logs.request_lines_carry_request_id([*CLEAN, "INFO request r7 done"], ["r1", "r7"])
    assert caught.value.blocked_by == ("LOG-2",) and "1 of 2" in caught.value.reason


def test_an_id_in_no_line_fails_log3_even_beside_text_lines():
    with pytest.raises(Violation, match="no log line carries request id r8") as caught:
        logs.request_lines_carry_request_id(["INFO request r5 done"], ["r5", "r8"])
    assert caught.value.requirement == "LOG-3"


def test_request_id_only_in_the_message_is_pointed_out():
    lines = [line(event="handled r9", request_id="other-id")]
    with pytest.raises(Violation, match="appears only outside 'request_id' in line 1") as caught:
        logs.request_lines_carry_request_id(lines, ["r9"])
    assert "other-id" in caught.value.actual


def test_no_request_ids_is_not_judged():
    with pytest.raises(NotApplicable):
        logs.request_lines_carry_request_id(CLEAN, [])
