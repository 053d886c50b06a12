"""Load provisioning goes through the suites' account factory: a 429 with Retry-After is waited out, not fatal."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conformance import profile as profiles
from conformance.sut.base import Target
from load.provision import Needs, Provisioner, ProvisioningError

OTP = "123456"


@dataclass
class StubTarget(Target):
    """An external target whose OTP source is fixed (the stub accepts any code)."""

    def otp_code(self, email: str, *, timeout: float = 10.0) -> str:
        return OTP


def serve(
    profile: profiles.Profile, *, refusals: dict[str, int], broken: frozenset[str] = frozenset()
) -> tuple[ThreadingHTTPServer, Counter]:
    """A stub API on 127.0.0.1: register, verify_otp, login, create_patient.

    The first ``refusals[op]`` calls of ``op`` get a 429 with ``Retry-After: 1``; ``broken`` operations answer 500.
    """
    routes = {
        (op.method, op.path): name
        for name, op in profile.operations.items()
        if name in ("register", "verify_otp", "login", "create_patient")
    }
    seen: Counter = Counter()
    lock = threading.Lock()
    answers = {
        "register": (201, {"id": "u1"}),
        "verify_otp": (200, {"access_token": "a1", "refresh_token": "r1", "user": {"id": "u1", "plan": "free"}}),
        "login": (200, {"access_token": "a2", "refresh_token": "r2"}),
        "create_patient": (201, {"id": "p1"}),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            name = routes.get(("POST", self.path))
            with lock:
                seen[name] += 1
                refused = seen[name] <= refusals.get(name, 0)
            status, body = (429, {"error": {"code": "RATE_LIMITED"}}) if refused else answers.get(name, (404, {}))
            if name in broken:
                status, body = 500, {"error": {"code": "INTERNAL_ERROR"}}
            data = json.dumps(body).encode()
            self.send_response(status)
            if refused:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def profile():
    return profiles.load()


def provision(profile, refusals, needs, sleeps, broken=frozenset()):
    server, seen = serve(profile, refusals=refusals, broken=broken)
    try:
        target = StubTarget(base_url=f"http://127.0.0.1:{server.server_address[1]}", profile=profile)
        with Provisioner(target, profile, run_id="t1", sleep=sleeps.append) as provisioner:
            return provisioner.provision(needs), seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_429_with_retry_after_is_waited_out(profile):
    sleeps: list[float] = []
    data, seen = provision(profile, {"register": 1, "login": 1}, Needs(accounts=1, sessions_per_account=2), sleeps)
    (account,) = data["accounts"]
    assert seen["register"] == 2 and seen["login"] == 2  # refused once each, then sent again
    assert sleeps == [pytest.approx(1.0), pytest.approx(1.0)]  # the Retry-After, not a guess
    assert account["email"].startswith("hlc-load-t1-") and account["patients"] == ["p1"]
    assert [s["access_token"] for s in account["sessions"]] == ["a1", "a2"]


def test_a_refused_step_is_one_provisioning_error_naming_it(profile):
    with pytest.raises(ProvisioningError, match="verify_otp answered 500"):
        provision(profile, {}, Needs(accounts=1), [], broken=frozenset({"verify_otp"}))
    with pytest.raises(ProvisioningError, match="create_patient.* answered 500|answered 500.*expected 201"):
        provision(profile, {}, Needs(accounts=1), [], broken=frozenset({"create_patient"}))
