"""Bad bearer tokens for AUTH-2, and the weak-secret tokens of AUTH-7.

Each variant is derived from a genuine access token of the SUT, so that the
only thing wrong with it is the one property under test (a bad signature
still names a real user, an expired token still has every real claim). The
variant ids are stable: they appear in test ids and in the report. The list
follows the playbook scan of jwt_tool (ticarpi/jwt_tool), the field's
reference attack tool, and RFC 8725 (JWT best current practices).

Variant                 what is wrong                                          code (§4)
missing                 no Authorization header at all                         UNAUTHORIZED
malformed               not a JWT                                              TOKEN_INVALID
bad-signature           real claims, signed with another key                   TOKEN_INVALID
truncated-signature     the genuine signature minus its last 4 characters      TOKEN_INVALID
empty-signature         real header and claims, empty signature segment        TOKEN_INVALID
alg-none                ``alg: none``, empty signature segment                 TOKEN_INVALID
alg-none-signed         ``alg: none``, the genuine signature kept              TOKEN_INVALID
alg-None, alg-NONE, alg-nOnE (and -signed)   the same in other spellings       TOKEN_INVALID
kid-path-traversal      ``kid: ../../../../../../dev/null``, HMAC with an empty key   TOKEN_INVALID
kid-sql-injection       ``kid: x' UNION SELECT '1';--``, HMAC with the key "1"  TOKEN_INVALID
kid-command-injection   ``kid: |true``, HMAC with an empty key (what `true` prints)  TOKEN_INVALID
jwk-embedded            RS256 by a harness key, its public key in ``jwk``      TOKEN_INVALID
jku-foreign-key         RS256 by a harness key, ``jku`` naming a key set URL   TOKEN_INVALID
x5u-foreign-key         RS256 by a harness key, ``x5u`` naming a certificate URL  TOKEN_INVALID
alg-rs256               RS256 by a harness RSA key (no key hint)               TOKEN_INVALID
alg-es256               ES256 by a harness EC P-256 key                        TOKEN_INVALID
alg-hs256-public-key    HS256 keyed with a harness RSA public key (PEM)        TOKEN_INVALID
expired                 ``exp`` in the past, right key                         TOKEN_EXPIRED  (needs the secret)
expired-just-now        ``exp`` a few seconds past: the boundary, no leeway    TOKEN_EXPIRED  (needs the secret)
missing-exp             no ``exp``, right key                                  TOKEN_INVALID  (needs the secret)
nbf-future              ``nbf`` an hour ahead, right key                       TOKEN_INVALID  (needs the secret)
iat-future              ``iat`` an hour ahead, right key                       TOKEN_INVALID  (needs the secret)
unknown-sub             ``sub`` of no user (same shape), right key             TOKEN_INVALID  (needs the secret)
revoked                 a session that was logged out                          TOKEN_REVOKED  (caller supplies it)
refresh-as-access       the session's refresh token                            TOKEN_INVALID
tampered-claims         payload elevated (plan, role) without re-signing       TOKEN_INVALID
oversized               16 KiB: real claims plus padding, signed with another key  TOKEN_INVALID
query-access-token      the genuine token in ``?access_token=``, no header     UNAUTHORIZED
query-token             the genuine token in ``?token=``, no header            UNAUTHORIZED

The header-key variants (jwk, jku, x5u) are signed with keys the harness made
for this run. The ``jku`` and ``x5u`` URLs name a host under ``.invalid``
(RFC 6761), which resolves nowhere: the harness serves no key set, so nothing
is ever fetched and trusted; what is judged is that the SUT refuses a token
whose header tells it where to find the key, without asking anyone. The
query-string variants carry the genuine token: a SUT that reads tokens from
the URL would authenticate them, so the guarded operation must answer as to
a request without credentials.

All HMAC signing here is done with :mod:`hmac` rather than PyJWT, which
(rightly, for its users) refuses empty and PEM-shaped HMAC keys: those are
exactly the attacks.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conformance import redaction
from conformance.outcomes import Inconclusive, NotRun

MALFORMED = "not-a-jwt"
#: How long ago a forged expired token expired: far beyond any clock-skew leeway.
EXPIRED_AGO_SECONDS = 3600
#: How long ago the boundary variant expired: just past ``exp`` (§3 allows no leeway). A few seconds, so that a
#: SUT on the harness's host (managed mode) has certainly seen the moment pass; a leeway of a minute or two, which
#: some JWT libraries are configured with, accepts it. A SUT whose clock lags the harness's by more is out of reach.
JUST_EXPIRED_AGO_SECONDS = 5
#: How far ahead a forged ``nbf`` or ``iat`` lies: far beyond any clock-skew leeway.
FUTURE_SECONDS = 3600
#: Length of the oversized token, in characters (= bytes of the header value after "Bearer ").
OVERSIZED_LENGTH = 16 * 1024
#: Header URLs under the reserved ``.invalid`` TLD (RFC 6761 §6.4): they resolve nowhere.
JKU_URL = "https://hlc-jwks.invalid/.well-known/jwks.json"
X5U_URL = "https://hlc-x5u.invalid/cert.pem"
HARNESS_KID = "hlc-harness-key"
ALG_NONE_SPELLINGS = ("none", "None", "NONE", "nOnE")
KID_INJECTIONS = {
    # kid value, and the HMAC key a vulnerable key lookup would then use
    "kid-path-traversal": ("../../../../../../dev/null", b""),
    "kid-sql-injection": ("x' UNION SELECT '1';--", b"1"),
    "kid-command-injection": ("|true", b""),
}
HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


@dataclass(frozen=True)
class Variant:
    """One kind of bad token; ``summary`` is the subject of a failure's sentence ("... was accepted")."""

    id: str
    expected_code: str
    summary: str
    needs_secret: bool = False
    #: Sent in this query parameter instead of the Authorization header.
    query_parameter: str | None = None


