"""The managed target on the real reference, started exactly as the harness starts it."""

from __future__ import annotations

import secrets

import httpx
import pytest

from conformance.profile import load
from conformance.sut import TargetSettings, open_target

PASSWORD = "Str0ng!Passw0rd-hlc"


@pytest.fixture(scope="module")
def profile():
    return load()


@pytest.fixture(scope="module")
def target(profile):
    opened = open_target(TargetSettings(), profile)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(target):
    with httpx.Client(base_url=target.base_url, timeout=10, trust_env=False) as http:
        yield http


@pytest.fixture(scope="module")
def token(target, client, profile):
    """An access token of an account registered and verified through the SMTP sink."""
    email = f"hlc-target-{secrets.token_hex(4)}@example.com"
    body = {"email": email, "password": PASSWORD, "full_name": "Target Test", "phone": "+15550001234"}
    assert client.post(profile.operation("register").path, json=body).status_code == 201
    code = target.otp_code(email)
    verified = client.post(profile.operation("verify_otp").path, json={"email": email, "otp_code": code})
    assert verified.status_code == 200, verified.text
    return verified.json()["access_token"]


def me(client: httpx.Client, token: str, base_url: str | None = None) -> httpx.Response:
    url = (base_url or "") + "/api/users/me"
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_health_answers_and_the_sut_is_instrumented(target, client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "healthy"
    assert response.headers.get("X-Debug-JWT-Decodes") == "0"


def test_the_otp_code_arrives_by_mail_and_verifies_the_account(client, token):
    assert me(client, token).status_code == 200


def test_the_suts_json_log_is_captured(target, client):
    mark = target.log_mark()
    request_id = client.get("/health").headers["X-Request-ID"]
    assert any(request_id in line for line in target.log_lines(mark))


def test_a_seeded_admin_can_log_in_as_admin(target, client, profile):
    admin = target.privileged_account(role="admin")
    login = client.post(profile.operation("login").path, data={"username": admin.email, "password": admin.password})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["role"] == "admin"


def test_redis_outage_fails_closed_and_recovers(target, client, token):
    target.stop_store("redis")
    try:
        assert me(client, token).status_code == 503
    finally:
        target.start_store("redis")
    assert me(client, token).status_code == 200


def test_the_first_request_after_a_silent_redis_restart_is_served(target, client, token):
    """A pooled connection left dead by a Redis restart is retried, not answered 503 (a sync Retry did that)."""
    assert me(client, token).status_code == 200
    target.stop_store("redis")
    target.start_store("redis")
    assert me(client, token).status_code == 200


def test_tokens_survive_a_restart_and_work_on_the_peer(target, client, token):
    target.restart()
    assert me(client, token).status_code == 200
    peer = target.peer_url()
    assert peer != target.base_url
    assert me(client, token, base_url=peer).status_code == 200


def test_a_production_start_with_a_weak_secret_is_refused(target):
    result = target.start_with({"ENVIRONMENT": "production", "SECRET_KEY": "short"}, timeout=10)
    assert result.exit_code not in (None, 0)
    assert "SECRET_KEY" in result.output
