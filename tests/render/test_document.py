"""Reading the report document: failures come from the violations' fields; a message alone is shown whole."""

from __future__ import annotations

import json

from conformance.exchange import Exchange
from conformance.outcomes import ResponseExcerpt, Violation, ViolationData
from conformance.render import document as doc
from tests.render.conftest import ENV3, ENV3_FAILURE


def test_violation_data_survives_json_and_renders_as_the_violation_does():
    exchange = Exchange.build(
        "GET",
        "http://sut/api/patients/x",
        404,
        response_headers={"content-type": "application/json", "x-request-id": "r-1"},
        response_body={"success": False},
    )
    violation = Violation(
        "ENV-3",
        expected="404 with NOT_FOUND",
        actual="404 with\nUNKNOWN",
        exchange=exchange,
        hint="raise NotFoundException",
    )
    data = violation.data()
    assert ViolationData.from_json(json.loads(json.dumps(data.to_json()))) == data
    assert data.render() == violation.render() == str(violation)
    assert data.response == ResponseExcerpt(
        404, (("content-type", "application/json"), ("x-request-id", "r-1")), '{"success": false}'
    )
    assert (data.exchange, data.request_id) == ("GET http://sut/api/patients/x", "r-1")


def test_a_failure_with_violations_is_one_failure_per_violation_read_from_fields():
    second = ViolationData("ENV-3", expected="e2", actual="a2")
    entry = {
        "failures": [
            {
                "test": "t::a",
                "message": "ignored when there are fields",
                "violations": [ENV3.to_json(), second.to_json()],
            }
        ]
    }
    first, other = doc.failures_of(entry)
    assert (first.test, other.test) == ("t::a", "t::a")
    assert first.message == doc.violation_failure(ENV3).message and "Bearer ***" in first.message
    assert first.headline.startswith("ENV-3  Status and code follow the table of §4.  (GET http://127.0.0.1:41237")
    assert other.parts == (("Expected", "e2"), ("Actual", "a2"))


def test_a_failure_without_fields_is_its_message_whole_never_parsed():
    entry = {"failures": [{"test": "t::a", "message": ENV3_FAILURE}]}  # a report written before the fields
    (failure,) = doc.failures_of(entry)
    assert failure.parts == () and failure.headline.startswith("ENV-3  Status and code")
    assert "Expected: 404 with code NOT_FOUND" in failure.message and "Bearer ***" in failure.message