def _alg_none_variants() -> list[Variant]:
    variants = []
    for spelling in ALG_NONE_SPELLINGS:
        subject = f"the token with `alg: {spelling}`"
        variants.append(Variant(f"alg-{spelling}", "TOKEN_INVALID", f"{subject} and no signature"))
        variants.append(Variant(f"alg-{spelling}-signed", "TOKEN_INVALID", f"{subject} and the genuine signature"))
    return variants


VARIANT_TABLE: tuple[Variant, ...] = (
    Variant("missing", "UNAUTHORIZED", "the request without a token"),
    Variant("malformed", "TOKEN_INVALID", "the malformed token"),
    Variant("bad-signature", "TOKEN_INVALID", "the token signed with another key"),
    Variant("truncated-signature", "TOKEN_INVALID", "the token with a truncated signature"),
    Variant("empty-signature", "TOKEN_INVALID", "the token with an empty signature"),
    *_alg_none_variants(),
    Variant("kid-path-traversal", "TOKEN_INVALID", "the token whose `kid` is a path traversal to /dev/null"),
    Variant("kid-sql-injection", "TOKEN_INVALID", "the token whose `kid` is an SQL injection"),
    Variant("kid-command-injection", "TOKEN_INVALID", "the token whose `kid` is a shell command"),
    Variant("jwk-embedded", "TOKEN_INVALID", "the token signed with the harness's key embedded in its `jwk` header"),
    Variant("jku-foreign-key", "TOKEN_INVALID", "the token signed with a harness key named by a `jku` URL"),
    Variant("x5u-foreign-key", "TOKEN_INVALID", "the token signed with a harness key named by an `x5u` URL"),
    Variant("alg-rs256", "TOKEN_INVALID", "the RS256 token signed with a harness key"),
    Variant("alg-es256", "TOKEN_INVALID", "the ES256 token signed with a harness key"),
    Variant("alg-hs256-public-key", "TOKEN_INVALID", "the HS256 token keyed with a public key"),
    Variant("expired", "TOKEN_EXPIRED", "the expired token", needs_secret=True),
    Variant(
        "expired-just-now", "TOKEN_EXPIRED", f"the token expired {JUST_EXPIRED_AGO_SECONDS} s ago", needs_secret=True
    ),
    Variant("missing-exp", "TOKEN_INVALID", "the token without `exp`", needs_secret=True),
    Variant("nbf-future", "TOKEN_INVALID", "the token whose `nbf` lies in the future", needs_secret=True),
    Variant("iat-future", "TOKEN_INVALID", "the token whose `iat` lies in the future", needs_secret=True),
    Variant("unknown-sub", "TOKEN_INVALID", "the token of an unknown user", needs_secret=True),
    Variant("revoked", "TOKEN_REVOKED", "the revoked token"),
    Variant("refresh-as-access", "TOKEN_INVALID", "the refresh token used as an access token"),
    Variant("tampered-claims", "TOKEN_INVALID", "the token with tampered claims"),
    Variant("oversized", "TOKEN_INVALID", "the 16 KiB token"),
    Variant(
        "query-access-token",
        "UNAUTHORIZED",
        "the token sent in the query string (`?access_token=`)",
        query_parameter="access_token",
    ),
    Variant("query-token", "UNAUTHORIZED", "the token sent in the query string (`?token=`)", query_parameter="token"),
)
VARIANT_BY_ID = {variant.id: variant for variant in VARIANT_TABLE}
#: Variants that are no secret: forged without the SUT's key and without the genuine signature, so anyone could
#: make them; their curl lines name them (redaction.register_public). The others carry a real signature (alg-*-signed,
#: truncated-signature, tampered-claims), are signed with the SUT's key (needs_secret), or are genuine tokens
#: (revoked, refresh-as-access, query-*): masked, their curl lines say which variant to set; ``oversized`` is 16 KiB,
#: too long for a line.
PUBLIC_VARIANTS = frozenset(
    {
        "malformed",
        "bad-signature",
        "empty-signature",
        *(f"alg-{s}" for s in ALG_NONE_SPELLINGS),
        *KID_INJECTIONS,
        "jwk-embedded",
        "jku-foreign-key",
        "x5u-foreign-key",
        "alg-rs256",
        "alg-es256",
        "alg-hs256-public-key",
    }
)
VARIANTS = tuple(VARIANT_BY_ID)
EXPECTED_CODES = {variant.id: variant.expected_code for variant in VARIANT_TABLE}


