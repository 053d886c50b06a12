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


def test_a_self_referential_ref_resolves_to_nothing_instead_of_looping():
    document = {
        "paths": {
            "/x": {
                "get": {
                    "parameters": [
                        {"name": "loop", "in": "query", "schema": {"$ref": "#/components/schemas/Loop"}},
                        {"name": "tree", "in": "query", "schema": {"$ref": "#/components/schemas/Tree"}},
                        {"$ref": "#/components/parameters/Self"},
                    ]
                }
            }
        },
        "components": {
            "parameters": {"Self": {"$ref": "#/components/parameters/Self"}},
            "schemas": {
                "Loop": {"$ref": "#/components/schemas/Loop2"},
                "Loop2": {"$ref": "#/components/schemas/Loop"},
                # a schema that names itself among its alternatives: the walk visits it once
                "Tree": {"anyOf": [{"$ref": "#/components/schemas/Tree"}, {"type": "string", "format": "slug"}]},
            },
        },
    }
    assert openapi.resolve(document, {"$ref": "#/components/schemas/Loop"}) == {}
    found = {p.name: p for p in openapi.parameters(document, "GET", "/x")}
    assert list(found) == ["loop", "tree"]  # the parameter that is only a reference to itself is no parameter
    assert found["loop"].types == frozenset()
    assert found["tree"].types == {"string"} and found["tree"].format == "slug"


def test_a_long_ref_chain_is_followed_to_its_end():
    # The two old readers disagreed here: conformance.openapi gave up after about 20 hops (the parameter had no
    # type, so DATA-4 skipped a string filter) while conformance.openapi followed 32 (the fuzzer typed it).
    schemas = {f"Alias{i}": {"$ref": f"#/components/schemas/Alias{i + 1}"} for i in range(40)}
    schemas["Alias40"] = {"type": "string"}
    document = {
        "paths": {
            "/x": {
                "get": {"parameters": [{"name": "q", "in": "query", "schema": {"$ref": "#/components/schemas/Alias0"}}]}
            }
        },
        "components": {"schemas": schemas},
    }
    (q,) = openapi.parameters(document, "GET", "/x")
    assert q.is_string
    (op,) = openapi.operations(document)
    assert openapi.resolve(document, op.parameters[0]["schema"]) == {"type": "string"}


def test_remote_and_dangling_refs_say_nothing_and_pointers_into_lists_are_followed():
    document = {"paths": {"/x": {"get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": "integer"}}]}}}}
    assert openapi.resolve(document, {"$ref": "other.yaml#/components/schemas/A"}) == {}
    assert openapi.resolve(document, {"$ref": "#/components/schemas/Missing"}) == {}
    assert openapi.resolve(document, {"$ref": "#/paths/~1x/get/parameters/0/schema"}) == {"type": "integer"}


def test_one_route_shape_for_placeholders_and_trailing_slashes():
    assert openapi.route_shape("/api/patients/{patient_id}") == openapi.route_shape("/api/patients/{id}/")
    assert openapi.route_shape("/api/patients/") == "/api/patients"
    assert openapi.route_shape("/") == "/"
    assert openapi.route_shape("/a/{x}/b") != openapi.route_shape("/a/b/{x}")


def test_untyped_enums_type_their_values_and_operations_merge_path_item_parameters():
    assert openapi.schema_types({}, {"enum": ["a", 1, None]}) == {"string", "integer", "null"}
    (get, put) = [op for op in openapi.operations(DOCUMENT) if op.path == "/api/patients/{patient_id}"]
    assert (get.label, put.label) == ("GET /api/patients/{patient_id}", "PUT /api/patients/{patient_id}")
    assert [p["schema"]["type"] for p in put.parameters] == ["integer"]
