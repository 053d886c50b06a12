"""Bad bearer tokens for AUTH-2, forged from a real session with PyJWT.

Each variant is derived from a genuine access token of the SUT, so that the
only thing wrong with it is the one property under test (a bad signature
still names a real user, an expired token still has every real claim). The
variant ids are stable: they appear in test ids and in the report.

Variant          what is wrong                                  code (§4)
missing          no Authorization header at all                 UNAUTHORIZED
malformed        not a JWT                                      TOKEN_INVALID
bad-signature    real claims, signed with another key           TOKEN_INVALID
alg-none         real claims, ``alg: none``, no signature       TOKEN_INVALID
expired          real claims, ``exp`` in the past, right key    TOKEN_EXPIRED  (needs the secret)
revoked          a session that was logged out                  TOKEN_REVOKED  (caller supplies it)
refresh-as-access  the session's refresh token                  TOKEN_INVALID
tampered-claims  payload elevated (plan, role) without re-signing  TOKEN_INVALID
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from conformance.outcomes import Inconclusive, NotRun

VARIANTS = (
    "missing",
    "malformed",
    "bad-signature",
    "alg-none",
    "expired",
    "revoked",
    "refresh-as-access",
    "tampered-claims",
)
EXPECTED_CODES = {
    "missing": "UNAUTHORIZED",
    "malformed": "TOKEN_INVALID",
    "bad-signature": "TOKEN_INVALID",
    "alg-none": "TOKEN_INVALID",
    "expired": "TOKEN_EXPIRED",
    "revoked": "TOKEN_REVOKED",
    "refresh-as-access": "TOKEN_INVALID",
    "tampered-claims": "TOKEN_INVALID",
}
MALFORMED = "not-a-jwt"
#: How long ago a forged expired token expired: far beyond any clock-skew leeway.
EXPIRED_AGO_SECONDS = 3600


@dataclass(frozen=True)
class BadToken:
    """One variant: ``token`` is what follows ``Bearer`` (``None``: send no Authorization header)."""

    variant: str
    token: str | None
    expected_code: str


@dataclass(frozen=True)
class Session:
    """The genuine tokens a variant is forged from."""

    access_token: str
    refresh_token: str
    revoked_access_token: str | None = None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims_of(token: str) -> dict[str, Any]:
    """The unverified payload of a JWT; ``Inconclusive`` when the SUT's token is not one."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Inconclusive(f"the SUT's access token is not a decodable JWT ({exc}), so no variant can be forged") from None
    return dict(claims)


def header_of(token: str) -> dict[str, Any]:
    """The unverified JOSE header of a JWT; ``Inconclusive`` when the SUT's token is not one."""
    try:
        return dict(jwt.get_unverified_header(token))
    except jwt.PyJWTError as exc:
        raise Inconclusive(f"the SUT's access token is not a decodable JWT ({exc}), so no variant can be forged") from None


class TokenForge:
    """Makes the AUTH-2 variants; ``secret`` is the SUT's signing key when known (--jwt-secret, managed mode)."""

    def __init__(
        self,
        secret: str | None,
        *,
        algorithm: str = "HS256",
        elevated_claims: dict[str, Any] | None = None,
    ) -> None:
        self.secret = secret
        self.algorithm = algorithm
        #: Claims a tampered token grants itself (the privileged plan and role of the profile).
        self.elevated_claims = elevated_claims or {"plan": "pro", "role": "admin"}
        # A different key of the same (comfortable) length, so only the key differs.
        self.other_key = secrets.token_hex(32)

    def make(self, variant: str, session: Session) -> BadToken:
        """The bad token ``variant`` made from ``session``; ``NotRun`` when the run cannot make it."""
        builders = {
            "missing": self._missing,
            "malformed": self._malformed,
            "bad-signature": self._bad_signature,
            "alg-none": self._alg_none,
            "expired": self._expired,
            "revoked": self._revoked,
            "refresh-as-access": self._refresh_as_access,
            "tampered-claims": self._tampered_claims,
        }
        if variant not in builders:
            raise ValueError(f"unknown token variant {variant!r}; known: {', '.join(VARIANTS)}")
        return BadToken(variant, builders[variant](session), EXPECTED_CODES[variant])

    def _missing(self, session: Session) -> None:
        return None

    def _malformed(self, session: Session) -> str:
        return MALFORMED

    def _bad_signature(self, session: Session) -> str:
        # The original header minus "alg", which PyJWT would otherwise prefer over ``algorithm``.
        header = {k: v for k, v in header_of(session.access_token).items() if k != "alg"}
        return jwt.encode(claims_of(session.access_token), self.other_key, algorithm=self.algorithm, headers=header)

    def _alg_none(self, session: Session) -> str:
        header = {**header_of(session.access_token), "alg": "none"}
        return f"{b64url_json(header)}.{b64url_json(claims_of(session.access_token))}."

    def _expired(self, session: Session) -> str:
        if not self.secret:
            raise NotRun("an expired token must be signed with the SUT's key", option="--jwt-secret")
        self._check_secret(session.access_token)
        now = int(time.time())
        claims = claims_of(session.access_token)
        lifetime = max(int(claims.get("exp", now)) - int(claims.get("iat", now)), 60)
        claims.update(exp=now - EXPIRED_AGO_SECONDS, iat=now - EXPIRED_AGO_SECONDS - lifetime)
        if "jti" in claims:
            claims["jti"] = uuid.uuid4().hex
        return jwt.encode(claims, self.secret, algorithm=self.algorithm)

    def _check_secret(self, token: str) -> None:
        """Positive control: the secret verifies a genuine token, else an expiry test would judge a bad signature."""
        try:
            jwt.decode(token, self.secret, algorithms=[self.algorithm], options={"verify_exp": False, "verify_aud": False})
        except jwt.InvalidSignatureError:
            raise Inconclusive("the given signing secret does not verify the SUT's own tokens (wrong --jwt-secret?)") from None
        except jwt.PyJWTError:
            pass  # other claims problems are not the secret's fault; the variant is still well made

    def _revoked(self, session: Session) -> str:
        if not session.revoked_access_token:
            raise ValueError("the revoked variant needs Session.revoked_access_token (a logged-out session's token)")
        return session.revoked_access_token

    def _refresh_as_access(self, session: Session) -> str:
        return session.refresh_token

    def _tampered_claims(self, session: Session) -> str:
        claims = claims_of(session.access_token)
        header_segment, _payload, signature_segment = session.access_token.split(".")
        tampered = {**claims, **self.elevated_claims}
        if tampered == claims:  # already privileged: tamper with something else the SUT must trust
            tampered["sub"] = f"{claims.get('sub', '')}0"
        return f"{header_segment}.{b64url_json(tampered)}.{signature_segment}"
