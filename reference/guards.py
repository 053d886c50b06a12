"""Route guards: user, plan and role (AUTH-2, AUTH-3).

Guards only read the auth context the auth middleware filled; they never
decode a token. Authentication is settled before authorization, so a bad token
on a pro or admin route is a 401, never a 403. Plan and role come from the
token's claims (the default profile's `authorization = "claims"`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from reference import context
from reference.db import User
from reference.errors import Forbidden, ProRequired, TokenInvalid, Unauthorized


async def load_user(request: Request, user_id: str) -> User:
    db = request.app.state.services.db
    async with db.read() as session:
        user = await session.get(User, user_id)
    if user is None or not user.is_verified:
        raise TokenInvalid()
    return user


class Guards:
    async def user(self, request: Request) -> User:
        auth = context.current().auth
        if auth.token is None:
            raise Unauthorized()
        if auth.error is not None:
            raise auth.error
        return await load_user(request, auth.claims["sub"])

    def claims(self) -> dict[str, Any]:
        return context.current().auth.claims or {}

    async def plan(self, request: Request, plan: str) -> User:
        user = await self.user(request)
        if self.claims().get("plan") != plan:
            raise ProRequired()
        return user

    async def role(self, request: Request, role: str) -> User:
        user = await self.user(request)
        if self.claims().get("role") != role:
            raise Forbidden()
        return user


def _guards(request: Request) -> Guards:
    return request.app.state.components.guards


async def current_user(request: Request) -> User:
    return await _guards(request).user(request)


def require_plan(plan: str) -> Callable:
    async def plan_guard(request: Request) -> User:
        return await _guards(request).plan(request, plan)

    return plan_guard


def require_role(role: str) -> Callable:
    async def role_guard(request: Request) -> User:
        return await _guards(request).role(request, role)

    return role_guard
