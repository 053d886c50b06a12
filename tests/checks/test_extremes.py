"""The extreme-value generator (conformance.fuzz.extremes): which kinds each field gets, and the bytes they become."""

from __future__ import annotations

import itertools
import json
from urllib.parse import parse_qsl, unquote

import pytest

from conformance.fuzz import extremes
from conformance.openapi import operations

DOCUMENT = {
    "openapi": "3.1.0",
    "paths": {
        "/items/{item_id}": {
            "parameters": [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "parameters": [
                    {"name": "count", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10}},
                    {"name": "ratio", "in": "query", "schema": {"type": "number"}},
                    {"name": "name", "in": "query", "required": True, "schema": {"$ref": "#/components/schemas/Name"}},
                    {"name": "flag", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                    {"name": "X-Count", "in": "header", "schema": {"type": "integer"}},
                    {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {},
            },
        },
        "/items": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"anyOf": [{"$ref": "#/components/schemas/Item"}, {"type": "null"}]}
                        }
                    }
                },
                "responses": {},
            },
        },
        "/login": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string", "minLength": 3},
                                },
                            }
                        }
                    }
                },
                "responses": {},
            },
        },
        "/health": {"get": {"responses": {}}},
        "/skipped": {
            "get": {
                "x-conformance-excluded": True,
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
            }
        },
    },
    "components": {
        "schemas": {
            "Name": {"type": "string", "minLength": 2, "example": "someone@corp.example"},
            "Item": {
                "type": "object",
                "required": ["text", "code"],
                "properties": {
                    "text": {"type": "string", "maxLength": 50},
                    "code": {"type": "string", "pattern": "^[0-9]{6}$"},
                    "count": {"type": "integer", "minimum": 1900, "maximum": 2100},
                    "ratio": {"type": "number"},
                    "flag": {"type": "boolean"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "meta": {"type": "object"},
                    "maybe_name": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "email": {"type": "string", "format": "email", "default": "real.person@corp.example"},
                },
            },
        }
    },
}

INTS = {"int-2p31", "int-2p63", "int-1e18", "int-minus-1", "int-below-int64"}
STRINGS = {"long-string", "nul-char", "control-chars"}
#: The applicability table, written out: (location, field) -> the kinds it gets.
EXPECTED = {
    ("path", "item_id"): INTS | STRINGS,  # a path segment is text, and an id behind it often an integer
    ("query", "count"): INTS | {"array-for-scalar"},
    ("query", "ratio"): INTS | {"array-for-scalar"},
    ("query", "name"): STRINGS | {"array-for-scalar"},
    ("query", "flag"): {"array-for-scalar"},
    ("header", "X-Trace"): {"long-string"},  # NUL and control characters are not well-formed in a header
    ("header", "X-Count"): INTS,
    ("json", "text"): STRINGS | {"array-for-scalar", "object-for-scalar"},
    ("json", "code"): STRINGS | {"array-for-scalar", "object-for-scalar"},
    ("json", "count"): INTS | {"array-for-scalar", "object-for-scalar"},
    ("json", "ratio"): INTS | {"array-for-scalar", "object-for-scalar"},
    ("json", "flag"): {"array-for-scalar", "object-for-scalar"},
    ("json", "maybe_name"): STRINGS | {"array-for-scalar", "object-for-scalar"},
    ("json", "email"): STRINGS | {"array-for-scalar", "object-for-scalar"},
    ("form", "username"): STRINGS | {"array-for-scalar"},
    ("form", "password"): STRINGS | {"array-for-scalar"},
    ("body", "POST /items"): {
        "deep-nesting",
        "duplicate-keys",
        "form-body-for-json",
        "text-plain-body",
        "no-content-type",
    },
    ("body", "POST /login"): {"json-body-for-form", "text-plain-body", "no-content-type"},
}


@pytest.fixture
def probes() -> list[extremes.Probe]:
    numbers = itertools.count()
    return extremes.probes(
        DOCUMENT, email_fields=frozenset({"username"}), fresh_email=lambda: f"hlc-fuzz-test-{next(numbers)}@example.com"
    )


def by(probes, kind, field=None, label=None, location=None):
    found = [
        p
        for p in probes
        if p.kind == kind
        and (field is None or p.field == field)
        and (label is None or p.label == label)
        and (location is None or p.location == location)
    ]
    assert len(found) == 1, (kind, field, label, found)
    return found[0]


def json_body(probe):
    return json.loads(probe.body)


