"""Reproductions that work: a forged token's curl line names it (it is no secret), a real token stays masked;
a rerun through the launcher goes back through it, without the run's report files."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest

from conformance import redaction
from conformance.actors.tokens import VARIANTS, Session, TokenForge
from conformance.exchange import Headers, RecordedRequest, to_curl
from conformance.render.masking import mask_text
from conformance.run import launch, rerun

KEY = "the-sut-signing-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_registry():
    redaction.reset()
    yield
    redaction.reset()


def _session() -> Session:
    claims = {"sub": "42", "type": "access", "iat": 1_700_000_000, "exp": 4_000_000_000, "jti": "j1"}
    access = jwt.encode(claims, KEY, algorithm="HS256")
    refresh = jwt.encode({**claims, "type": "refresh"}, KEY, algorithm="HS256")
    redaction.register(access, "access token")  # as the accounts do with every genuine token
    redaction.register(refresh, "refresh token")
    return Session(access, refresh)


def _request(token: str) -> RecordedRequest:
    return RecordedRequest("GET", "http://127.0.0.1:9/api/patients/", Headers({"authorization": f"Bearer {token}"}))


def test_a_forged_tokens_curl_line_names_the_token():
    session = _session()
    forged = TokenForge(None).make("bad-signature", session).token
    line = to_curl(_request(forged))
    assert f"authorization: Bearer {forged}" in line and "${TOKEN}" not in line
    assert redaction.redact(line) == line, "the line survives the run's redaction"
    assert forged in mask_text(f"Reproduce: {line}"), "and the renderers' masking"


def test_a_genuine_token_stays_masked_everywhere():
    session = _session()
    TokenForge(None).make("bad-signature", session)
    line = to_curl(_request(session.access_token))
    assert "Bearer ${TOKEN}" in line and session.access_token not in line
    assert session.access_token not in redaction.redact(f"echoed {session.access_token}")
    assert session.access_token not in mask_text(f"Authorization: Bearer {session.access_token}")
    other = jwt.encode({"sub": "7"}, "another-key-of-someone-else-0123456789", algorithm="HS256")
    assert other not in redaction.redact(other), "a JWT the harness did not forge is still masked by its shape"


def test_a_forged_token_carrying_the_genuine_signature_is_masked_and_named():
    session = _session()
    token = TokenForge(None).make("alg-none-signed", session).token
    line = to_curl(_request(token))
    assert token not in line and "Bearer ${TOKEN}" in line
    assert "$TOKEN: the AUTH-2 alg-none-signed token" in line, "the note says which forged token to set"
    assert token not in redaction.redact(line)


def test_public_variants_are_only_tokens_anyone_could_make():
    from conformance.actors.tokens import PUBLIC_VARIANTS

    assert PUBLIC_VARIANTS < set(VARIANTS)
    assert (
        not {
            "alg-none-signed",
            "truncated-signature",
            "tampered-claims",
            "expired",
            "missing-exp",
            "refresh-as-access",
            "revoked",
            "query-token",
            "query-access-token",
        }
        & PUBLIC_VARIANTS
    )


def _config(pytestconfig: pytest.Config, args: list[str]) -> SimpleNamespace:
    return SimpleNamespace(
        invocation_params=SimpleNamespace(args=tuple(args), dir=Path.cwd()),
        _parser=pytestconfig._parser,
        rootpath=launch.ROOT_DIR,
    )


def test_a_launcher_run_reruns_through_the_launcher_without_its_reports(pytestconfig: pytest.Config):
    redaction.register("0123456789", "one-time code")
    args = launch.pytest_args(
        [
            "--base-url",
            "http://127.0.0.1:8000",
            "--conformance-report",
            "out/r.json",
            "--fixed-otp",
            "0123456789",
            "--baseline",
            "b.toml",
            "--baseline-update",
            "--junit-xml=out/j.xml",
            "-k",
            "restart or lockout",
            "scenarios",
        ]
    )
    options = SimpleNamespace(
        conformance_report="out/r.json", conformance_html="env.html", conformance_har=None, conformance_sarif=None
    )
    made = rerun.command(
        _config(pytestconfig, args), "scenarios/test_x.py::test_y[a]", Path("scenarios/test_x.py"), options
    )
    assert made.command == " ".join(
        [
            shlex.quote(sys.executable),
            "-m",
            "conformance",
            "--base-url",
            "http://127.0.0.1:8000",
            "--fixed-otp",
            '"${CONFORMANCE_FIXED_OTP}"',
            "--baseline",
            "b.toml",
            "-k",
            "'restart or lockout'",
            "--conformance-html=",
            "'scenarios/test_x.py::test_y[a]'",
        ]
    )
    assert made.variables == (("CONFORMANCE_FIXED_OTP", "the value given to --fixed-otp"),)
