"""Unit tests of the DATA-4 checks on recorded exchanges."""

from __future__ import annotations

import json

import pytest

from conformance.checks import data
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

CREATED = {"a1": "Ann 100% Lit", "b2": "Bob under_score", "c3": "Cy dot.*star", "d4": "Di [bracket",
           "e5": "Ed back\\slash", "f6": "Fa ^$ anchors", "g7": "Gus plain"}


def listing(term: str, ids: list[str], status: int = 200, body=None):
    items = [{"id": pid, "name": CREATED.get(pid, "Stranger")} for pid in ids]
    return Exchange.build("GET", f"http://127.0.0.1:8000/api/patients/?search={term}", status,
                          response_headers={"content-type": "application/json"},
                          response_body=items if body is None else body)


@pytest.mark.parametrize(
    ("term", "ids"),
    [("%", ["a1"]), ("_", ["b2"]), (".*", ["c3"]), ("[", ["d4"]), ("\\", ["e5"]), ("^$", ["f6"]), ("gus", ["g7"]),
     ("*", ["c3"]), ("zz", [])],
)
def test_literal_results_pass(term, ids):
    data.search_is_literal(listing(term, ids), term=term, created=CREATED)


def test_wildcard_matching_everything_is_a_violation():
    with pytest.raises(Violation, match="returned 6 patient") as caught:
        data.search_is_literal(listing("%", list(CREATED)), term="%", created=CREATED)
    assert caught.value.requirement == "DATA-4"


def test_underscore_as_single_char_wildcard_is_a_violation():
    with pytest.raises(Violation, match="'Ann 100% Lit'"):
        data.search_is_literal(listing("_", ["a1", "b2"]), term="_", created=CREATED)


def test_literal_match_left_out_is_a_violation():
    with pytest.raises(Violation, match="left out 1 whose name contains it: 'Di \\[bracket'"):
        data.search_is_literal(listing("[", []), term="[", created=CREATED)


def test_foreign_patient_in_results_is_a_violation():
    with pytest.raises(Violation, match="zz-foreign"):
        data.search_is_literal(listing("%", ["a1", "zz-foreign"]), term="%", created=CREATED)


@pytest.mark.parametrize(("status", "body"), [(500, {"success": False}), (200, {"items": []}), (200, [1, 2])])
def test_search_that_errors_or_is_not_a_list_is_a_violation(status, body):
    with pytest.raises(Violation, match="200 with a list"):
        data.search_is_literal(listing("[", [], status=status, body=body), term="[", created=CREATED)


def register(body: dict, status: int):
    return Exchange.build("POST", "http://127.0.0.1:8000/api/auth/register", status,
                          request_body=json.dumps(body).encode(), response_body={"success": status < 400})


@pytest.mark.parametrize("operator", [{"$ne": None}, {"$gt": ""}, {"$regex": ".*"}])
def test_operator_answered_422_passes(operator):
    data.operator_rejected(register({"email": operator, "password": "x"}, 422))


@pytest.mark.parametrize("status", [200, 201, 401, 500])
def test_operator_not_answered_422_is_a_violation(status):
    with pytest.raises(Violation, match=r"operator object at email") as caught:
        data.operator_rejected(register({"email": {"$ne": None}}, status))
    assert caught.value.requirement == "DATA-4"
    assert ("taken as a query" in caught.value.actual) == (status < 400)


def test_nested_operator_is_located():
    assert data.operator_paths({"a": [{"b": {"$in": [1]}}], "c": "$not-an-operator"}) == ["a[0].b"]


@pytest.mark.parametrize("body", [b'{"email": "a@b.c"}', b"username=%24ne", b""])
def test_request_without_operator_is_not_judged(body):
    plain = Exchange.build("POST", "http://127.0.0.1:8000/api/auth/login", 401, request_body=body)
    with pytest.raises(NotApplicable):
        data.operator_rejected(plain)