@dataclass(frozen=True)
class BadToken:
    """One variant made: ``token`` goes after ``Bearer`` or, for a query-string variant, into the query."""

    variant: str
    token: str | None
    expected_code: str
    summary: str = ""
    query_parameter: str | None = None

    @property
    def bearer(self) -> str | None:
        """What to send as the bearer token (``None``: no Authorization header)."""
        return None if self.query_parameter else self.token

    @property
    def query(self) -> dict[str, str] | None:
        """The query parameters to send, for the query-string variants."""
        if self.query_parameter is None or self.token is None:
            return None
        return {self.query_parameter: self.token}

    def __repr__(self) -> str:  # a query-string variant carries a genuine token: never in a traceback
        return f"BadToken({self.variant!r}, token=***)"


@dataclass(frozen=True)
class Session:
    """The genuine tokens a variant is forged from."""

    access_token: str
    refresh_token: str
    revoked_access_token: str | None = None

    def __repr__(self) -> str:
        return "Session(access_token=***, refresh_token=***)"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def sign_hmac(header: dict[str, Any], claims: dict[str, Any], key: str | bytes) -> str:
    """A compact JWS of ``header`` and ``claims`` with an HMAC under ``key`` (any key, empty included).

    The hash follows ``header["alg"]`` (HS256, HS384, HS512).
    """
    digest = HMAC_HASHES[header["alg"]]
    raw_key = key.encode() if isinstance(key, str) else key
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = hmac.new(raw_key, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    """The unverified payload of a JWT; ``Inconclusive`` when the SUT's token is not one."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Inconclusive(
            f"the SUT's access token is not a decodable JWT ({exc}), so no variant can be forged"
        ) from None
    return dict(claims)


def header_of(token: str) -> dict[str, Any]:
    """The unverified JOSE header of a JWT; ``Inconclusive`` when the SUT's token is not one."""
    try:
        return dict(jwt.get_unverified_header(token))
    except jwt.PyJWTError as exc:
        raise Inconclusive(
            f"the SUT's access token is not a decodable JWT ({exc}), so no variant can be forged"
        ) from None


def unknown_subject(sub: Any) -> str:
    """An id no user has, of the same shape as ``sub`` (digits, a UUID or other text), so only its value is wrong."""
    text = str(sub)
    if text.isdigit():
        return str(10 ** max(len(text) + 3, 12) + secrets.randbelow(10**6))
    try:
        uuid.UUID(text)
    except ValueError:
        return "hlc" + secrets.token_hex(max(len(text), 8) // 2 + 1)
    return str(uuid.uuid4())


def lifetime_of(claims: dict[str, Any], default: int = 1800) -> int:
    """Seconds between a genuine token's ``iat`` and ``exp`` (``default`` when they are missing or odd)."""
    try:
        lifetime = int(float(claims["exp"]) - float(claims["iat"]))
    except (KeyError, TypeError, ValueError):
        return default
    return lifetime if lifetime > 0 else default


class TokenForge:
    """Makes the AUTH-2 variants and the AUTH-7 tokens.

    ``secret`` is the SUT's signing key when known (--jwt-secret, managed
    mode); ``algorithm`` the HMAC algorithm of the SUT's tokens (the profile's).
    """

    def __init__(
        self,
        secret: str | None,
        *,
        algorithm: str = "HS256",
        elevated_claims: dict[str, Any] | None = None,
    ) -> None:
        if algorithm not in HMAC_HASHES:
            raise ValueError(f"token algorithm {algorithm!r}: the forge signs {', '.join(HMAC_HASHES)} tokens only")
        self.secret = secret
        self.algorithm = algorithm
        #: Claims a tampered token grants itself (the privileged plan and role of the profile).
        self.elevated_claims = elevated_claims or {"plan": "pro", "role": "admin"}
        # A different key of the same (comfortable) length, so only the key differs.
        self.other_key = secrets.token_hex(32)
        self._builders: dict[str, Callable[[Session], str | None]] = {
            "missing": lambda session: None,
            "malformed": lambda session: MALFORMED,
            "bad-signature": self._bad_signature,
            "truncated-signature": self._truncated_signature,
            "empty-signature": self._empty_signature,
            **{f"alg-{s}": functools.partial(self._alg_none, s, signed=False) for s in ALG_NONE_SPELLINGS},
            **{f"alg-{s}-signed": functools.partial(self._alg_none, s, signed=True) for s in ALG_NONE_SPELLINGS},
            **{variant: functools.partial(self._kid_injection, variant) for variant in KID_INJECTIONS},
            "jwk-embedded": self._jwk_embedded,
            "jku-foreign-key": self._jku,
            "x5u-foreign-key": self._x5u,
            "alg-rs256": self._rs256,
            "alg-es256": self._es256,
            "alg-hs256-public-key": self._hs256_public_key,
            "expired": self._expired,
            "expired-just-now": self._expired_just_now,
            "missing-exp": self._missing_exp,
            "nbf-future": self._nbf_future,
            "iat-future": self._iat_future,
            "unknown-sub": self._unknown_sub,
            "revoked": self._revoked,
            "refresh-as-access": lambda session: session.refresh_token,
            "tampered-claims": self._tampered_claims,
            "oversized": self._oversized,
            "query-access-token": lambda session: session.access_token,
            "query-token": lambda session: session.access_token,
        }
        assert set(self._builders) == set(VARIANTS), "every variant has exactly one builder"

    def make(self, variant: str, session: Session) -> BadToken:
        """The bad token ``variant`` made from ``session``; ``NotRun`` when the run cannot make it."""
        if variant not in VARIANT_BY_ID:
            raise ValueError(f"unknown token variant {variant!r}; known: {', '.join(VARIANTS)}")
        spec = VARIANT_BY_ID[variant]
        token = self._builders[variant](session)
        if token is not None:
            label = f"the AUTH-2 {variant} token ({spec.summary})"
            if variant in PUBLIC_VARIANTS:
                redaction.register_public(token, label)
            elif variant not in ("revoked", "refresh-as-access", "query-access-token", "query-token"):
                redaction.register(
                    token,
                    f"{label}: it carries the session's signature or the SUT's key, so it is "
                    "masked; make it from a fresh access token",
                )
        return BadToken(variant, token, spec.expected_code, spec.summary, spec.query_parameter)

    def signed_with(self, key: str, session: Session) -> str:
        """AUTH-7: the session's access token re-signed with ``key``: real claims, fresh ``jti``, ``exp`` ahead."""
        header = {**header_of(session.access_token), "alg": self.algorithm}
        claims = claims_of(session.access_token)
        now = int(time.time())
        claims["exp"] = now + lifetime_of(claims)
        if "jti" in claims:
            claims["jti"] = uuid.uuid4().hex
        return sign_hmac(header, claims, key)

    # -- keys the harness made (generated on first use: RSA generation costs ~0.1 s) ----
    @functools.cached_property
    def rsa_key(self) -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @functools.cached_property
    def ec_key(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def rsa_public_jwk(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa_key.public_key(), as_dict=True)
        return {**jwk, "kid": HARNESS_KID, "use": "sig", "alg": "RS256"}

    # -- signatures ---------------------------------------------------------------------
    def _hmac_header(self, session: Session, **extra: Any) -> dict[str, Any]:
        return {**header_of(session.access_token), "alg": self.algorithm, **extra}

    def _bad_signature(self, session: Session) -> str:
        return sign_hmac(self._hmac_header(session), claims_of(session.access_token), self.other_key)

    def _truncated_signature(self, session: Session) -> str:
        claims_of(session.access_token)  # Inconclusive for a non-JWT
        return session.access_token[:-4]

    def _empty_signature(self, session: Session) -> str:
        claims_of(session.access_token)
        header_segment, payload_segment, _signature = session.access_token.split(".")
        return f"{header_segment}.{payload_segment}."

    def _alg_none(self, spelling: str, session: Session, *, signed: bool) -> str:
        header = {**header_of(session.access_token), "alg": spelling}
        signature = session.access_token.rsplit(".", 1)[1] if signed else ""
        return f"{b64url_json(header)}.{b64url_json(claims_of(session.access_token))}.{signature}"

    def _kid_injection(self, variant: str, session: Session) -> str:
        kid, key = KID_INJECTIONS[variant]
        return sign_hmac(self._hmac_header(session, kid=kid), claims_of(session.access_token), key)

    # -- keys the token brings along, and other algorithms ----------------------------------
    def _rsa_signed(self, session: Session, **header: Any) -> str:
        base = {k: v for k, v in header_of(session.access_token).items() if k not in ("alg", "kid")}
        return jwt.encode(claims_of(session.access_token), self.rsa_key, algorithm="RS256", headers={**base, **header})

    def _jwk_embedded(self, session: Session) -> str:
        return self._rsa_signed(session, kid=HARNESS_KID, jwk=self.rsa_public_jwk())

    def _jku(self, session: Session) -> str:
        return self._rsa_signed(session, kid=HARNESS_KID, jku=JKU_URL)

    def _x5u(self, session: Session) -> str:
        return self._rsa_signed(session, kid=HARNESS_KID, x5u=X5U_URL)

    def _rs256(self, session: Session) -> str:
        return self._rsa_signed(session)

    def _es256(self, session: Session) -> str:
        base = {k: v for k, v in header_of(session.access_token).items() if k not in ("alg", "kid")}
        return jwt.encode(claims_of(session.access_token), self.ec_key, algorithm="ES256", headers=base)

    def _hs256_public_key(self, session: Session) -> str:
        # The classic confusion: a verifier that holds an RSA public key and lets the token pick HMAC
        # uses the key's PEM text as the HMAC secret.
        pem = self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return sign_hmac({**header_of(session.access_token), "alg": "HS256"}, claims_of(session.access_token), pem)

    # -- claims, correctly signed (need the SUT's secret) -------------------------------------
    def _signed_claims(self, session: Session, what: str, change: Callable[[dict[str, Any], int], None]) -> str:
        """The session's claims, changed by ``change(claims, now)``, with a fresh jti, signed with the SUT's key."""
        if not self.secret:
            raise NotRun(f"{what} must be signed with the SUT's key", option="--jwt-secret")
        self._check_secret(session.access_token)
        claims = claims_of(session.access_token)
        if "jti" in claims:  # a fresh jti: revoking this token (a lax logout) must not revoke the session
            claims["jti"] = uuid.uuid4().hex
        change(claims, int(time.time()))
        return sign_hmac(self._hmac_header(session), claims, self.secret)

    def _check_secret(self, token: str) -> None:
        """Positive control: the secret verifies a genuine token, else a claims test would judge a bad signature."""
        try:
            jwt.decode(
                token, self.secret, algorithms=[self.algorithm], options={"verify_exp": False, "verify_aud": False}
            )
        except jwt.InvalidSignatureError:
            raise Inconclusive(
                "the given signing secret does not verify the SUT's own tokens (wrong --jwt-secret?)"
            ) from None
        except jwt.PyJWTError:
            pass  # other claims problems are not the secret's fault; the variant is still well made

    def _expired(self, session: Session) -> str:
        def change(claims: dict[str, Any], now: int) -> None:
            lifetime = lifetime_of(claims)
            claims.update(exp=now - EXPIRED_AGO_SECONDS, iat=now - EXPIRED_AGO_SECONDS - lifetime)

        return self._signed_claims(session, "an expired token", change)

    def _expired_just_now(self, session: Session) -> str:
        def change(claims: dict[str, Any], now: int) -> None:
            lifetime = lifetime_of(claims)
            claims.update(exp=now - JUST_EXPIRED_AGO_SECONDS, iat=now - JUST_EXPIRED_AGO_SECONDS - lifetime)

        return self._signed_claims(session, "a token expired just now", change)

    def _missing_exp(self, session: Session) -> str:
        return self._signed_claims(session, "a token without exp", lambda claims, now: claims.pop("exp", None))

    def _nbf_future(self, session: Session) -> str:
        def change(claims: dict[str, Any], now: int) -> None:
            claims.update(nbf=now + FUTURE_SECONDS, exp=now + FUTURE_SECONDS + lifetime_of(claims))

        return self._signed_claims(session, "a token not valid before the future", change)

    def _iat_future(self, session: Session) -> str:
        def change(claims: dict[str, Any], now: int) -> None:
            lifetime = lifetime_of(claims)
            claims.update(iat=now + FUTURE_SECONDS, exp=now + FUTURE_SECONDS + lifetime)

        return self._signed_claims(session, "a token issued in the future", change)

    def _unknown_sub(self, session: Session) -> str:
        def change(claims: dict[str, Any], now: int) -> None:
            claims["sub"] = unknown_subject(claims.get("sub", ""))

        return self._signed_claims(session, "a token of an unknown user", change)

    # -- tokens of the session itself, and the rest ------------------------------------------
    def _revoked(self, session: Session) -> str:
        if not session.revoked_access_token:
            raise ValueError("the revoked variant needs Session.revoked_access_token (a logged-out session's token)")
        return session.revoked_access_token

    def _tampered_claims(self, session: Session) -> str:
        claims = claims_of(session.access_token)
        header_segment, _payload, signature_segment = session.access_token.split(".")
        tampered = {**claims, **self.elevated_claims}
        if tampered == claims:  # already privileged: tamper with something else the SUT must trust
            tampered["sub"] = f"{claims.get('sub', '')}0"
        return f"{header_segment}.{b64url_json(tampered)}.{signature_segment}"

    def _oversized(self, session: Session) -> str:
        """Real claims plus a padding claim, signed with another key, between 16 KiB and 16 KiB + 3 characters."""
        header = self._hmac_header(session)
        claims = claims_of(session.access_token)

        def token(padding: int) -> str:
            return sign_hmac(header, {**claims, "hlc_padding": "x" * padding}, self.other_key)

        padding = max(0, (OVERSIZED_LENGTH - len(token(0))) * 3 // 4)
        while len(token(padding)) < OVERSIZED_LENGTH:  # base64 rounding: at most a few steps
            padding += 1
        return token(padding)
