"""Decode the bearer token once per request into the auth context (AUTH-1).

Guards never decode: they read `context.current().auth` and raise its error.
Everything that makes a token unusable is decided here, in this order:
signature and shape (TOKEN_INVALID), type (TOKEN_INVALID), expiry
(TOKEN_EXPIRED), revocation (TOKEN_REVOKED, or SERVICE_UNAVAILABLE when the
revocation store cannot be asked: fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from reference import context
from reference.errors import APIException, ServiceUnavailable, TokenInvalid, TokenRevoked
from reference.revocation import RevocationStore
from reference.tokens import TokenService, peek_payload


class TokenTypes:
    """Which token types each use accepts (a token without `type` is an access token)."""

    def usable_as_access(self, claims: dict[str, Any]) -> bool:
        return claims.get("type", "access") == "access"

    def usable_as_refresh(self, claims: dict[str, Any]) -> bool:
        return claims.get("type") == "refresh"


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None (no decode happens)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token:
                return token
            return None
    return None


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        services: Callable[[], Any],
    ) -> None:
        self.app = app
        self.services = services

    async def authenticate(self, token: str, auth: context.AuthContext) -> None:
        services = self.services()
        tokens: TokenService = services.tokens
        types: TokenTypes = services.token_types
        revocation: RevocationStore = services.revocation
        auth.unverified_claims = peek_payload(token)
        try:
            claims = tokens.verify_bearer(token)
        except APIException as error:
            auth.error = error
            return
        auth.claims = claims
        try:
            if not types.usable_as_access(claims):
                raise TokenInvalid()
            tokens.raise_if_expired(claims)
            try:
                revoked = await revocation.is_revoked(claims)
            except RedisError:
                raise ServiceUnavailable() from None
            if revoked:
                raise TokenRevoked()
        except APIException as error:
            auth.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        auth = context.current().auth
        if token is not None:
            auth.token = token
            await self.authenticate(token, auth)
        await self.app(scope, receive, send)
