"""The forged AUTH-2 variants (each is wrong in exactly one way) and the AUTH-7 weak-secret tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid

import jwt
import pytest

from conformance.actors import weak_secrets
from conformance.actors.tokens import (
    ALG_NONE_SPELLINGS,
    EXPECTED_CODES,
    JKU_URL,
    KID_INJECTIONS,
    OVERSIZED_LENGTH,
    VARIANT_BY_ID,
    VARIANTS,
    X5U_URL,
    Session,
    TokenForge,
    b64url_json,
    sign_hmac,
    unknown_subject,
)
from conformance.outcomes import Inconclusive, NotRun

SECRET = "s" * 64
NOW = int(time.time())
ACCESS_CLAIMS = {
    "sub": "42",
    "plan": "basic",
    "role": "doctor",
    "iat": NOW,
    "exp": NOW + 1800,
    "jti": "a1",
    "type": "access",
}
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
    bearer_tokens = [bad.bearer for bad in made.values() if bad.bearer is not None]
    assert session.access_token not in bearer_tokens
    assert len(set(bearer_tokens)) == len(bearer_tokens)


def test_the_attack_list_covers_the_issue_and_jwt_tools_playbook():
    required = {
        *(f"alg-{s}" for s in ("none", "None", "NONE", "nOnE")),
        *(f"alg-{s}-signed" for s in ("none", "None", "NONE", "nOnE")),
        "empty-signature",
        "bad-signature",
        "truncated-signature",
        "kid-path-traversal",
        "kid-sql-injection",
        "kid-command-injection",
        "jwk-embedded",
        "jku-foreign-key",
        "x5u-foreign-key",
        "alg-rs256",
        "alg-es256",
        "alg-hs256-public-key",
        "missing-exp",
        "nbf-future",
        "iat-future",
        "unknown-sub",
        "oversized",
        "query-access-token",
        "query-token",
        # the original eight keep their ids: they appear in reports people compare over time
        "missing",
        "malformed",
        "alg-none",
        "expired",
        "revoked",
        "refresh-as-access",
        "tampered-claims",
    }
    assert required <= set(VARIANTS)


def test_expected_codes_follow_the_contract_table():
    assert EXPECTED_CODES["expired"] == "TOKEN_EXPIRED"
    assert EXPECTED_CODES["revoked"] == "TOKEN_REVOKED"
    assert {v for v, code in EXPECTED_CODES.items() if code == "UNAUTHORIZED"} == {
        "missing",
        "query-access-token",
        "query-token",
    }  # no Authorization header at all
    assert set(EXPECTED_CODES.values()) == {"UNAUTHORIZED", "TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_REVOKED"}


def test_only_the_claims_variants_need_the_secret():
    needing = {variant.id for variant in VARIANT_BY_ID.values() if variant.needs_secret}
    assert needing == {"expired", "expired-just-now", "missing-exp", "nbf-future", "iat-future", "unknown-sub"}


@pytest.mark.parametrize("variant", [v for v in VARIANTS if VARIANT_BY_ID[v].needs_secret])
def test_claims_variants_without_the_secret_are_not_run(session, variant):
    with pytest.raises(NotRun) as outcome:
        TokenForge(None).make(variant, session)
    assert outcome.value.option == "--jwt-secret"


@pytest.mark.parametrize("variant", [v for v in VARIANTS if VARIANT_BY_ID[v].needs_secret])
def test_claims_variants_with_a_wrong_secret_are_inconclusive(session, variant):
    with pytest.raises(Inconclusive, match="--jwt-secret"):
        TokenForge("w" * 64).make(variant, session)


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


@pytest.mark.parametrize("spelling", ALG_NONE_SPELLINGS)
@pytest.mark.parametrize("signed", [False, True])
def test_alg_none_in_every_spelling_with_and_without_the_signature(session, spelling, signed):
    variant = f"alg-{spelling}-signed" if signed else f"alg-{spelling}"
    token = TokenForge(None).make(variant, session).token
    header, payload, signature = token.split(".")
    assert jwt.get_unverified_header(token) == {"alg": spelling, "typ": "JWT"}
    assert unverified(token) == ACCESS_CLAIMS
    assert signature == (session.access_token.split(".")[2] if signed else "")
    with pytest.raises(jwt.PyJWTError):
        verify(token)


def test_empty_signature_keeps_the_genuine_header_and_claims(session):
    token = TokenForge(None).make("empty-signature", session).token
    assert token == session.access_token.rsplit(".", 1)[0] + "."
    with pytest.raises(jwt.PyJWTError):
        verify(token)


def test_truncated_signature_is_the_genuine_token_cut_short(session):
    token = TokenForge(None).make("truncated-signature", session).token
    assert session.access_token.startswith(token) and len(token) == len(session.access_token) - 4
    with pytest.raises(jwt.PyJWTError):
        verify(token)


@pytest.mark.parametrize("variant", sorted(KID_INJECTIONS))
def test_kid_injection_is_signed_with_the_key_a_vulnerable_lookup_would_use(session, variant):
    kid, key = KID_INJECTIONS[variant]
    token = TokenForge(None).make(variant, session).token
    assert jwt.get_unverified_header(token)["kid"] == kid
    assert unverified(token) == ACCESS_CLAIMS
    signing_input, _, signature = token.rpartition(".")
    assert signature == b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token)


def test_embedded_jwk_verifies_with_its_own_header_key_only(session):
    token = TokenForge(None).make("jwk-embedded", session).token
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["jwk"]["kty"] == "RSA" and "d" not in header["jwk"]
    key = jwt.PyJWK(header["jwk"])
    assert jwt.decode(token, key, algorithms=["RS256"]) == ACCESS_CLAIMS
    with pytest.raises(jwt.PyJWTError):
        verify(token)


@pytest.mark.parametrize(
    ("variant", "name", "url"), [("jku-foreign-key", "jku", JKU_URL), ("x5u-foreign-key", "x5u", X5U_URL)]
)
def test_key_url_variants_name_a_host_that_resolves_nowhere(session, variant, name, url):
    forge = TokenForge(None)
    token = forge.make(variant, session).token
    header = jwt.get_unverified_header(token)
    assert header[name] == url and url.split("/")[2].endswith(".invalid")  # RFC 6761: never fetched from anyone
    assert jwt.decode(token, forge.rsa_key.public_key(), algorithms=["RS256"]) == ACCESS_CLAIMS


@pytest.mark.parametrize(("variant", "alg"), [("alg-rs256", "RS256"), ("alg-es256", "ES256")])
def test_asymmetric_variants_are_signed_with_harness_keys(session, variant, alg):
    forge = TokenForge(None)
    token = forge.make(variant, session).token
    assert jwt.get_unverified_header(token)["alg"] == alg
    key = forge.rsa_key if alg == "RS256" else forge.ec_key
    assert jwt.decode(token, key.public_key(), algorithms=[alg]) == ACCESS_CLAIMS
    with pytest.raises(jwt.PyJWTError):
        verify(token)


def test_hs256_public_key_is_keyed_with_the_pem_of_a_harness_public_key(session):
    from cryptography.hazmat.primitives import serialization

    forge = TokenForge(None)
    token = forge.make("alg-hs256-public-key", session).token
    pem = forge.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input, _, signature = token.rpartition(".")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert signature == b64url(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())


def correctly_signed_claims(token: str) -> dict:
    """The claims of a token signed with SECRET, whatever its time claims say."""
    return jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False, "verify_iat": False}
    )


def test_missing_exp_is_correctly_signed_without_exp(session):
    claims = correctly_signed_claims(TokenForge(SECRET).make("missing-exp", session).token)
    assert "exp" not in claims
    assert claims["jti"] != ACCESS_CLAIMS["jti"]
    assert {k: claims[k] for k in ("sub", "plan", "role", "type")} == {
        k: ACCESS_CLAIMS[k] for k in ("sub", "plan", "role", "type")
    }


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_future_nbf_and_iat_are_correctly_signed_and_immature(session, claim):
    token = TokenForge(SECRET).make(f"{claim}-future", session).token
    claims = correctly_signed_claims(token)
    assert claims[claim] > time.time() + 600
    assert claims["exp"] > claims[claim]
    with pytest.raises(jwt.ImmatureSignatureError):
        verify(token)


def test_unknown_sub_is_correctly_signed_for_another_subject(session):
    claims = correctly_signed_claims(TokenForge(SECRET).make("unknown-sub", session).token)
    assert claims["sub"] != ACCESS_CLAIMS["sub"] and claims["sub"].isdigit()
    assert claims["exp"] > time.time()


@pytest.mark.parametrize("sub", ["42", "b4413c260f2540149a32e60fb864b966", str(uuid.uuid4()), "user-7"])
def test_unknown_subject_has_the_shape_of_the_real_one(sub):
    other = unknown_subject(sub)
    assert other != sub
    if sub.isdigit():
        assert other.isdigit()
    elif "-" in sub and len(sub) == 36:
        assert uuid.UUID(other)
    assert unknown_subject(sub) != other  # random: never a fixed id a real user could have


def test_oversized_token_is_16_kib_with_a_bad_signature(session):
    token = TokenForge(None).make("oversized", session).token
    assert OVERSIZED_LENGTH <= len(token) < OVERSIZED_LENGTH + 4
    claims = unverified(token)
    assert {k: claims[k] for k in ACCESS_CLAIMS} == ACCESS_CLAIMS
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token)


@pytest.mark.parametrize(("variant", "parameter"), [("query-access-token", "access_token"), ("query-token", "token")])
def test_query_string_variants_carry_the_genuine_token_in_the_url_only(session, variant, parameter):
    bad = TokenForge(None).make(variant, session)
    assert bad.bearer is None
    assert bad.query == {parameter: session.access_token}
    assert bad.expected_code == "UNAUTHORIZED"


def test_bad_tokens_and_sessions_never_show_their_tokens(session):
    bad = TokenForge(None).make("query-token", session)
    for text in (repr(bad), str(bad), repr(session)):
        assert session.access_token not in text and session.refresh_token not in text


def test_expired_is_correctly_signed_and_expired(session):
    bad = TokenForge(SECRET).make("expired", session)
    assert bad.expected_code == "TOKEN_EXPIRED"
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(bad.token)
    claims = jwt.decode(bad.token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] < time.time() - 600
    assert claims["iat"] < claims["exp"]
    assert claims["jti"] != ACCESS_CLAIMS["jti"]
    assert {k: claims[k] for k in ("sub", "plan", "role", "type")} == {
        k: ACCESS_CLAIMS[k] for k in ("sub", "plan", "role", "type")
    }


def test_expired_just_now_is_past_exp_by_a_few_seconds_only(session):
    bad = TokenForge(SECRET).make("expired-just-now", session)
    assert bad.expected_code == "TOKEN_EXPIRED"
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(bad.token)
    jwt.decode(bad.token, SECRET, algorithms=["HS256"], leeway=120)  # what a lax verifier accepts
    claims = jwt.decode(bad.token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert time.time() - 30 < claims["exp"] < time.time()


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


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_sign_hmac_accepts_the_keys_pyjwt_refuses():
    token = sign_hmac({"alg": "HS256", "typ": "JWT"}, {"sub": "1"}, "")
    signing_input, _, signature = token.rpartition(".")
    assert signature == b64url(hmac.new(b"", signing_input.encode(), hashlib.sha256).digest())


def test_sign_hmac_follows_the_header_algorithm():
    token = sign_hmac({"alg": "HS512"}, {"sub": "1"}, SECRET)
    assert jwt.decode(token, SECRET, algorithms=["HS512"]) == {"sub": "1"}


def test_a_non_hmac_profile_algorithm_is_refused_at_construction():
    with pytest.raises(ValueError, match="RS256"):
        TokenForge(None, algorithm="RS256")


# -- AUTH-7 -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["secret", "", "your-256-bit-secret"])
def test_signed_with_re_signs_real_claims_with_the_weak_key(session, key):
    token = TokenForge(None).signed_with(key, session)
    signing_input, _, signature = token.rpartition(".")
    assert signature == b64url(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())
    claims = unverified(token)
    assert claims["sub"] == ACCESS_CLAIMS["sub"] and claims["type"] == "access"
    assert claims["jti"] != ACCESS_CLAIMS["jti"]
    assert claims["exp"] > time.time() + 600
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


class TestWeakSecrets:
    def test_the_dictionary_has_at_least_100_entries_with_the_contracts_words(self):
        secrets = [entry.secret for entry in weak_secrets.load()]
        assert len(secrets) >= 100
        assert {"secret", "changeme", "your-secret-key", "", "your-256-bit-secret", "password", "123456"} <= set(
            secrets
        )
        assert len(set(secrets)) == len(secrets)

    def test_indexes_count_from_one_in_file_order(self):
        entries = weak_secrets.load()
        assert [entry.index for entry in entries] == list(range(1, len(entries) + 1))
        assert [entry.line for entry in entries] == sorted(entry.line for entry in entries)

    def test_a_label_never_shows_the_secret(self):
        entry = next(e for e in weak_secrets.load() if e.secret == "your-256-bit-secret")
        assert "your-256-bit-secret" not in entry.label and "your-256-bit-secret" not in repr(entry)
        assert f"line {entry.line}" in entry.label

    def test_format_sections_comments_and_the_empty_secret(self):
        entries = weak_secrets.parse("# comment\n\n## defaults\nsecret\n<empty>\n## other\n#not-a-secret\nx y \n")
        assert [(e.index, e.line, e.section, e.secret) for e in entries] == [
            (1, 4, "defaults", "secret"),
            (2, 5, "defaults", ""),
            (3, 8, "other", "x y "),
        ]

    def test_a_repeated_secret_is_refused(self):
        with pytest.raises(ValueError, match="line 3: repeats the secret of line 1"):
            weak_secrets.parse("a\nb\na\n")
