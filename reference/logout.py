"""Logout (CONTRACT §1): a user-guarded operation that revokes the caller's session.

The guard runs as a route dependency, so it answers before the body is
validated, as on every other guarded route. The presented access token is
revoked, and the refresh token sent with it when it verifies and belongs to
the same user.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from reference import context
from reference.db import User
from reference.errors import TokenInvalid
from reference.guards import current_user
from reference.logs import get_logger

log = get_logger("heallog.auth")


async def revoke_session(services: Any, access_claims: dict[str, Any], refresh_token: str | None) -> None:
    await services.revocation.revoke(access_claims)
    if not refresh_token:
        return
    try:
        refresh_claims = services.tokens.verify(refresh_token)
    except TokenInvalid:
        return
    if refresh_claims["sub"] == access_claims["sub"]:
        await services.revocation.revoke(refresh_claims)


class Logout:
    async def guard(self, request: Request) -> Any:
        """Who may log out: the user guard (a refused token is refused here like anywhere else, AUTH-2)."""
        return await current_user(request)

    async def revoke(self, request: Request, caller: User, refresh_token: str | None) -> None:
        await revoke_session(request.app.state.services, context.current().auth.claims, refresh_token)
        log.info("logged out", user_id=caller.id)


async def logout_guard(request: Request) -> Any:
    return await request.app.state.components.logout.guard(request)
