"""Lockout, rate limits, CORS, headers, logs and patient data on the clean reference (LOCK-*, RATE-1, HDR-*, LOG-*, DATA-*)."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest

from tests.reference.helpers import (
    PASSWORD,
    assert_envelope,
    bearer,
    login,
    new_account,
    unique_email,
)

WRONG = "Wrong-Passw0rd!"


def test_five_failures_lock_the_account_even_for_the_right_password(client):
    account = new_account(client, "lock")
    for _ in range(5):
        assert_envelope(login(client, account.email, WRONG), 401, "INVALID_CREDENTIALS")
    for password in (WRONG, PASSWORD):
        locked = login(client, account.email.upper(), password)
        assert_envelope(locked, 429, "ACCOUNT_LOCKED")
        assert int(locked.headers["retry-after"]) > 0
    other = new_account(client, "notlocked")
    assert login(client, other.email).status_code == 200


def test_unknown_emails_are_counted_too(client):
    email = unique_email("ghost")
    codes = [login(client, email, WRONG).json()["error"]["code"] for _ in range(6)]
    assert codes == ["INVALID_CREDENTIALS"] * 5 + ["ACCOUNT_LOCKED"]


def test_success_resets_the_failure_count(client):
    account = new_account(client, "reset")
    for _ in range(4):
        login(client, account.email, WRONG)
    assert login(client, account.email).status_code == 200
    for _ in range(4):
        assert_envelope(login(client, account.email, WRONG), 401, "INVALID_CREDENTIALS")


async def burst_logins(base_url: str, email: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        attempts = [http.post("/api/auth/login", data={"username": email, "password": WRONG}) for _ in range(count)]
        return await asyncio.gather(*attempts)


def test_concurrent_failures_never_exceed_the_threshold(server):
    responses = asyncio.run(burst_logins(server.base_url, unique_email("race"), 48))
    codes = [r.json()["error"]["code"] for r in responses]
    assert codes.count("INVALID_CREDENTIALS") <= 5
    assert set(codes) <= {"INVALID_CREDENTIALS", "ACCOUNT_LOCKED"}


def test_register_rate_limit_is_per_client_ip(server, client):
    # Sent from another loopback address so that the other tests' budget is untouched.
    transport = httpx.HTTPTransport(local_address="127.0.0.7")
    with httpx.Client(base_url=server.base_url, transport=transport, timeout=30) as other_ip:
        statuses = [other_ip.post("/api/auth/register", json={"email": "bad"}).status_code for _ in range(61)]
        limited = other_ip.post("/api/auth/register", json={"email": "bad"})
    assert statuses[:60] == [422] * 60 and statuses[60] == 429
    assert_envelope(limited, 429, "RATE_LIMIT_EXCEEDED")
    assert 0 < int(limited.headers["retry-after"]) <= 61
    assert client.post("/api/auth/register", json={"email": "bad"}).status_code == 422


# A window far longer than the test, so that its few requests cannot straddle two windows.
STRICT_LIMITS = {f"RATE_LIMIT_{name}": "2/3600" for name in ("REGISTER", "LOGIN", "VERIFY_OTP", "REFRESH")}
RATE_LIMITED = {
    "register": ("/api/auth/register", {"json": {"email": "bad"}}),
    "login": ("/api/auth/login", {"data": {"username": "nobody@example.com", "password": WRONG}}),
    "verify_otp": ("/api/auth/verify-otp", {"json": {"email": "nobody@example.com", "otp_code": "000000"}}),
    "refresh": ("/api/auth/refresh", {"json": {"refresh_token": "not-a-jwt"}}),
}


@pytest.mark.parametrize("operation", RATE_LIMITED)
def test_strict_limit_of_each_rate_limited_operation_answers_429(servers, operation):
    server = servers.get("strict-limits", **STRICT_LIMITS)
    path, request = RATE_LIMITED[operation]
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        within = [http.post(path, **request).status_code for _ in range(2)]
        limited = http.post(path, **request)
    assert 429 not in within, within
    assert_envelope(limited, 429, "RATE_LIMIT_EXCEEDED")
    assert 0 < int(limited.headers["retry-after"]) <= 3601


def test_cors_echoes_allowed_origin_only(client):
    allowed = client.options(
        "/api/users/me", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}
    )
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-frame-options" in allowed.headers
    refused = client.options(
        "/api/users/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in refused.headers
    if refused.status_code >= 400:
        assert_envelope(refused, refused.status_code, refused.json()["error"]["code"])
    simple = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_logs_are_masked_json_with_request_ids(server, client):
    mark = server.log_mark()
    phone = "+1 555 867 5309"
    account = new_account(client, "logs", phone=phone)
    failed = login(client, account.email, WRONG)
    me = client.get("/api/users/me", headers=account.auth)
    searched = client.get("/api/patients/", headers=account.auth, params={"search": account.email})
    last = client.get("/api/users/me", headers=bearer("garbage.token.value"))
    lines = server.wait_for_log(last.headers["x-request-id"], mark)
    text = "\n".join(lines)
    for secret in (
        account.email,
        searched.request.url.query.decode(),
        PASSWORD,
        WRONG,
        account.access_token,
        account.refresh_token,
        "5558675309",
        "867 5309",
        "garbage.token.value",
    ):
        assert secret not in text, secret
    assert not re.search(r"(?<![0-9a-f.:-])123456(?![0-9a-f])", text), "the one-time code was logged"
    records = [json.loads(line) for line in lines]
    assert all({"event", "level", "timestamp"} <= set(r) for r in records)
    assert any(r.get("email", "").startswith(account.email[:3] + "***@***.") for r in records)
    assert any(r.get("phone") == "***5309" for r in records)
    request_ids = {r.get("request_id") for r in records if r["event"] == "request"}
    assert failed.headers["x-request-id"] in request_ids and me.headers["x-request-id"] in request_ids


def test_every_line_of_a_whole_run_is_json(server):
    for line in server.log_lines():
        record = json.loads(line)
        assert {"event", "level", "timestamp"} <= set(record), line


def test_patients_are_private_and_lists_read_your_writes(client):
    alice, bob = new_account(client, "alice"), new_account(client, "bob")
    created = client.post("/api/patients/", headers=alice.auth, json={"name": "Alice Patient", "group": "g1"})
    assert created.status_code == 201
    patient = created.json()
    assert re.fullmatch(r"PT\d{6}\d{3,}", patient["patient_id"])
    assert client.get("/api/patients/", headers=alice.auth).json()[0]["id"] == patient["id"]
    assert client.get("/api/patients/", headers=bob.auth).json() == []
    assert_envelope(client.get(f"/api/patients/{patient['id']}", headers=bob.auth), 404, "NOT_FOUND")
    assert_envelope(
        client.put(f"/api/patients/{patient['id']}", headers=bob.auth, json={"name": "Hijack"}), 404, "NOT_FOUND"
    )
    renamed = client.put(f"/api/patients/{patient['id']}", headers=alice.auth, json={"name": "Renamed"})
    assert renamed.json()["name"] == "Renamed"
    assert client.get("/api/patients/", headers=alice.auth).json()[0]["name"] == "Renamed"
    assert client.get("/api/patients/", headers=alice.auth, params={"group": "g1"}).json()[0]["name"] == "Renamed"
    assert client.delete(f"/api/patients/{patient['id']}", headers=alice.auth).status_code == 200
    assert client.get("/api/patients/", headers=alice.auth).json() == []


async def burst_creates(base_url: str, token: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=bearer(token)) as http:
        return await asyncio.gather(*(http.post("/api/patients/", json={"name": f"P{i:03d}"}) for i in range(count)))


def test_concurrent_creates_get_distinct_patient_ids(server, client):
    account = new_account(client, "ids")
    responses = asyncio.run(burst_creates(server.base_url, account.access_token, 24))
    assert all(r.status_code == 201 for r in responses)
    ids = [r.json()["patient_id"] for r in responses]
    assert len(set(ids)) == len(ids)


def test_search_is_literal(client):
    account = new_account(client, "search")
    for name in ("Plain Name", "Fifty 50% Off", "Under_score", "Back\\slash"):
        assert client.post("/api/patients/", headers=account.auth, json={"name": name}).status_code == 201

    def names(term: str) -> list[str]:
        response = client.get("/api/patients/", headers=account.auth, params={"search": term})
        return sorted(p["name"] for p in response.json())

    assert names("%") == ["Fifty 50% Off"]
    assert names("_") == ["Under_score"]
    assert names("\\") == ["Back\\slash"]
    assert names(".*") == []
    assert names("plain") == ["Plain Name"]
    assert names("\x00") == []  # SQLite's LIKE stops at a NUL: unguarded, this matched everything
