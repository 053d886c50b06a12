"""Unit tests of the DATA-4 checks on recorded exchanges."""

from __future__ import annotations

import json

import pytest

from conformance.checks import data
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, Violation

CREATED = {
    "a1": "Ann 100% Lit",
    "b2": "Bob under_score",
    "c3": "Cy dot.*star",
    "d4": "Di [bracket",
    "e5": "Ed back\\slash",
    "f6": "Fa ^$ anchors",
    "g7": "Gus plain",
}


def listing(term: str, ids: list[str], status: int = 200, body=None):
    items = [{"id": pid, "name": CREATED.get(pid, "Stranger")} for pid in ids]
    return Exchange.build(
        "GET",
        f"http://127.0.0.1:8000/api/patients/?search={term}",
        status,
        response_headers={"content-type": "application/json"},
        response_body=items if body is None else body,
    )


@pytest.mark.parametrize(
    ("term", "ids"),
    [
        ("%", ["a1"]),
        ("_", ["b2"]),
        (".*", ["c3"]),
        ("[", ["d4"]),
        ("\\", ["e5"]),
        ("^$", ["f6"]),
        ("gus", ["g7"]),
        ("*", ["c3"]),
        ("zz", []),
    ],
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
    return Exchange.build(
        "POST",
        "http://127.0.0.1:8000/api/auth/register",
        status,
        request_body=json.dumps(body).encode(),
        response_body={"success": status < 400},
    )


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


# -- NUL, other filters ----------------------------------------------------------------------------


def test_nul_search_refused_with_422_passes_only_when_refusable():
    refused = listing("%00", [], status=422, body={"success": False})
    data.search_is_literal(refused, term="\x00", created=CREATED, refusable=True)
    with pytest.raises(Violation):
        data.search_is_literal(refused, term="\x00", created=CREATED)


def test_nul_search_returning_everything_is_a_violation():
    with pytest.raises(Violation, match="returned 7 patient"):
        data.search_is_literal(listing("%00", list(CREATED)), term="\x00", created=CREATED, refusable=True)


GROUPS = {"a1": "Ward 100%", "b2": "ward_b", "g7": "Plain"}


@pytest.mark.parametrize(
    ("term", "ids"),
    [("Plain", ["g7"]), ("plain", ["g7"]), ("%", []), ("%", ["a1"]), ("ward", ["a1", "b2"]), ("_", [])],
)
def test_filter_matching_exactly_or_as_substring_passes(term, ids):
    data.filter_is_literal(listing(term, ids), parameter="group", term=term, values=GROUPS)


@pytest.mark.parametrize(
    ("term", "ids", "phrase"),
    [
        ("%", ["a1", "b2", "g7"], "returned 2 patient"),
        ("_", ["b2", "a1"], "'Ward 100%'"),
        ("Plain", [], "left out 1 whose value equals it: 'Plain'"),
    ],
)
def test_filter_taken_as_a_pattern_is_a_violation(term, ids, phrase):
    with pytest.raises(Violation, match=phrase) as caught:
        data.filter_is_literal(listing(term, ids), parameter="group", term=term, values=GROUPS)
    assert caught.value.requirement == "DATA-4" and "group=" in caught.value.expected


def test_nul_filter_refused_passes_when_refusable():
    data.filter_is_literal(
        listing("%00", [], status=422, body={}), parameter="group", term="\x00", values=GROUPS, refusable=True
    )


# -- operators in query strings and forms ----------------------------------------------------------

ALL = set(CREATED)
APPLIED_NE = ALL - {"g7"}  # search[$ne]=Gus plain
LITERAL_NE = {"g7"}


@pytest.mark.parametrize(
    ("status", "ids"),
    [(422, []), (200, sorted(ALL)), (200, sorted(LITERAL_NE))],
    ids=["refused", "ignored", "flattened-to-literal"],
)
def test_bracketed_operator_refused_ignored_or_literal_passes(status, ids):
    data.query_operator_not_applied(
        listing("x", ids, status=status, body=None if status == 200 else {}),
        operator="search[$ne]",
        created=CREATED,
        literal=LITERAL_NE,
        applied=APPLIED_NE,
    )


def test_bracketed_operator_applied_as_a_query_is_a_violation():
    with pytest.raises(Violation, match=r"returned exactly what search\[\$ne\] selects as a query") as caught:
        data.query_operator_not_applied(
            listing("x", sorted(APPLIED_NE)),
            operator="search[$ne]",
            created=CREATED,
            literal=LITERAL_NE,
            applied=APPLIED_NE,
        )
    assert caught.value.requirement == "DATA-4"
    assert "never the operator applied" in caught.value.expected


def test_bracketed_operator_with_another_answer_is_a_violation():
    with pytest.raises(Violation, match="1 of them not the account's"):
        data.query_operator_not_applied(
            listing("x", ["a1", "zz-foreign"]),
            operator="search[$regex]",
            created=CREATED,
            literal=set(),
            applied={"g7"},
        )
    with pytest.raises(Violation, match="500"):
        data.query_operator_not_applied(
            listing("x", [], status=500, body={"success": False}),
            operator="search[$ne]",
            created=CREATED,
            literal=set(),
            applied={"g7"},
        )


def login_form(body: str, status: int, response=None):
    return Exchange.build(
        "POST",
        "http://127.0.0.1:8000/api/auth/login",
        status,
        request_body=body.encode(),
        response_body=response if response is not None else {"success": status < 400},
    )


@pytest.mark.parametrize(("status", "response"), [(422, None), (401, None), (400, None), (429, None)])
def test_login_form_operator_refused_passes(status, response):
    data.operator_did_not_log_in(login_form("username=a%40b.c&password[$ne]=x", status, response))


@pytest.mark.parametrize(
    ("status", "response", "phrase"),
    [
        (200, {"access_token": "t", "refresh_token": "r"}, "logged in without the password"),
        (401, {"access_token": "t"}, "with tokens"),
        (500, None, "500"),
    ],
)
def test_login_form_operator_that_logs_in_or_crashes_is_a_violation(status, response, phrase):
    with pytest.raises(Violation, match=phrase) as caught:
        data.operator_did_not_log_in(login_form("username[$regex]=%5Ea%40b%5C.c%24&password[$ne]=x", status, response))
    assert "username[$regex], password[$ne]" in caught.value.expected


def test_login_form_without_operator_is_not_judged():
    with pytest.raises(NotApplicable):
        data.operator_did_not_log_in(login_form("username=a%40b.c&password=x", 200))


# -- positive control: the listing without the probe's ingredient ---------------------------------------


@pytest.mark.parametrize(
    ("value", "plain"),
    [("%", ""), ("a%t", "at"), ("^Gus", "Gus"), ("\x00", ""), ("Gus Plainword", "Gus Plainword"), (".*", "")],
)
def test_plain_value_drops_every_metacharacter(value, plain):
    assert data.plain_value(value) == plain


def test_a_probe_that_got_a_listing_or_an_allowed_refusal_needs_no_control():
    assert data.answered_a_listing(listing("%", ["a1"]))
    assert data.answered_a_listing(listing("\x00", [], status=422, body={"success": False}), refusable=True)
    assert not data.answered_a_listing(listing("%", [], status=500, body={"success": False}))
    assert not data.answered_a_listing(listing("\x00", [], status=422, body={"success": False}))


def test_a_listing_that_fails_without_the_ingredient_too_makes_the_probe_inconclusive():
    """The real backend's case: the listing itself answered 500, and DATA-4 blamed the operator for it."""
    probe = listing("search[$ne]=x", [], status=500, body={"success": False})
    control = Exchange.build(
        "GET",
        "http://127.0.0.1:8000/api/patients/",
        500,
        response_headers={"content-type": "application/json"},
        response_body={"success": False},
    )
    with pytest.raises(Inconclusive, match="the listing's own, not DATA-4's") as caught:
        data.listing_control_holds(probe, control, without="without any parameter")
    assert "without any parameter" in str(caught.value) and "answered 500" in str(caught.value)


def test_a_listing_that_works_without_the_ingredient_leaves_the_blame_to_the_probe():
    probe = listing("%", [], status=500, body={"success": False})
    data.listing_control_holds(probe, listing("", ["a1", "b2"]), without="without any parameter")
    with pytest.raises(Violation):
        data.search_is_literal(probe, term="%", created=CREATED)


def test_an_operator_probe_whose_endpoint_fails_without_the_operator_too_is_inconclusive():
    probe = register({"email": {"$ne": None}}, 500)
    with pytest.raises(Inconclusive, match="the endpoint's own"):
        data.operator_control_holds(probe, register({"email": "a@example.com"}, 500))
    data.operator_control_holds(probe, register({"email": "a@example.com"}, 201))
    with pytest.raises(Violation):
        data.operator_rejected(probe)
