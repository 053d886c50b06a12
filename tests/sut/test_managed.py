"""The managed target, driven with the stub SUT: start, capabilities, and clean stops."""

from __future__ import annotations

import httpx
import pytest
import redis

from conformance.outcomes import NotRun
from conformance.profile import load
from conformance.sut import TargetError, TargetSettings, managed, open_target
from conformance.sut import process as process_module
from conformance.sut.providers import docker_available
from conformance.sut.smtp_sink import SmtpSink

from .conftest import STUB_SEED, STUB_SERVE


@pytest.fixture(scope="module")
def profile():
    return load()


@pytest.fixture(scope="module")
def target(profile):
    opened = open_target(TargetSettings(sut_cmd=STUB_SERVE, seed_cmd=STUB_SEED, sut_env={"STUB_FLAG": "x"}), profile)
    yield opened
    opened.close()


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=5, trust_env=False)


@pytest.fixture
def nothing_left_running():
    """True when every child started since the test began has been stopped again."""
    before = set(process_module._live)
    return lambda: not (set(process_module._live) - before)


def test_opens_a_healthy_sut_with_a_strong_secret(target):
    assert target.mode == "managed"
    assert get(target.base_url + "/health").json()["status"] == "healthy"
    assert len(target.jwt_secret) == 64


def test_the_sut_gets_the_profiles_settings_and_sut_env_wins(target, profile, monkeypatch):
    monkeypatch.setenv("EMAIL_ENABLED", "true")  # a stray shell setting must not reach the SUT
    env = target.sut_env()
    assert env["REDIS_URL"] == target.services["redis"].url
    assert (env["SMTP_HOST"], env["SMTP_PORT"]) == (target.sink.host, str(target.sink.port))
    assert env["DEBUG_JWT_DECODES"] == "1" and env["ENVIRONMENT"] == "development"
    assert env["SECRET_KEY"] == target.jwt_secret
    assert env["RATE_LIMIT_LOGIN"] == str(profile.rate_limits.login) == "60/60"
    assert env["MAX_BODY_BYTES"] == str(profile.limits.max_body_bytes)
    assert env["ALLOWED_ORIGINS"] == profile.cors.allowed_origin
    assert env["STUB_FLAG"] == "x"
    assert "EMAIL_ENABLED" not in env


def test_otp_code_comes_from_the_mail_the_sut_sent(target):
    httpx.post(target.base_url + "/register", json={"email": "New-User@example.com"}, timeout=5, trust_env=False)
    assert target.otp_code("new-user@example.com") == "654321"


def test_no_mail_is_a_clear_error(target):
    with pytest.raises(TargetError, match="no 6-digit verification code mailed to nobody@example.com within 0.2 s"):
        target.otp_code("nobody@example.com", timeout=0.2)


def test_log_lines_after_a_mark_are_the_new_ones(target):
    mark = target.log_mark()
    get(target.base_url + "/health?probe=log-mark")
    lines = target.log_lines(mark)
    assert any("/health?probe=log-mark" in line for line in lines)
    assert not any("/health?probe=log-mark" in line for line in target.log_lines(0)[:mark])


def test_privileged_accounts_are_seeded_once_per_plan_and_role(target):
    admin = target.privileged_account(role="admin")
    pro = target.privileged_account(plan="pro")
    assert target.privileged_account(role="admin") == admin
    assert (admin.role, pro.plan) == ("admin", "pro") and admin.email != pro.email
    seeded = {account["email"]: account for account in get(target.base_url + "/accounts").json()}
    assert seeded[admin.email]["role"] == "admin" and seeded[pro.email]["plan"] == "pro"
    assert seeded[admin.email]["password"] == admin.password and seeded[admin.email]["environment_agrees"]
    assert not any(admin.password in word for word in seeded[admin.email]["argv"]), "no password in `ps`"


def test_redis_outage_and_recovery(target):
    url = target.base_url + "/redis"
    assert get(url).status_code == 200
    target.stop_store("redis")
    try:
        assert get(url).status_code == 503
    finally:
        target.start_store("redis")
    assert get(url).status_code == 200


def test_an_unknown_store_is_not_run(target):
    with pytest.raises(NotRun) as caught:
        target.stop_store("mongo")
    assert caught.value.option == "--services mongo"


def test_restart_keeps_the_port_and_the_log(target):
    before = get(target.base_url + "/health").json()["pid"]
    mark = target.log_mark()
    target.restart()
    assert get(target.base_url + "/health").json()["pid"] != before
    assert any('"starting"' in line for line in target.log_lines(mark))


def test_peer_is_another_process_on_the_same_data(target):
    peer = target.peer_url()
    assert peer != target.base_url and target.peer_url() == peer
    admin = target.privileged_account(role="admin")
    assert admin.email in {account["email"] for account in get(peer + "/accounts").json()}
    assert get(peer + "/health").json()["pid"] != get(target.base_url + "/health").json()["pid"]


def test_start_with_reports_a_refused_configuration(target):
    result = target.start_with({"ENVIRONMENT": "production", "SECRET_KEY": "short"}, timeout=10)
    assert result.exit_code == 1
    assert "SECRET_KEY" in result.output


