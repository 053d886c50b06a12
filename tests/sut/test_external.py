"""The external target: preflight errors, and each capability enabled by its option."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from conformance.outcomes import Inconclusive, NotRun
from conformance.profile import load
from conformance.sut import TargetError, TargetSettings, open_target
from conformance.sut.ports import free_port

HEALTHY = (200, "application/json", b'{"status": "healthy"}')


@pytest.fixture(scope="module")
def profile():
    return load()


def test_a_closed_port_is_one_clear_line_within_5_seconds(profile):
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(TargetError) as caught:
        open_target(TargetSettings(base_url=url), profile)
    assert time.monotonic() - started < 5
    assert str(caught.value) == f"--base-url: cannot reach {url}/health (connection refused)"


def test_a_server_that_never_answers_is_given_up_within_5_seconds(profile):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(
            TargetError,
            match=r"/health is too slow: it accepted the connection, but did not answer "
            r"within 2\.\d s \(the bound is --health-timeout 2\.5 s",
        ):
            open_target(TargetSettings(base_url=url), profile)
        assert time.monotonic() - started < 5


def test_an_html_health_answer_is_named_as_html(profile, answering):
    url = answering(200, "text/html; charset=utf-8", b"<!doctype html><html><body>Welcome</body></html>")
    with pytest.raises(TargetError, match=r"^--base-url: health check failed for .*/health \(answered HTML"):
        open_target(TargetSettings(base_url=url), profile)


def test_a_non_json_health_answer_is_named_as_such(profile, answering):
    url = answering(200, "text/plain", b"OK")
    with pytest.raises(TargetError, match=r"answered non-JSON \(status 200, content-type text/plain\): 'OK'"):
        open_target(TargetSettings(base_url=url), profile)


def test_an_unhealthy_status_is_reported(profile, answering):
    url = answering(503, "application/json", b'{"status": "degraded"}')
    with pytest.raises(TargetError, match=r"answered status 503, expected 200"):
        open_target(TargetSettings(base_url=url), profile)


def test_a_base_url_without_scheme_is_refused(profile):
    with pytest.raises(TargetError, match="must start with http:// or https://"):
        open_target(TargetSettings(base_url="127.0.0.1:8000"), profile)


def test_an_unreachable_peer_is_refused_at_open(profile, answering):
    url = answering(*HEALTHY)
    peer = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TargetError, match=r"^--peer-url: cannot reach"):
        open_target(TargetSettings(base_url=url, peer_url=peer), profile)


def test_missing_capabilities_are_not_run_naming_the_option(profile, answering):
    target = open_target(TargetSettings(base_url=answering(*HEALTHY) + "/"), profile)
    assert target.mode == "external" and not target.base_url.endswith("/")
    cases = [
        (lambda: target.otp_code("a@example.com"), "--otp-cmd or --fixed-otp"),
        (lambda: target.privileged_account(role="admin"), "--accounts, --seed-cmd or --jwt-secret"),
        (target.log_mark, "--sut-log-file or --sut-log-cmd"),
        (target.log_lines, "--sut-log-file or --sut-log-cmd"),
        (target.restart, "--restart-cmd"),
        (target.peer_url, "--peer-url"),
        (lambda: target.stop_store("redis"), "managed mode: run without --base-url"),
        (lambda: target.start_with({}), "managed mode: run without --base-url"),
    ]
    for call, option in cases:
        with pytest.raises(NotRun) as caught:
            call()
        assert caught.value.option == option


def test_otp_sources(profile, answering):
    url = answering(*HEALTHY)
    assert open_target(TargetSettings(base_url=url, fixed_otp="000111"), profile).otp_code("a@example.com") == "000111"
    command = f'{sys.executable} -c \'import sys; print("code for", sys.argv[1], "is 424242")\' {{email}}'
    target = open_target(TargetSettings(base_url=url, otp_cmd=command), profile)
    assert target.otp_code("a@example.com") == "424242"


def test_an_otp_command_without_a_code_fails_within_its_timeout(profile, answering):
    target = open_target(TargetSettings(base_url=answering(*HEALTHY), otp_cmd="true"), profile)
    with pytest.raises(TargetError, match="--otp-cmd printed no 6-digit code for a@example.com within 1 s"):
        target.otp_code("a@example.com", timeout=1)


def test_accounts_file_provides_privileged_accounts(profile, answering, tmp_path):
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[[account]]\nemail = "pro@s.example"\npassword = "P"\nplan = "pro"\n'
        '[[account]]\nemail = "admin@s.example"\npassword = "A"\nrole = "admin"\n'
    )
    target = open_target(TargetSettings(base_url=answering(*HEALTHY), accounts_file=str(path)), profile)
    assert target.privileged_account(plan="pro").email == "pro@s.example"
    admin = target.privileged_account(role="admin")
    assert (admin.email, admin.plan, admin.role) == ("admin@s.example", "basic", "admin")
    with pytest.raises(NotRun, match="no account with plan pro and role admin in --accounts"):
        target.privileged_account(plan="pro", role="admin")


@pytest.mark.parametrize(
    "content, message",
    [("not toml [", "not valid TOML"), ("[[account]]\nemail = 'x@y'\n", "account #1 needs an email and a password")],
)
def test_a_malformed_accounts_file_is_refused_at_open(profile, answering, tmp_path, content, message):
    path = tmp_path / "accounts.toml"
    path.write_text(content)
    with pytest.raises(TargetError, match=message):
        open_target(TargetSettings(base_url=answering(*HEALTHY), accounts_file=str(path)), profile)


def test_seed_command_creates_one_account_per_plan_and_role(profile, answering, tmp_path):
    seeded = tmp_path / "seeded.txt"
    script = 'import sys; open(sys.argv[1], "a").write(" ".join(sys.argv[2:]) + "\\n")'
    command = f"{sys.executable} -c '{script}' {seeded} {{email}} {{plan}} {{role}}"
    target = open_target(TargetSettings(base_url=answering(*HEALTHY), seed_cmd=command), profile)
    first = target.privileged_account(plan="pro")
    assert target.privileged_account(plan="pro") == first
    assert (first.plan, first.role) == ("pro", "doctor")
    assert seeded.read_text().splitlines() == [f"{first.email} pro doctor"]


def test_log_file_and_restart_command(profile, answering, tmp_path):
    log = tmp_path / "sut.log"
    log.write_text("before\n")
    marker = tmp_path / "restarted"
    restart = f"{sys.executable} -c 'import pathlib, sys; pathlib.Path(sys.argv[1]).touch()' {marker}"
    target = open_target(TargetSettings(base_url=answering(*HEALTHY), log_file=str(log), restart_cmd=restart), profile)
    mark = target.log_mark()
    with open(log, "a") as handle:
        handle.write("after\n")
    assert target.log_lines(mark, settle=0) == ["after"]
    target.restart()
    assert marker.exists()


def test_a_failing_restart_command_leaves_the_requirement_inconclusive_with_its_stderr(profile, answering):
    target = open_target(
        TargetSettings(base_url=answering(*HEALTHY), restart_cmd="echo 'no such unit' >&2; false"), profile
    )
    with pytest.raises(
        Inconclusive,
        match=r"could not be restarted: --restart-cmd exited with code 1; its stderr "
        r"ends: 'no such unit'",
    ):
        target.restart()


def test_a_restart_that_did_not_happen_is_noticed(profile):
    """A keep-alive server that --restart-cmd leaves running: the connection opened before still answers."""
    import json as json_
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            document = (
                {"openapi": "3.0.3", "paths": {"/api/users/me": {}}}
                if self.path == "/openapi.json"
                else {"status": "healthy"}
            )
            body = json_.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = open_target(
            TargetSettings(base_url=f"http://127.0.0.1:{server.server_port}", restart_cmd="true"), profile
        )
        with pytest.raises(Inconclusive, match="the restart could not be confirmed"):
            target.restart()
    finally:
        server.shutdown()


def test_the_signing_secret_never_shows_in_a_repr(profile, answering):
    target = open_target(TargetSettings(base_url=answering(*HEALTHY), jwt_secret="s3cr3t-value-hlc"), profile)
    assert target.jwt_secret == "s3cr3t-value-hlc"
    assert "s3cr3t-value-hlc" not in repr(target)


def test_a_json_service_that_is_not_this_api_is_refused_within_seconds(profile, answering):
    """It answers {"ok": 1} to everything: health looks fine, but every path answers, so it is not the API."""
    url = answering(200, "application/json", b'{"ok": 1}', openapi=False)
    started = time.monotonic()
    with pytest.raises(TargetError) as caught:
        open_target(TargetSettings(base_url=url), profile)
    assert time.monotonic() - started < 10
    assert "answers every path, it is not the API the profile describes" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_service_where_every_profile_operation_is_404_is_refused(profile, monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class OnlyHealth(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, body = (200, b'{"status": "healthy"}') if self.path == "/health" else (404, b'{"detail": "nope"}')
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), OnlyHealth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(TargetError, match=r"every probed operation answered 404 \(POST /api/auth/register"):
            open_target(TargetSettings(base_url=f"http://127.0.0.1:{server.server_port}"), profile)
    finally:
        server.shutdown()


def test_capabilities_are_asked_before_any_traffic(profile, answering, tmp_path):
    bare = open_target(TargetSettings(base_url=answering(*HEALTHY)), profile)
    for capability, option in (("restart", "--restart-cmd"), ("peer", "--peer-url"), ("store:redis", "managed mode")):
        with pytest.raises(NotRun, match=option):
            bare.require(capability)
    able = open_target(
        TargetSettings(base_url=answering(*HEALTHY), restart_cmd="true", log_file=str(tmp_path / "log")), profile
    )
    able.require("restart")
    able.require("logs")
