"""Unit tests of the OpenAPI reading helpers (declared parameters and their types)."""

from __future__ import annotations

from conformance import openapi

DOCUMENT = {
    "openapi": "3.1.0",
    "paths": {
        "/api/patients/": {
            "get": {
                "parameters": [
                    {"name": "search", "in": "query", "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
                    {"name": "group", "in": "query", "schema": {"type": ["string", "null"]}},
                    {"$ref": "#/components/parameters/Limit"},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                ]
            }
        },
        "/api/patients/{patient_id}": {
            "parameters": [{"name": "patient_id", "in": "path", "schema": {"type": "string", "format": "uuid"}}],
            "get": {},
            "put": {"parameters": [{"name": "patient_id", "in": "path", "schema": {"type": "integer"}}]},
        },
        "/api/users/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}]}},
    },
    "components": {
        "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"$ref": "#/components/schemas/Int"}}},
        "schemas": {"Int": {"type": "integer", "nullable": True}},
    },
}


def test_query_parameters_with_their_types_refs_followed():
    found = {p.name: p for p in openapi.parameters(DOCUMENT, "GET", "/api/patients/", location="query")}
    assert list(found) == ["search", "group", "limit"]
    assert found["search"].types == {"string", "null"} and found["search"].is_string
    assert found["group"].types == {"string", "null"}
    assert found["limit"].types == {"integer", "null"} and not found["limit"].is_string


def test_path_templates_match_whatever_the_placeholder_is_called():
    (get,) = openapi.parameters(DOCUMENT, "GET", "/api/patients/{id}", location="path")
    assert (get.name, get.format, get.types) == ("patient_id", "uuid", {"string"})
    (put,) = openapi.parameters(DOCUMENT, "PUT", "/api/patients/{id}", location="path")
    assert put.types == {"integer"}  # the operation's own parameter overrides the path item's


def test_a_plain_string_has_no_format():
    (plain,) = openapi.parameters(DOCUMENT, "GET", "/api/users/{id}")
    assert plain.is_string and plain.format is None and plain.pattern is None


def test_unknown_paths_and_odd_documents_give_nothing():
    assert openapi.parameters(DOCUMENT, "GET", "/nowhere") == []
    assert openapi.parameters({"paths": "nope"}, "GET", "/api/patients/") == []
    assert openapi.parameters(None, "GET", "/") == []
    broken = {"paths": {"/x": {"get": {"parameters": [{"$ref": "#/missing"}, "junk", {"name": "q", "in": "query"}]}}}}
    (q,) = openapi.parameters(broken, "GET", "/x")
    assert q.types == frozenset() and not q.is_string