def test_start_with_a_good_configuration_starts_without_instrumentation(target):
    result = target.start_with({"ENVIRONMENT": "production"}, timeout=10)
    assert result.exit_code is None
    assert '"debug": null' in result.output, "DEBUG_JWT_DECODES is left to the caller's env"


def test_close_stops_everything_and_removes_the_run_directory(profile, nothing_left_running):
    target = open_target(TargetSettings(sut_cmd=STUB_SERVE), profile)
    target.peer_url()
    urls = [target.base_url, target.peer_url()]
    redis_url, root = target.services["redis"].url, target.root
    target.close()
    target.close()
    for url in urls:
        with pytest.raises(httpx.ConnectError):
            get(url + "/health")
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    assert not root.exists()
    assert nothing_left_running()


def test_privileged_account_needs_a_seed_command_for_another_sut(profile):
    target = open_target(TargetSettings(sut_cmd=STUB_SERVE), profile)
    try:
        with pytest.raises(NotRun) as caught:
            target.privileged_account(role="admin")
        assert caught.value.option == "--seed-cmd"
    finally:
        target.close()


def test_a_sut_that_dies_at_start_stops_the_run_with_its_output(profile, nothing_left_running):
    settings = TargetSettings(sut_cmd=STUB_SERVE, sut_env={"STUB_MODE": "die"})
    with pytest.raises(TargetError) as caught:
        open_target(settings, profile)
    first, *rest = str(caught.value).splitlines()
    assert first.startswith("the SUT exited with code 3 while starting")
    assert any("cannot connect to the database" in line for line in rest)
    assert nothing_left_running()


def test_a_sut_that_never_gets_ready_is_bounded_by_startup_timeout(profile, nothing_left_running):
    settings = TargetSettings(sut_cmd=STUB_SERVE, sut_env={"STUB_MODE": "never"}, startup_timeout=1.0)
    with pytest.raises(TargetError, match=r"^the SUT was not ready within 1 s"):
        open_target(settings, profile)
    assert nothing_left_running()


@pytest.mark.skipif(docker_available(), reason="a Docker engine answers here")
def test_mongo_without_docker_fails_before_anything_starts(profile, nothing_left_running):
    with pytest.raises(TargetError, match="^--services mongo needs a Docker engine"):
        open_target(TargetSettings(sut_cmd=STUB_SERVE, services=["redis", "mongo"]), profile)
    assert nothing_left_running()


@pytest.mark.parametrize(
    "command, message",
    [
        ("app --port {prot}", r"^--sut-cmd: unknown placeholder \{prot\}"),
        ("app --mongo {mongo_url}", r"^--sut-cmd uses \{mongo_url\}, but --services does not include mongo"),
    ],
)
def test_a_bad_command_fails_before_anything_starts(profile, monkeypatch, command, message):
    def must_not_start(*args):
        raise AssertionError("a store was started for a command that cannot run")

    monkeypatch.setattr(managed, "start_service", must_not_start)
    with pytest.raises(TargetError, match=message):
        open_target(TargetSettings(sut_cmd=command), profile)


def test_ctrl_c_while_opening_stops_what_already_started(profile, monkeypatch, nothing_left_running):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(SmtpSink, "start", interrupted)
    with pytest.raises(KeyboardInterrupt):
        open_target(TargetSettings(sut_cmd=STUB_SERVE), profile)
    assert nothing_left_running(), "the Redis started before the interruption was stopped"


def test_the_signing_secret_never_shows_in_a_repr(target):
    assert target.jwt_secret not in repr(target)


def test_an_existing_redis_is_used_instead_of_starting_one_and_never_stopped(tmp_path, nothing_left_running):
    """CI systems give stores as service containers: managed mode uses them, and never stops them."""
    from conformance.outcomes import NotRun
    from conformance.sut.providers import LocalRedis, local_redis_binary

    redis = LocalRedis(local_redis_binary(), tmp_path / "ci-redis").open()
    try:
        profile = load()
        target = open_target(TargetSettings(sut_cmd=STUB_SERVE, redis_url=redis.url), profile)
        try:
            assert target.sut_env()["REDIS_URL"] == redis.url
            assert get(target.base_url + "/redis").status_code == 200, "the SUT reaches the given Redis"
            with pytest.raises(NotRun, match="--redis-url"):
                target.require("store:redis")
            with pytest.raises(NotRun, match="never stops a store it did not start"):
                target.stop_store("redis")
        finally:
            target.close()
        assert redis.running, "closing the target leaves the given store alone"
    finally:
        redis.close()


def test_a_mongo_backed_sut_runs_managed_without_docker_when_given_a_mongo_url(nothing_left_running):
    settings = TargetSettings(sut_cmd=STUB_SERVE, services=["mongo"], mongo_url="mongodb://127.0.0.1:1/heallog")
    target = open_target(settings, load())
    try:
        assert target.sut_env()["MONGODB_URL"] == "mongodb://127.0.0.1:1/heallog"
    finally:
        target.close()
    assert nothing_left_running()