def test_value_kind_ids_are_stable():
    assert [k.id for k in extremes.FIELD_KINDS + extremes.BODY_KINDS] == [
        "int-2p31",
        "int-2p63",
        "int-1e18",
        "int-minus-1",
        "int-below-int64",
        "long-string",
        "nul-char",
        "control-chars",
        "array-for-scalar",
        "object-for-scalar",
        "deep-nesting",
        "duplicate-keys",
        "form-body-for-json",
        "json-body-for-form",
        "text-plain-body",
        "no-content-type",
    ]


def test_every_field_gets_exactly_the_kinds_of_its_type_and_location(probes):
    got: dict[tuple[str, str], set[str]] = {}
    for probe in probes:
        key = (probe.location, probe.field if probe.field is not None else probe.label)
        got.setdefault(key, set()).add(probe.kind)
    assert got == EXPECTED
    assert len(probes) == sum(map(len, EXPECTED.values())), "one probe per field and kind"


def test_excluded_operations_and_ignored_headers_get_no_probes(probes):
    assert not [p for p in probes if p.label == "GET /skipped" or p.field == "Authorization"]


def test_integers_travel_exactly(probes):
    assert b'"count": 9223372036854775808' in by(probes, "int-2p63", "count", "POST /items").body
    assert json_body(by(probes, "int-below-int64", "ratio", location="json"))["ratio"] == -(2**63) - 1
    assert "count=2147483648" in by(probes, "int-2p31", "count", "GET /items/{item_id}").target
    assert by(probes, "int-1e18", "item_id").target.startswith("/items/1000000000000000000?")
    assert ("X-Count", "-1") in by(probes, "int-minus-1", "X-Count").headers


def test_strings_are_long_or_carry_nul_and_control_characters(probes):
    assert len(json_body(by(probes, "long-string", "text"))["text"]) >= 10_000
    assert len(dict(by(probes, "long-string", "X-Trace").headers)["X-Trace"]) >= 10_000
    assert "\x00" in json_body(by(probes, "nul-char", "code"))["code"]
    assert "/items/a%00?" in by(probes, "nul-char", "item_id").target
    control = dict(parse_qsl(by(probes, "control-chars", "name").target.split("?", 1)[1]))["name"]
    assert set(extremes.CONTROL_CHARACTERS) <= set(control)
    assert "%00" in by(probes, "nul-char", "password").body.decode()


def test_arrays_and_objects_stand_where_scalars_are_expected(probes):
    assert isinstance(json_body(by(probes, "array-for-scalar", "flag", location="json"))["flag"], list)
    assert json_body(by(probes, "object-for-scalar", "count", location="json"))["count"] == {"$gt": ""}
    query = by(probes, "array-for-scalar", "count", "GET /items/{item_id}").target.split("?", 1)[1]
    assert [k for k, _ in parse_qsl(query)].count("count") == 2, "in a query, an array is the field twice"
    form = by(probes, "array-for-scalar", "username").body.decode()
    assert [k for k, _ in parse_qsl(form)].count("username") == 2


def test_deep_nesting_is_two_hundred_levels(probes):
    value, depth = json_body(by(probes, "deep-nesting"))["text"], 0
    while isinstance(value, list):
        value, depth = value[0] if value else None, depth + 1
    assert depth == extremes.NESTING_DEPTH == 200


def test_duplicate_keys_are_really_duplicated_in_the_bytes(probes):
    probe = by(probes, "duplicate-keys")
    assert probe.body.count(b'"text":') == 2
    pairs = json.loads(probe.body, object_pairs_hook=lambda items: items)
    assert [k for k, _ in pairs].count("text") == 2
    assert pairs[-1] == ("text", 2**63)


def test_bodies_in_the_wrong_media_type(probes):
    def content_type(probe):
        return dict(probe.headers).get("Content-Type")

    as_form = by(probes, "form-body-for-json")
    assert content_type(as_form) == "application/x-www-form-urlencoded"
    assert {k for k, _ in parse_qsl(as_form.body.decode())} == {"text", "code"}
    as_json = by(probes, "json-body-for-form")
    assert content_type(as_json) == "application/json" and set(json.loads(as_json.body)) == {"username", "password"}
    assert content_type(by(probes, "text-plain-body", label="POST /items")) == "text/plain"
    bare = by(probes, "no-content-type", label="POST /login")
    assert content_type(bare) is None and b"username=" in bare.body


