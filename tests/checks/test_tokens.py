"""The forged AUTH-2 variants: each is wrong in exactly one way."""

from __future__ import annotations

import time

import jwt
import pytest

from conformance.outcomes import Inconclusive, NotRun
from conformance.tokens import EXPECTED_CODES, VARIANTS, Session, TokenForge, b64url_json

SECRET = "s" * 64
NOW = int(time.time())
ACCESS_CLAIMS = {"sub": "42", "plan": "basic", "role": "doctor", "iat": NOW, "exp": NOW + 1800, "jti": "a1",
                 "type": "access"}  # fmt: skip
REFRESH_CLAIMS = {"sub": "42", "iat": NOW, "exp": NOW + 604800, "jti": "r1", "type": "refresh"}


@pytest.fixture
def session() -> Session:
    return Session(
        access_token=jwt.encode(ACCESS_CLAIMS, SECRET, algorithm="HS256"),
        refresh_token=jwt.encode(REFRESH_CLAIMS, SECRET, algorithm="HS256"),
        revoked_access_token="revoked.token.value",
    )


def verify(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"])


def unverified(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_every_variant_has_an_expected_code():
    assert set(VARIANTS) == set(EXPECTED_CODES)


def test_every_variant_can_be_made_with_the_secret(session):
    forge = TokenForge(SECRET)
    made = {variant: forge.make(variant, session) for variant in VARIANTS}
    assert {bad.variant for bad in made.values()} == set(VARIANTS)
    tokens = [bad.token for bad in made.values() if bad.token is not None]
    assert session.access_token not in tokens
    assert len(set(tokens)) == len(tokens)


def test_missing_sends_no_token(session):
    assert TokenForge(None).make("missing", session).token is None


def test_malformed_is_not_a_jwt(session):
    with pytest.raises(jwt.DecodeError):
        unverified(TokenForge(None).make("malformed", session).token)


def test_bad_signature_keeps_claims_but_fails_verification(session):
    token = TokenForge(None).make("bad-signature", session).token
    assert unverified(token) == ACCESS_CLAIMS
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token)


def test_alg_none_has_no_signature(session):
    token = TokenForge(None).make("alg-none", session).token
    assert token.endswith(".")
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert unverified(token) == ACCESS_CLAIMS
    with pytest.raises(jwt.InvalidAlgorithmError):
        verify(token)


def test_expired_is_correctly_signed_and_expired(session):
    bad = TokenForge(SECRET).make("expired", session)
    assert bad.expected_code == "TOKEN_EXPIRED"
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(bad.token)
    claims = jwt.decode(bad.token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] < time.time() - 600
    assert claims["iat"] < claims["exp"]
    assert claims["jti"] != ACCESS_CLAIMS["jti"]
    assert {k: claims[k] for k in ("sub", "plan", "role", "type")} == {k: ACCESS_CLAIMS[k] for k in ("sub", "plan", "role", "type")}


def test_expired_without_the_secret_is_not_run(session):
    with pytest.raises(NotRun) as outcome:
        TokenForge(None).make("expired", session)
    assert outcome.value.option == "--jwt-secret"


def test_expired_with_a_wrong_secret_is_inconclusive(session):
    with pytest.raises(Inconclusive, match="--jwt-secret"):
        TokenForge("w" * 64).make("expired", session)


def test_revoked_is_the_logged_out_sessions_token(session):
    assert TokenForge(None).make("revoked", session).token == "revoked.token.value"


def test_revoked_without_a_logged_out_session_is_a_caller_error(session):
    with pytest.raises(ValueError, match="revoked"):
        TokenForge(None).make("revoked", Session(session.access_token, session.refresh_token))


def test_refresh_as_access_is_the_refresh_token(session):
    bad = TokenForge(None).make("refresh-as-access", session)
    assert verify(bad.token)["type"] == "refresh"


def test_tampered_claims_are_elevated_with_the_original_signature(session):
    token = TokenForge(None, elevated_claims={"plan": "pro", "role": "admin"}).make("tampered-claims", session).token
    assert token.split(".")[2] == session.access_token.split(".")[2]
    assert unverified(token) == {**ACCESS_CLAIMS, "plan": "pro", "role": "admin"}
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token)


def test_tampering_an_already_privileged_token_changes_the_subject():
    claims = {**ACCESS_CLAIMS, "plan": "pro", "role": "admin"}
    session = Session(jwt.encode(claims, SECRET, algorithm="HS256"), "r")
    token = TokenForge(None).make("tampered-claims", session).token
    assert unverified(token)["sub"] != claims["sub"]
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token)


def test_unknown_variant_is_a_caller_error(session):
    with pytest.raises(ValueError, match="known:"):
        TokenForge(None).make("stolen", session)


def test_a_non_jwt_access_token_is_inconclusive():
    with pytest.raises(Inconclusive):
        TokenForge(None).make("bad-signature", Session("opaque-session-id", "r"))


def test_b64url_json_has_no_padding():
    assert "=" not in b64url_json({"a": 1})
