"""me, update_me, change_password, list_users."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from reference.db import User
from reference.errors import BadRequest
from reference.guards import current_user, require_role
from reference.logs import get_logger
from reference.passwords import hash_password_async, verify_password_async
from reference.schemas import ChangePasswordRequest, UpdateMeRequest, user_out

router = APIRouter(prefix="/api/users")
log = get_logger("heallog.users")
CurrentUser = Annotated[User, Depends(current_user)]


@router.get("/me")
async def me(user: CurrentUser) -> dict[str, Any]:
    return user_out(user)


@router.put("/me")
async def update_me(body: UpdateMeRequest, user: CurrentUser, request: Request) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("full_name", "") is None:
        changes.pop("full_name")
    async with request.app.state.services.db.write() as session:
        stored = await session.get(User, user.id)
        for name, value in changes.items():
            setattr(stored, name, value)
    log.info("profile updated", user_id=user.id, fields=sorted(changes))
    return user_out(stored)


@router.post("/me/password")
async def change_password(body: ChangePasswordRequest, user: CurrentUser, request: Request) -> dict[str, Any]:
    """Every token issued before the change is revoked, the one used here included (REV-6)."""
    services = request.app.state.services
    if not await verify_password_async(body.current_password, user.password_hash):
        raise BadRequest("Current password is incorrect", field="current_password")
    new_hash = await hash_password_async(body.new_password)
    async with services.db.write() as session:
        stored = await session.get(User, user.id)
        stored.password_hash = new_hash
    await services.revocation.revoke_issued_before(user.id, time.time(), services.tokens.refresh_lifetime)
    log.info("password changed", user_id=user.id)
    return {"success": True, "message": "Password changed"}


@router.get("/", dependencies=[Depends(require_role("admin"))])
async def list_users(request: Request) -> list[dict[str, Any]]:
    async with request.app.state.services.db.read() as session:
        users = (await session.execute(select(User).order_by(User.created_at).limit(1000))).scalars()
        return [user_out(user) for user in users]
