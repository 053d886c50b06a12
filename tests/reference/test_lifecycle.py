"""Process lifecycle: clean shutdown, restarts, Redis outages, production configuration (REV-3/5, LOCK-4, CONF-1)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.reference.helpers import assert_envelope, fresh_session, login, new_account, register, unique_email
from tests.reference.mail_sink import MailSink
from tests.reference.server import ExternalRedis, ServerProcess, base_env, free_port, run_command

STRONG_SECRET = "q7Vn2LrX9pT4wZ8mK3sB6yH1dF5gJ0cA-prod-key"


@pytest.fixture(scope="module")
def redis_for_outage(tmp_path_factory) -> Iterator[ExternalRedis]:
    redis = ExternalRedis(tmp_path_factory.mktemp("external-redis"))
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture(scope="module")
def mail_sink() -> Iterator[MailSink]:
    with MailSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def lifecycle(servers, redis_for_outage, mail_sink) -> dict[str, ServerProcess]:
    """The servers of this module, booted in parallel."""
    return servers.get_many(
        {
            "restart": {},
            "mail": {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_sink.port), "REFERENCE_FIXED_OTP": ""},
            "outage": {"REDIS_URL": redis_for_outage.url},
            "production": {"ENVIRONMENT": "production", "SECRET_KEY": STRONG_SECRET, "DEBUG_JWT_DECODES": "0"},
        }
    )


def test_verification_code_arrives_by_smtp(lifecycle, mail_sink):
    with httpx.Client(base_url=lifecycle["mail"].base_url, timeout=30) as client:
        email = unique_email("mail")
        assert register(client, email).status_code == 201
        subject, code = mail_sink.wait_for_code(email)
        assert subject == "HealLog verification code" and len(code) == 6
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        assert_envelope(
            client.post("/api/auth/verify-otp", json={"email": email, "otp_code": wrong}), 400, "INVALID_OTP"
        )
        verified = client.post("/api/auth/verify-otp", json={"email": email, "otp_code": code})
        assert verified.status_code == 200 and verified.json()["user"]["is_verified"] is True


def test_restart_keeps_revocations_lockouts_and_sessions(lifecycle):
    server = lifecycle["restart"]
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        account = new_account(client, "restart")
        revoked = fresh_session(client, account)
        assert client.post("/api/auth/logout", headers=revoked.auth).status_code == 200
        locked = unique_email("locked")
        for _ in range(6):
            login(client, locked, "Wrong-Passw0rd!")
    assert server.children, "the embedded redis-server should be a child"
    assert server.stop(signal.SIGTERM) == 0
    assert server.survivors == [], "a child outlived SIGTERM"
    server.start()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.get("/api/users/me", headers=account.auth).status_code == 200  # positive control
        assert_envelope(client.get("/api/users/me", headers=revoked.auth), 401, "TOKEN_REVOKED")
        assert_envelope(login(client, locked, "Wrong-Passw0rd!"), 429, "ACCOUNT_LOCKED")


def test_redis_outage_fails_closed_and_recovers(lifecycle, redis_for_outage):
    redis = redis_for_outage
    with httpx.Client(base_url=lifecycle["outage"].base_url, timeout=30) as client:
        account = new_account(client, "outage")
        revoked = fresh_session(client, account)
        client.post("/api/auth/logout", headers=revoked.auth)
        redis.stop()
        assert client.get("/health").status_code == 200
        for session in (account, revoked):
            assert_envelope(client.get("/api/users/me", headers=session.auth), 503, "SERVICE_UNAVAILABLE")
        assert_envelope(login(client, account.email), 503, "SERVICE_UNAVAILABLE")
        redis.start()
        assert client.get("/api/users/me", headers=account.auth).status_code == 200
        assert_envelope(client.get("/api/users/me", headers=revoked.auth), 401, "TOKEN_REVOKED")


def test_production_has_no_error_trigger_and_stops_on_sigint(lifecycle):
    server = lifecycle["production"]
    response = httpx.get(server.base_url + "/api/debug/sentry-test")
    assert_envelope(response, 404, "NOT_FOUND")
    assert "x-debug-jwt-decodes" not in response.headers
    assert server.stop(signal.SIGINT) == 0
    assert server.survivors == [], "a child outlived SIGINT"


BAD_PRODUCTION_SETTINGS = {
    "short secret": ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    "secret word": ({"SECRET_KEY": "this-is-my-very-long-SECRET-value-0123456789"}, "SECRET_KEY"),
    "changeme": ({"SECRET_KEY": "ChangeMe-but-it-is-long-enough-0123456789"}, "SECRET_KEY"),
    "your-secret-key": ({"SECRET_KEY": "YOUR-SECRET-KEY-padded-to-be-long-enough-000"}, "SECRET_KEY"),
    "email incomplete": ({"EMAIL_ENABLED": "true", "EMAIL_HOST": "smtp.example.com"}, "EMAIL_USER"),
    "debug instrumentation": ({"DEBUG_JWT_DECODES": "1"}, "DEBUG_JWT_DECODES"),
    "unknown defect": ({"REFERENCE_DEFECTS": "no-such-defect"}, "no-such-defect"),
}


@pytest.fixture(scope="module")
def refused_starts(tmp_path_factory) -> dict[str, tuple[int, str, float]]:
    """Every bad production configuration started at once: exit code, stderr, seconds to exit."""
    started = {}
    for case, (env, _named) in BAD_PRODUCTION_SETTINGS.items():
        settings = {"ENVIRONMENT": "production", "SECRET_KEY": STRONG_SECRET, "DEBUG_JWT_DECODES": "0", **env}
        environment = base_env(**settings)
        environment.pop("REFERENCE_FIXED_OTP", None)
        data_dir = tmp_path_factory.mktemp("refused")
        process = subprocess.Popen(
            [sys.executable, "-m", "reference", "serve", "--port", str(free_port()), "--data-dir", str(data_dir)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started[case] = (process, time.monotonic())
    results = {}
    for case, (process, began) in started.items():
        try:
            _out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _out, err = process.communicate()
        results[case] = (process.returncode, err, time.monotonic() - began)
    return results


@pytest.mark.parametrize("case", BAD_PRODUCTION_SETTINGS)
def test_bad_production_configuration_refuses_to_start(refused_starts, case):
    code, stderr, _seconds = refused_starts[case]
    assert code not in (0, None)
    assert BAD_PRODUCTION_SETTINGS[case][1] in stderr
    assert json.loads(stderr.strip().splitlines()[-1])["level"] == "error"


def test_seed_user_creates_a_verified_privileged_account(server, client):
    email = unique_email("seed")
    result = run_command(
        [
            "seed-user",
            "--email",
            email,
            "--password",
            "Seed-Passw0rd!x",
            "--plan",
            "pro",
            "--data-dir",
            str(server.data_dir),
        ],
        server.env,
    )
    assert result.returncode == 0
    assert len(json.loads(result.stdout)["id"]) == 32
    session = login(client, email, "Seed-Passw0rd!x")
    assert session.json()["user"]["plan"] == "pro"