def test_the_rest_of_each_request_is_a_valid_baseline(probes):
    body = json_body(by(probes, "long-string", "text"))
    assert body["code"] == "000000", "a value matching the documented pattern"
    assert set(body) == {"text", "code"}, "required properties only, besides the probed one"
    assert json_body(by(probes, "object-for-scalar", "flag"))["text"] == "a"
    query = dict(parse_qsl(by(probes, "nul-char", "item_id").target.split("?", 1)[1]))
    assert query["name"].startswith("hlc-fuzz-test-"), "the documented example address is replaced"
    assert "count" not in query, "optional parameters are left out"
    login = dict(parse_qsl(by(probes, "long-string", "password").body.decode()))
    assert login["username"].startswith("hlc-fuzz-test-") and len(login["password"]) >= 10_000


def test_email_fields_are_always_addresses_of_the_run(probes):
    """Extreme or not, an address field never carries someone else's address (no mail, no lockout)."""
    for probe in probes:
        text = unquote(probe.target) + (probe.body or b"").decode("utf-8", "replace") + str(probe.headers)
        assert "corp.example" not in text, probe.describe()
    nul = json_body(by(probes, "nul-char", "email"))["email"]
    assert nul.startswith("h\x00lc-fuzz-test-") and nul.endswith("@example.com")


def test_long_urls_may_be_refused_by_the_http_server_only(probes):
    assert by(probes, "long-string", "item_id").unjudged_statuses == {414, 431}
    assert by(probes, "long-string", "X-Trace").unjudged_statuses == {414, 431}
    assert by(probes, "long-string", "text").unjudged_statuses == frozenset()
    assert by(probes, "nul-char", "item_id").unjudged_statuses == frozenset()


def test_every_probe_is_a_well_formed_request(probes):
    for probe in probes:
        probe.target.encode("ascii")  # percent-encoded
        for _name, value in probe.headers:
            assert "\x00" not in value and "\r" not in value and "\n" not in value, probe.describe()


def test_interleaving_probes_every_operation_before_finishing_any():
    numbers = itertools.count()
    planned = extremes.probes(DOCUMENT, email_fields=frozenset(), fresh_email=lambda: f"x{next(numbers)}@example.com")
    mixed = extremes.interleaved(planned)
    assert sorted(map(id, mixed)) == sorted(map(id, planned))
    labels = {p.label for p in planned}
    assert {p.label for p in mixed[: len(labels)]} == labels
    items = [p.kind for p in mixed if p.label == "POST /items"]
    assert items[0] == "int-2p31" and items[-1] == "no-content-type", "numbers first, whole-body kinds last"


def test_describe_names_operation_field_and_kind(probes):
    assert by(probes, "int-2p63", "count", "POST /items").describe() == (
        "int-2p63 (2**63, one past the 64-bit signed maximum) in json field 'count' of POST /items"
    )
    assert by(probes, "duplicate-keys").describe().endswith("in the body of POST /items")


def test_path_parameters_name_the_runs_own_resource_except_in_their_own_probes():
    """Probes of other fields reach past the lookup; the path parameter's own probes replace it (never a real
    resource for a DELETE to remove)."""
    numbers = itertools.count()
    planned = extremes.probes(
        DOCUMENT,
        email_fields=frozenset(),
        fresh_email=lambda: f"x{next(numbers)}@example.com",
        path_values=lambda op: {"item_id": "own-1"} if "{item_id}" in op.path else {},
    )
    others = [p for p in planned if p.label == "GET /items/{item_id}" and p.field != "item_id"]
    assert others and all(p.target.startswith("/items/own-1?") for p in others)
    assert not any("own-1" in p.target for p in planned if p.field == "item_id")
    document = {
        "openapi": "3.1.0",
        "paths": {
            "/items/{item_id}": {
                "delete": {
                    "parameters": [
                        {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                    ]
                }
            }
        },
    }
    deletes = extremes.probes(
        document,
        email_fields=frozenset(),
        fresh_email=lambda: "x@example.com",
        path_values=lambda op: {"item_id": "own-1"},
    )
    assert deletes and not any("own-1" in p.target for p in deletes), "a DELETE never removes the run's resource"


def test_a_baseline_request_is_the_minimal_valid_request():
    baseline = extremes.baseline_request(
        DOCUMENT,
        next(op for op in operations(DOCUMENT) if op.label == "POST /items"),
        email_fields=frozenset(),
        fresh_email=lambda: "x@example.com",
        path_values={},
    )
    assert (baseline.method, baseline.target, baseline.kind) == ("POST", "/items", "baseline")
    assert json.loads(baseline.body) == {"text": "a", "code": "000000"}
    assert ("Content-Type", "application/json") in baseline.headers
    assert baseline.describe().startswith("baseline (a minimal valid request")
