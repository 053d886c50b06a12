"""ApiClient: operations resolved from the profile, exchanges recorded, transport failures explicit."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import pytest

from conformance import profile as profiles
from conformance.exchange import NoResponse
from conformance.wire.client import ApiClient, Recorder, TransportFailure


@pytest.fixture(scope="module")
def profile():
    return profiles.load()


def echo(request: httpx.Request) -> httpx.Response:
    body = request.read()
    return httpx.Response(
        201,
        json={
            "method": request.method,
            "path": request.url.path,
            "query": str(request.url.query, "ascii"),
            "body": body.decode(),
            "auth": request.headers.get("authorization"),
            "content_type": request.headers.get("content-type"),
        },
        headers={"X-Request-ID": "req-1"},
    )


@pytest.fixture
def api(profile):
    client = ApiClient("http://sut.test/", profile, transport=httpx.MockTransport(echo))
    yield client
    client.close()


def test_call_resolves_method_and_path_from_the_profile(api):
    exchange = api.call("get_patient", path_params={"id": "abc"}, token="tok", params={"x": "1"})
    sent = exchange.response.json
    assert (sent["method"], sent["path"], sent["query"]) == ("GET", "/api/patients/abc", "x=1")
    assert sent["auth"] == "Bearer tok"
    assert exchange.request.url == "http://sut.test/api/patients/abc?x=1"
    assert exchange.response.status == 201 and exchange.response.headers.get("x-request-id") == "req-1"


def test_call_without_needed_path_params_says_which(api):
    with pytest.raises(TypeError, match="needs path_params"):
        api.call("get_patient")


def test_login_uses_the_profile_body_style(api, profile):
    exchange = api.login("a@example.com", "Secret-Passw0rd!")
    sent = exchange.response.json
    assert sent["content_type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent["body"]) == {"username": ["a@example.com"], "password": ["Secret-Passw0rd!"]}
    assert exchange.request.body == sent["body"].encode()


def test_login_in_json_for_a_profile_that_says_json(tmp_path):
    override = tmp_path / "p.toml"
    override.write_text('[operations.login]\nbody = "json"\nusername_field = "email"\n')
    client = ApiClient("http://sut.test", profiles.load(override), transport=httpx.MockTransport(echo))
    sent = client.login("a@example.com", "pw").response.json
    assert sent["content_type"] == "application/json"
    assert sent["body"].replace(" ", "") == '{"email":"a@example.com","password":"pw"}'


def test_request_to_another_base_url(api):
    exchange = api.request("post", "/x", json={"a": 1}, base_url="http://peer.test:81")
    assert exchange.request.url == "http://peer.test:81/x"
    assert exchange.request.method == "POST" and exchange.response.json["body"].replace(" ", "") == '{"a":1}'


def test_stream_sends_chunked_without_content_length_and_records_the_body(profile):
    seen = {}

    def capture(request: httpx.Request) -> httpx.Response:
        seen["headers"] = dict(request.headers)
        seen["body"] = b"".join(request.stream)
        return httpx.Response(413)

    api = ApiClient("http://sut.test", profile, transport=httpx.MockTransport(capture))
    exchange = api.stream("POST", "/upload", [b"ab", b"cd", b"e"])
    assert seen["headers"].get("transfer-encoding") == "chunked" and "content-length" not in seen["headers"]
    assert seen["body"] == b"abcde" and exchange.request.body == b"abcde"
    assert exchange.response.status == 413


def test_every_exchange_is_recorded_and_the_recorder_keeps_the_last_few(profile):
    recorder = Recorder(keep=3)
    client = ApiClient("http://sut.test", profile, recorder=recorder, transport=httpx.MockTransport(echo))
    for n in range(5):
        client.request("GET", f"/n{n}")
    assert [e.request.url for e in recorder.recent()] == [f"http://sut.test/n{n}" for n in (2, 3, 4)]
    assert recorder.total == 5
    recorder.begin()
    assert recorder.recent() == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_a_transport_failure_naming_the_request(profile):
    client = ApiClient(f"http://127.0.0.1:{closed_port()}", profile)
    with pytest.raises(TransportFailure) as failure:
        client.call("me", token="secret-token")
    message = str(failure.value)
    assert message.startswith("no response to GET http://127.0.0.1:") and "ConnectError" in message
    assert "secret-token" not in message and "Bearer ${TOKEN}" in message
    assert isinstance(client.recorder.recent()[-1], NoResponse)


class ResetHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.connection.close()  # drop the connection without an answer

    def log_message(self, *args: object) -> None:
        pass


def test_connection_dropped_without_answer_is_a_transport_failure(profile):
    server = ThreadingHTTPServer(("127.0.0.1", 0), ResetHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = ApiClient(f"http://127.0.0.1:{server.server_address[1]}", profile, timeout=5)
        with pytest.raises(TransportFailure, match="no response to POST"):
            client.request("POST", "/api/auth/login", content=b"x" * 10)
    finally:
        server.shutdown()
        server.server_close()


def test_every_registration_answered_2xx_is_an_account_of_the_run_whoever_sent_it():
    """The accounts figure is what the run left in the SUT's database: a probe registering by hand counts too,
    a refused registration does not."""
    import httpx

    from conformance import profile as profiles
    from conformance.wire import factory, usage
    from conformance.wire.pacing import Pacer

    profile = profiles.load(None)
    register = profile.operation("register")
    answers = iter([201, 422, 200])
    stand_in = httpx.MockTransport(lambda request: httpx.Response(next(answers) if request.url.path == register.path
                                                                  else 200))  # fmt: skip
    before = usage.snapshot()["accounts"]
    pacer = Pacer(profile, sleep=lambda seconds: None)
    with factory.client(factory.Purpose.API, base_url="http://sut", pacer=pacer, profile=profile,
                        base=lambda: stand_in, recorder=None) as client:  # fmt: skip
        for _ in range(3):
            client.request(register.method, register.path, json={})
        client.get(profile.operation("health").path)
    assert usage.snapshot()["accounts"] - before == 2
