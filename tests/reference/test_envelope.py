"""Errors of every origin come as the envelope with all headers (ENV-*, RID-*, HDR-1, SIZE-1), through real HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.reference.helpers import assert_envelope, bearer, register, unique_email

SECURITY = (
    "x-content-type-options",
    "x-frame-options",
    "content-security-policy",
    "referrer-policy",
    "strict-transport-security",
    "cache-control",
    "x-request-id",
    "x-debug-jwt-decodes",
)
ELEVEN_MIB = 11 * 1024 * 1024


def assert_security_headers(response: httpx.Response) -> None:
    __tracebackhide__ = True
    missing = [name for name in SECURITY if name not in response.headers]
    assert not missing, f"{response.request.method} {response.request.url} lacks {missing}"
    assert "server" not in response.headers and "x-powered-by" not in response.headers


def test_unknown_route_is_404_envelope_with_every_header(client):
    response = client.get("/no/such/route")
    assert_envelope(response, 404, "NOT_FOUND")
    assert_security_headers(response)


def test_wrong_method_is_405_with_allow(client):
    response = client.delete("/api/users/me")
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "PUT"}
    assert_security_headers(response)


def test_malformed_json_is_422(client):
    response = client.post("/api/auth/register", content=b'{"email": ', headers={"content-type": "application/json"})
    assert_envelope(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "not-an-email", "password": "Str0ng!Password", "full_name": "X"}, "email"),
        ({"email": "user-x@example.com", "password": "weakpassword", "full_name": "X"}, "password"),
        ({"email": {"$ne": None}, "password": "Str0ng!Password", "full_name": "X"}, "email"),
        ({"email": "user-x@example.com", "password": "Str0ng!Password"}, "full_name"),
    ],
)
def test_schema_violation_names_the_field(client, body, field):
    response = client.post("/api/auth/register", json=body)
    assert assert_envelope(response, 422, "VALIDATION_ERROR")["error"]["field"] == field


def test_operator_object_in_patient_body_is_422(client, account):
    response = client.post("/api/patients/", headers=account.auth, json={"name": {"$ne": None}})
    assert assert_envelope(response, 422, "VALIDATION_ERROR")["error"]["field"] == "name"


@pytest.mark.parametrize(
    "name, value", [("skip", 2**63), ("skip", 10**18), ("skip", -1), ("limit", 2**63), ("limit", 0)]
)
def test_paging_out_of_its_documented_bounds_is_422(client, account, name, value):
    response = client.get("/api/patients/", headers=account.auth, params={name: value})
    assert assert_envelope(response, 422, "VALIDATION_ERROR")["error"]["field"] == name


def test_unknown_plain_fields_are_ignored(client):
    email = unique_email("extra")
    response = register(client, email, is_admin=True, role="admin")
    assert response.status_code == 201, response.text


def test_missing_patient_names_resource_and_identifier(client, account):
    response = client.get("/api/patients/abc123", headers=account.auth)
    body = assert_envelope(response, 404, "NOT_FOUND")
    assert body["error"]["context"] == {"resource": "patient", "identifier": "abc123"}


def test_collection_path_without_slash_redirects(client, account):
    response = client.get("/api/patients", headers=account.auth)
    assert response.status_code == 307
    assert response.headers["location"].endswith("/api/patients/")


@pytest.mark.parametrize(
    "method, path, size",
    [
        ("POST", "/api/auth/login", ELEVEN_MIB),
        ("PUT", "/nowhere", 10 * 1024 * 1024 + 1),
        ("POST", "/api/patients/", ELEVEN_MIB),
    ],
)
def test_oversized_body_with_content_length_gets_413(client, method, path, size):
    response = client.request(method, path, content=b"x" * size, headers=bearer("not-a-token"))
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert_security_headers(response)
    assert response.headers["x-debug-jwt-decodes"] == "0"  # rejected before authentication


LIMIT = 10 * 1024 * 1024


@pytest.mark.parametrize(
    "method, path, size, chunk",
    [
        ("POST", "/api/users/me/password", ELEVEN_MIB, 1024 * 1024),
        ("DELETE", "/api/patients/x", ELEVEN_MIB, 1024 * 1024),
        ("PATCH", "/nowhere", LIMIT + 1, 64 * 1024),  # the body ends in the chunk that crosses the limit
    ],
)
def test_oversized_chunked_body_gets_413(client, method, path, size, chunk):
    body = b"y" * size

    def chunks():
        for start in range(0, size, chunk):
            yield body[start : start + chunk]

    response = client.request(method, path, content=chunks(), headers=bearer("not-a-token"))
    assert "content-length" not in response.request.headers
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_body_at_the_limit_is_not_413(client):
    response = client.post(
        "/api/auth/login", content=b"a" * LIMIT, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code != 413


def test_unhandled_error_is_500_without_internals(client, admin):
    response = client.get("/api/debug/sentry-test", headers=admin.auth)
    assert_envelope(response, 500, "INTERNAL_ERROR")
    assert_security_headers(response)
    for leak in ("Traceback", "DeliberateError", "SELECT", ".py", "sentry-test"):
        assert leak not in response.text


def test_well_formed_request_id_is_propagated(client):
    incoming = str(uuid.uuid4())
    assert client.get("/health", headers={"X-Request-ID": incoming}).headers["x-request-id"] == incoming


def test_malformed_request_id_is_replaced(client):
    response = client.get("/nope", headers={"X-Request-ID": "<script>"})
    body = assert_envelope(response, 404, "NOT_FOUND")
    assert body["request_id"] != "<script>"


def test_generated_request_ids_are_unique(client):
    ids = {client.get("/health").headers["x-request-id"] for _ in range(30)}
    assert len(ids) == 30


def test_openapi_document_is_served(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.")
