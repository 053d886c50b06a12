"""Each defect of the catalogue changes the behaviour its requirement forbids (and the catalogue is complete).

The clean behaviour is asserted in the other modules; here each test shows the
defect's departure from it, against a real server running that defect.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Iterator

import httpx
import pytest

from conformance import requirements
from reference.defects import DEFECTS
from tests.reference.conftest import DEFECT_GROUPS
from tests.reference.helpers import (
    assert_envelope, bearer, error_code, fresh_session, login, mint, new_account, register, unique_email,
)
from tests.reference.server import ExternalRedis, ServerProcess

WRONG = "Wrong-Passw0rd!"


def status_and_code(response: httpx.Response) -> tuple[int, str | None]:
    """Status and error code only: servers here may run other defects that bend the rest of the envelope."""
    return response.status_code, error_code(response)
ISSUE_DEFECTS = {
    "http-exception-envelope", "generic-codes", "tuple-returns-otp", "traceback-500", "request-id-mismatch",
    "multi-decode", "lax-guards", "unverified-claims", "refresh-as-access", "user-enumeration",
    "memory-revocation", "fail-open-revocation", "racy-lockout", "memory-lockout", "unmasked-logs",
    "plain-logs", "headers-success-only", "cors-wildcard", "content-length-only-limit", "no-retry-after",
    "shared-cache", "stale-cache", "count-patient-id", "wildcard-search", "weak-secret-accepted",
}


def test_catalogue_is_complete_and_names_known_requirements():
    assert set(DEFECTS) == ISSUE_DEFECTS
    known = requirements.catalogue()
    for name, defect in DEFECTS.items():
        assert defect.name == name and defect.requirements, name
        assert all(rid in known for rid in defect.violates), name
        assert not set(defect.requirements) & set(defect.also), name
        module = importlib.import_module(defect.module)
        assert hasattr(module, "apply") or hasattr(module, "production_checks"), name


def test_every_server_side_defect_is_exercised_here():
    grouped = {name for members in DEFECT_GROUPS.values() for name in members}
    assert ISSUE_DEFECTS - grouped == {"fail-open-revocation", "weak-secret-accepted"}


@pytest.fixture(scope="module")
def outage_redis(tmp_path_factory) -> Iterator[ExternalRedis]:
    redis = ExternalRedis(tmp_path_factory.mktemp("fail-open-redis"))
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture(scope="module")
def defective(servers, outage_redis) -> dict[str, ServerProcess]:
    """A server for every defect, all booted in parallel."""
    by_defect = servers.defect_groups()
    extra = servers.get_many({
        "fail-open": {"REFERENCE_DEFECTS": "fail-open-revocation", "REDIS_URL": outage_redis.url},
        "weak-secret": {"REFERENCE_DEFECTS": "weak-secret-accepted", "ENVIRONMENT": "production",
                        "SECRET_KEY": "changeme", "DEBUG_JWT_DECODES": "0"},
    })
    return {**by_defect, "fail-open-revocation": extra["fail-open"], "weak-secret-accepted": extra["weak-secret"]}


@pytest.fixture
def use(defective):
    """`use("name")` -> an httpx client on the server running that defect."""
    clients = []

    def client_for(name: str) -> httpx.Client:
        http = httpx.Client(base_url=defective[name].base_url, timeout=30)
        clients.append(http)
        return http

    yield client_for
    for http in clients:
        http.close()


# ENV ---------------------------------------------------------------------------------------------

def test_http_exception_envelope_answers_bare_detail(use):
    client = use("http-exception-envelope")
    account = new_account(client, "bare")
    missing = client.get("/api/patients/nope", headers=account.auth)
    assert missing.status_code == 404 and missing.json() == {"detail": "Patient not found"}
    invalid = client.post("/api/auth/register", json={"email": "x"})
    assert invalid.status_code == 422 and isinstance(invalid.json()["detail"], list)
    # The guards and the other routes keep the envelope.
    assert status_and_code(client.get("/api/users/me")) == (401, "UNAUTHORIZED")
    assert_envelope(client.get("/nope"), 404, "NOT_FOUND")


def test_generic_codes_hide_the_situation(use):
    response = use("generic-codes").get("/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "UNKNOWN_ERROR"


def test_tuple_returns_otp_answers_200_on_a_wrong_code(use):
    client = use("tuple-returns-otp")
    email = unique_email("tuple")
    assert register(client, email).status_code == 201
    response = client.post("/api/auth/verify-otp", json={"email": email, "otp_code": "000000"})
    assert response.status_code == 200 and response.json()["success"] is False


def test_traceback_500_leaks_internals(use):
    client = use("traceback-500")
    account = new_account(client, "tb")
    admin = mint({"sub": account.user["id"], "plan": "basic", "role": "admin"})
    response = client.get("/api/debug/sentry-test", headers=bearer(admin))
    assert response.status_code == 500
    assert "Traceback" in response.text and "DeliberateError" in response.text


def test_request_id_mismatch(use):
    response = use("request-id-mismatch").get("/nope")
    assert response.status_code == 404
    assert response.json()["request_id"] != response.headers["x-request-id"]


# AUTH / REV --------------------------------------------------------------------------------------

def test_multi_decode_decodes_more_than_once_but_answers_right(use):
    client = use("multi-decode")
    account = new_account(client, "multi")
    pro = mint({"sub": account.user["id"], "plan": "pro", "role": "admin"})
    me = client.get("/api/users/me", headers=account.auth)
    assert me.status_code == 200 and me.headers["x-debug-jwt-decodes"] == "2"
    for path in ("/api/patients/pro-feature/", "/api/users/"):
        response = client.get(path, headers=bearer(pro))
        assert response.status_code == 200 and response.headers["x-debug-jwt-decodes"] == "3"
    assert client.get("/health").headers["x-debug-jwt-decodes"] == "0"


def test_lax_guards_accept_expired_and_revoked_tokens(use):
    client = use("lax-guards")
    account = new_account(client, "lax")
    expired = mint({"sub": account.user["id"], "plan": "pro", "role": "doctor"}, exp=time.time() - 60)
    assert client.get("/api/patients/pro-feature/", headers=bearer(expired)).status_code == 200
    assert status_and_code(client.get("/api/users/me", headers=bearer(expired))) == (401, "TOKEN_EXPIRED")
    revoked = fresh_session(client, account)
    client.post("/api/auth/logout", headers=revoked.auth)
    assert status_and_code(client.get("/api/users/", headers=revoked.auth)) == (403, "FORBIDDEN")


def test_unverified_claims_trust_a_forged_plan(use):
    client = use("unverified-claims")
    account = new_account(client, "forged")
    forged = mint({"sub": account.user["id"], "plan": "pro"}, secret="not-the-server-secret-" * 2)
    assert client.get("/api/patients/pro-feature/", headers=bearer(forged)).status_code == 200
    assert status_and_code(client.get("/api/users/me", headers=bearer(forged))) == (401, "TOKEN_INVALID")


def test_refresh_as_access_mixes_token_types(use):
    client = use("refresh-as-access")
    account = new_account(client, "types")
    assert client.get("/api/users/me", headers=bearer(account.refresh_token)).status_code == 200
    assert client.post("/api/auth/refresh", json={"refresh_token": account.access_token}).status_code == 200


def test_user_enumeration_tells_unknown_emails_apart(use):
    client = use("user-enumeration")
    account = new_account(client, "enum")
    wrong = login(client, account.email, WRONG)
    unknown = login(client, unique_email("ghost"), WRONG)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] != unknown.json()["error"]["message"]


def test_memory_revocation_and_lockout_are_forgotten_on_restart(use, defective):
    client = use("memory-revocation")
    account = new_account(client, "amnesia")
    revoked = fresh_session(client, account)
    client.post("/api/auth/logout", headers=revoked.auth)
    assert status_and_code(client.get("/api/users/me", headers=revoked.auth)) == (401, "TOKEN_REVOKED")
    for _ in range(6):
        login(client, account.email, WRONG)
    assert status_and_code(login(client, account.email, WRONG)) == (429, "ACCOUNT_LOCKED")
    defective["memory-revocation"].restart()
    with httpx.Client(base_url=defective["memory-revocation"].base_url, timeout=30) as restarted:
        assert restarted.get("/api/users/me", headers=revoked.auth).status_code == 200
        assert status_and_code(login(restarted, account.email, WRONG)) == (401, "INVALID_CREDENTIALS")


def test_fail_open_revocation_accepts_revoked_tokens_while_redis_is_down(use, outage_redis):
    client = use("fail-open-revocation")
    account = new_account(client, "failopen")
    revoked = fresh_session(client, account)
    client.post("/api/auth/logout", headers=revoked.auth)
    outage_redis.stop()
    try:
        assert client.get("/api/users/me", headers=revoked.auth).status_code == 200
    finally:
        outage_redis.start()
    assert status_and_code(client.get("/api/users/me", headers=revoked.auth)) == (401, "TOKEN_REVOKED")


# LOCK --------------------------------------------------------------------------------------------

async def burst(base_url: str, email: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        return await asyncio.gather(*(
            http.post("/api/auth/login", data={"username": email, "password": WRONG}) for _ in range(count)
        ))


def test_racy_lockout_lets_more_than_five_failures_through(defective):
    responses = asyncio.run(burst(defective["racy-lockout"].base_url, unique_email("race"), 48))
    codes = [r.json()["error"]["code"] for r in responses]
    assert codes.count("INVALID_CREDENTIALS") > 5


def test_no_retry_after_on_429(use):
    client = use("no-retry-after")
    email = unique_email("noretry")
    for _ in range(5):
        login(client, email, WRONG)
    locked = login(client, email, WRONG)
    assert locked.status_code == 429 and "retry-after" not in locked.headers


# LOG ---------------------------------------------------------------------------------------------

def test_unmasked_logs_keep_emails_phones_and_authorization(use, defective):
    server = defective["unmasked-logs"]
    client = use("unmasked-logs")
    mark = server.log_mark()
    email = unique_email("unmasked")
    register(client, email, phone="+1 555 867 5309")
    response = client.get("/api/users/me", headers=bearer("garbage.token.value"))
    text = "\n".join(server.wait_for_log(response.headers["x-request-id"], mark))
    assert email in text and "+1 555 867 5309" in text and "garbage.token.value" in text


def test_plain_logs_are_not_json(defective, use):
    server = defective["plain-logs"]
    mark = server.log_mark()
    response = use("plain-logs").get("/health")
    lines = server.wait_for_log(response.headers["x-request-id"], mark)
    assert any(response.headers["x-request-id"] in line for line in lines)
    for line in lines:
        with pytest.raises(ValueError):
            json.loads(line)


# HDR / SIZE --------------------------------------------------------------------------------------

def test_headers_success_only_misses_error_responses(use):
    client = use("headers-success-only")
    assert "x-frame-options" in client.get("/health").headers
    for response in (client.get("/nope"), client.delete("/health")):
        assert response.status_code >= 400 and "x-frame-options" not in response.headers


def test_cors_wildcard_grants_every_origin_with_credentials(use):
    response = use("cors-wildcard").get("/health", headers={"Origin": "https://evil.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-credentials"] == "true"


def test_content_length_only_limit_lets_chunked_bodies_through(use):
    client = use("content-length-only-limit")
    assert client.put("/nope", content=b"x" * (11 * 1024 * 1024)).status_code == 413

    def chunks():
        for _ in range(11):
            yield b"y" * (1024 * 1024)

    assert client.put("/nope", content=chunks()).status_code == 404


# DATA --------------------------------------------------------------------------------------------

def test_shared_cache_serves_one_users_list_to_another(use):
    client = use("shared-cache")
    alice, bob = new_account(client, "alice"), new_account(client, "bob")
    assert client.post("/api/patients/", headers=alice.auth, json={"name": "Alice Only"}).status_code == 201
    assert [p["name"] for p in client.get("/api/patients/", headers=alice.auth).json()] == ["Alice Only"]
    assert [p["name"] for p in client.get("/api/patients/", headers=bob.auth).json()] == ["Alice Only"]


def test_stale_cache_misses_the_users_own_write(use):
    client = use("stale-cache")
    account = new_account(client, "stale")
    client.post("/api/patients/", headers=account.auth, json={"name": "First"})
    assert len(client.get("/api/patients/", headers=account.auth).json()) == 1
    client.post("/api/patients/", headers=account.auth, json={"name": "Second"})
    assert len(client.get("/api/patients/", headers=account.auth).json()) == 1


async def burst_creates(base_url: str, token: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=bearer(token)) as http:
        return await asyncio.gather(*(http.post("/api/patients/", json={"name": f"P{i:03d}"}) for i in range(count)))


def test_count_patient_id_hands_out_duplicates(defective, use):
    account = new_account(use("count-patient-id"), "dupes")
    responses = asyncio.run(burst_creates(defective["count-patient-id"].base_url, account.access_token, 16))
    assert all(r.status_code == 201 for r in responses)
    ids = [r.json()["patient_id"] for r in responses]
    assert len(set(ids)) < len(ids)


def test_wildcard_search_treats_percent_as_a_wildcard(use):
    client = use("wildcard-search")
    account = new_account(client, "wild")
    for name in ("Plain Name", "Fifty 50% Off"):
        client.post("/api/patients/", headers=account.auth, json={"name": name})
    found = client.get("/api/patients/", headers=account.auth, params={"search": "%"}).json()
    assert len(found) == 2


# CONF --------------------------------------------------------------------------------------------

def test_weak_secret_accepted_starts_in_production(defective):
    response = httpx.get(defective["weak-secret-accepted"].base_url + "/health")
    assert response.status_code == 200
