"""HS256 access and refresh tokens (CONTRACT §3).

`iat` is a float with sub-second precision so that a password change revokes
every earlier token while a token issued in the same second after it still works.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from reference import context
from reference.errors import TokenExpired, TokenInvalid

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "exp", "iat", "jti")


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    token_type: str = "bearer"


class TokenService:
    def __init__(self, secret: str, *, access_lifetime: int, refresh_lifetime: int) -> None:
        if not secret:
            raise ValueError("an empty signing secret")
        self._secret = secret
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime

    def issue(self, *, user_id: str, plan: str, role: str) -> IssuedTokens:
        now = round(time.time(), 6)
        access = {
            "sub": user_id,
            "plan": plan,
            "role": role,
            "type": "access",
            "iat": now,
            "exp": int(now) + self.access_lifetime,
            "jti": uuid.uuid4().hex,
        }
        refresh = {
            "sub": user_id,
            "type": "refresh",
            "iat": now,
            "exp": int(now) + self.refresh_lifetime,
            "jti": uuid.uuid4().hex,
        }
        return IssuedTokens(
            jwt.encode(access, self._secret, algorithm=ALGORITHM),
            jwt.encode(refresh, self._secret, algorithm=ALGORITHM),
        )

    def verify(self, token: str) -> dict[str, Any]:
        """Verify signature and shape, not expiry: the claims of an expired token are still wanted."""
        return verify_hs256(token, self._secret)

    def raise_if_expired(self, claims: dict[str, Any]) -> None:
        """TokenExpired once `exp` has passed: no leeway (§3)."""
        raise_if_expired(claims)

    def verify_bearer(self, token: str) -> dict[str, Any]:
        """Verify the Authorization header's token; counted for X-Debug-JWT-Decodes."""
        context.current().jwt_decodes += 1
        return self.verify(token)


def verify_hs256(token: str, key: str) -> dict[str, Any]:
    """The claims of a token signed with `key` (HS256 only), shape checked; TokenInvalid otherwise."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "require": list(REQUIRED_CLAIMS)},
        )
    except jwt.PyJWTError:
        raise TokenInvalid() from None
    return checked_claims(claims)


def checked_claims(claims: Any) -> dict[str, Any]:
    """`claims` if it has the shape every use relies on (string `sub` and `jti`, numeric `exp`, `iat`)."""
    if not isinstance(claims, dict) or any(name not in claims for name in REQUIRED_CLAIMS):
        raise TokenInvalid()
    if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
        raise TokenInvalid()
    if not isinstance(claims["exp"], (int, float)) or not isinstance(claims["iat"], (int, float)):
        raise TokenInvalid()
    return claims


def raise_if_expired(claims: dict[str, Any]) -> None:
    if claims["exp"] <= time.time():
        raise TokenExpired()


def remaining_lifetime(claims: dict[str, Any]) -> int:
    return max(1, int(claims["exp"] - time.time()) + 1)


def peek_payload(token: str) -> dict[str, Any]:
    """The payload segment as sent, without verification (part of the single decode pass)."""
    return _peek_segment(token, 1)


def peek_header(token: str) -> dict[str, Any]:
    """The JOSE header as sent, without verification."""
    return _peek_segment(token, 0)


def _peek_segment(token: str, index: int) -> dict[str, Any]:
    """A segment's JSON object, else {}: whatever was sent, deeply nested JSON included (RecursionError)."""
    try:
        segment = token.split(".")[index]
        padded = segment + "=" * (-len(segment) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))
        return value if isinstance(value, dict) else {}
    except (IndexError, ValueError, RecursionError):
        return {}
