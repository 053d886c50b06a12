"""Request-id checks on good and bad recorded exchanges."""

from __future__ import annotations

import pytest

from conformance.checks import request_id
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

UUID = "0b5c9d1e-8f7a-4c1e-9a2b-3c4d5e6f7a8b"


def answer(status=200, *, header=UUID, body_id=UUID, sent=None, extra_header=None):
    response_headers = [("content-type", "application/json")]
    if header is not None:
        response_headers.append(("X-Request-ID", header))
    if extra_header is not None:
        response_headers.append(("X-Request-ID", extra_header))
    body = {"status": "healthy"}
    if status >= 400:
        body = {"success": False, "error": {"message": "x", "code": "NOT_FOUND"}, "request_id": body_id}
    return Exchange.build(
        "GET",
        "http://sut/health",
        status,
        request_headers={"X-Request-ID": sent} if sent is not None else None,
        response_headers=response_headers,
        response_body=body,
    )


# -- RID-1 -----------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 404, 500])
def test_matching_header_and_body_pass(status):
    request_id.request_id_matches_header(answer(status), header_name="X-Request-ID")


def test_missing_header_fails_on_success_and_error():
    for status in (200, 404):
        with pytest.raises(Violation) as raised:
            request_id.request_id_matches_header(answer(status, header=None), header_name="X-Request-ID")
        assert raised.value.requirement == "RID-1"
        assert raised.value.actual == "none"


def test_body_id_differing_from_header_fails():
    with pytest.raises(Violation, match="body request_id = 'other'"):
        request_id.request_id_matches_header(answer(404, body_id="other"), header_name="X-Request-ID")


def test_two_different_header_values_fail():
    with pytest.raises(Violation, match="2 different values"):
        request_id.request_id_matches_header(answer(200, extra_header="second"), header_name="X-Request-ID")


def test_error_body_without_request_id_is_left_to_env1():
    exchange = Exchange.build(
        "GET", "http://sut/x", 404, response_headers={"x-request-id": UUID}, response_body={"detail": "Not Found"}
    )
    request_id.request_id_matches_header(exchange, header_name="X-Request-ID")


def test_header_name_comes_from_the_profile():
    exchange = Exchange.build("GET", "http://sut/x", 200, response_headers={"X-Correlation-ID": "abc"})
    request_id.request_id_matches_header(exchange, header_name="X-Correlation-ID")
    with pytest.raises(Violation):
        request_id.request_id_matches_header(exchange, header_name="X-Request-ID")


# -- RID-2 -----------------------------------------------------------------


@pytest.mark.parametrize("value", [UUID, "0b5c9d1e8f7a4c1e9a2b3c4d5e6f7a8b", "trace-42.a_b:c"])
def test_well_formed_ids(value):
    assert request_id.is_well_formed(value)


@pytest.mark.parametrize(
    "value", ["", "short", "x" * 129, "has space inside", "<script>alert(1)", "abc;defgh", "-leading-dash", "üüüüüüüüü"]
)
def test_malformed_ids(value):
    assert not request_id.is_well_formed(value)


def test_propagated_well_formed_id_passes():
    request_id.incoming_request_id_handled(answer(sent=UUID), UUID, header_name="X-Request-ID")


def test_replaced_well_formed_id_fails():
    with pytest.raises(Violation) as raised:
        request_id.incoming_request_id_handled(answer(header="fresh-id", sent=UUID), UUID, header_name="X-Request-ID")
    assert raised.value.requirement == "RID-2"


def test_replaced_malformed_id_passes():
    request_id.incoming_request_id_handled(
        answer(header=UUID, sent="<script>alert(1)</script>"), "<script>alert(1)</script>", header_name="X-Request-ID"
    )


@pytest.mark.parametrize(
    ("sent", "returned"),
    [("<script>alert(1)</script>", "<script>alert(1)</script>"), ("x" * 300, "x" * 128), ("bad id", "bad")],
)
def test_echoed_or_truncated_malformed_id_fails(sent, returned):
    with pytest.raises(Violation, match="replaced by a fresh"):
        request_id.incoming_request_id_handled(answer(header=returned, sent=sent), sent, header_name="X-Request-ID")


def test_caller_can_override_well_formedness():
    request_id.incoming_request_id_handled(
        answer(header=UUID, sent="custom-id-1"), "custom-id-1", well_formed=False, header_name="X-Request-ID"
    )


def test_missing_response_header_is_left_to_rid1():
    with pytest.raises(NotApplicable):
        request_id.incoming_request_id_handled(answer(header=None, sent=UUID), UUID, header_name="X-Request-ID")


# -- RID-3 -----------------------------------------------------------------


def test_distinct_generated_ids_pass():
    request_id.request_ids_unique([answer(header=f"id-{n}") for n in range(5)], header_name="X-Request-ID")


def test_repeated_generated_id_fails():
    exchanges = [answer(header="id-1"), answer(header="id-2"), answer(header="id-1")]
    with pytest.raises(Violation) as raised:
        request_id.request_ids_unique(exchanges, header_name="X-Request-ID")
    assert raised.value.requirement == "RID-3"
    assert raised.value.exchange is exchanges[2]


def test_ids_the_client_chose_are_not_compared():
    exchanges = [answer(header=UUID, sent=UUID), answer(header=UUID, sent=UUID), answer(header="a"), answer(header="b")]
    request_id.request_ids_unique(exchanges, header_name="X-Request-ID")


def test_fewer_than_two_generated_ids_say_nothing():
    with pytest.raises(NotApplicable):
        request_id.request_ids_unique([answer(header="a"), answer(header=None)], header_name="X-Request-ID")


def test_boundary_ids_sit_on_each_side_of_the_declared_length():
    ids = request_id.boundary_ids(128)
    at, kept = ids["at-length-limit"]
    past, past_kept = ids["just-past-length-limit"]
    assert (len(at), kept, len(past), past_kept) == (128, True, 129, False)
    assert request_id.is_well_formed(at) and not request_id.is_well_formed(past)
    joined, joined_kept = ids["comma-joined"]
    assert not joined_kept and all(request_id.is_well_formed(part) for part in joined.split(","))
    assert len(request_id.boundary_ids(40)["just-past-length-limit"][0]) == 41
