"""register, verify_otp, login, refresh, logout (CONTRACT §1-§3)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from reference.db import User, utcnow
from reference.errors import (
    AccountLocked,
    BadRequest,
    DuplicateEmail,
    EmailNotVerified,
    InvalidOTP,
    TokenInvalid,
    TokenRevoked,
)
from reference.logout import logout_guard
from reference.logs import get_logger
from reference.passwords import hash_password_async, verify_password_async
from reference.routes.ratelimits import rate_limited
from reference.schemas import LogoutRequest, RefreshRequest, RegisterRequest, VerifyOTPRequest, user_out

router = APIRouter(prefix="/api/auth")
log = get_logger("heallog.auth")
OTP_LIFETIME = timedelta(minutes=10)


def otp_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def account_key(email: str) -> str:
    """Lockout counts per case-insensitive email, whether or not an account exists."""
    return email.strip().lower().encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")


async def find_user(request: Request, email: str) -> User | None:
    async with request.app.state.services.db.read() as session:
        result = await session.execute(select(User).where(User.email == email))
        return result.scalar_one_or_none()


def token_body(services: Any, user: User) -> dict[str, Any]:
    tokens = services.tokens.issue(user_id=user.id, plan=user.plan, role=user.role)
    return {
        "success": True,
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_type": tokens.token_type,
        "user": user_out(user),
    }


@router.post("/register", status_code=201, dependencies=[Depends(rate_limited("register"))])
async def register(body: RegisterRequest, request: Request) -> dict[str, Any]:
    services = request.app.state.services
    email = str(body.email).lower()
    code = services.mailer.new_code()
    password_hash = await hash_password_async(body.password)
    try:
        async with services.db.write() as session:
            existing = await session.execute(select(User.id).where(User.email == email))
            if existing.first() is not None:
                raise DuplicateEmail(field="email")
            session.add(
                User(
                    email=email,
                    password_hash=password_hash,
                    full_name=body.full_name,
                    phone=body.phone,
                    otp_hash=otp_digest(code),
                    otp_expires_at=utcnow() + OTP_LIFETIME,
                )
            )
    except IntegrityError:
        raise DuplicateEmail(field="email") from None
    log.info("user registered", email=email, phone=body.phone)
    await services.mailer.send_code(email, code)
    return {"success": True, "requires_verification": True, "email": email}


@router.post("/verify-otp", dependencies=[Depends(rate_limited("verify_otp"))])
async def verify_otp(body: VerifyOTPRequest, request: Request) -> Any:
    services = request.app.state.services
    email = str(body.email).lower()
    async with services.db.write() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
        if user is None:
            return services.otp_outcomes.rejected(InvalidOTP())
        if user.is_verified:
            raise BadRequest("Account is already verified")
        expires = user.otp_expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=utcnow().tzinfo)
        fresh = expires is not None and expires > utcnow()
        if not (fresh and user.otp_hash and hmac.compare_digest(user.otp_hash, otp_digest(body.otp_code))):
            log.info("otp rejected", email=email)
            return services.otp_outcomes.rejected(InvalidOTP())
        user.is_verified = True
        user.otp_hash = None
        user.otp_expires_at = None
    log.info("email verified", email=email, user_id=user.id)
    return token_body(services, user)


@router.post("/login", dependencies=[Depends(rate_limited("login"))])
async def login(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=320)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
) -> dict[str, Any]:
    services = request.app.state.services
    account = account_key(username)
    lockout = services.lockout
    locked_for = await lockout.locked_for(account)
    if locked_for:
        raise AccountLocked(locked_for)
    user = await find_user(request, account)
    if not await verify_password_async(password, user.password_hash if user else None):
        failures = await request.app.state.components.login_failures.record(
            lockout, account, registered=user is not None
        )
        log.info("login failed", email=account, failures=failures)
        if failures > lockout.policy.threshold:
            raise AccountLocked(await lockout.locked_for(account) or lockout.policy.lock_seconds)
        errors = services.credential_errors
        raise errors.unknown_email() if user is None else errors.wrong_password()
    if not user.is_verified:
        raise EmailNotVerified()
    await lockout.reset(account)
    log.info("login succeeded", email=account, user_id=user.id)
    return token_body(services, user)


@router.post("/refresh", dependencies=[Depends(rate_limited("refresh"))])
async def refresh(body: RefreshRequest, request: Request) -> dict[str, Any]:
    """Rotation: the presented refresh token is revoked atomically; a second use is TOKEN_REVOKED."""
    services = request.app.state.services
    claims = services.tokens.verify(body.refresh_token)
    if not services.token_types.usable_as_refresh(claims):
        raise TokenInvalid()
    services.tokens.raise_if_expired(claims)
    async with services.db.read() as session:
        user = await session.get(User, claims["sub"])
    if user is None or not user.is_verified:
        raise TokenInvalid()
    if await services.revocation.is_revoked(claims) or not await services.revocation.revoke(claims):
        raise TokenRevoked()
    issued = token_body(services, user)
    return {key: issued[key] for key in ("access_token", "refresh_token", "token_type")}


@router.post("/logout")
async def logout(
    request: Request,
    caller: Annotated[Any, Depends(logout_guard)],
    body: LogoutRequest | None = None,
) -> dict[str, Any]:
    refresh_token = body.refresh_token if body is not None else None
    await request.app.state.components.logout.revoke(request, caller, refresh_token)
    return {"success": True, "message": "Logged out"}
