"""The long-lived objects a running service needs, built once at start-up from settings and components."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry  # the asyncio one: a sync Retry never retries a coroutine
from redis.backoff import NoBackoff

from reference.components import Components
from reference.config import Settings
from reference.db import Database
from reference.lockout import LockoutPolicy
from reference.mailer import OTPMailer
from reference.rate_limit import RateLimiter
from reference.tokens import TokenService

# Short timeouts: with Redis down, guarded routes must answer 503 quickly rather than hang.
REDIS_CONNECT_TIMEOUT = 1.0
REDIS_SOCKET_TIMEOUT = 2.0


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis
    tokens: TokenService
    token_types: Any
    revocation: Any
    lockout: Any
    rate_limiter: RateLimiter
    rates: dict[str, tuple[int, int]]
    list_cache: Any
    patient_ids: Any
    search: Any
    mailer: OTPMailer
    credential_errors: Any
    otp_outcomes: Any

    async def close(self) -> None:
        await self.redis.aclose()
        await self.db.close()


def connect_redis(url: str) -> Redis:
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 1),
    )


def build_services(
    settings: Settings, components: Components, *, secret: str, database_url: str, redis_url: str
) -> Services:
    redis = connect_redis(redis_url)
    return Services(
        settings=settings,
        db=Database(database_url),
        redis=redis,
        tokens=components.tokens(
            secret,
            access_lifetime=settings.access_lifetime_seconds,
            refresh_lifetime=settings.refresh_lifetime_seconds,
        ),
        token_types=components.token_types,
        revocation=components.revocation(redis),
        lockout=components.lockout(redis, LockoutPolicy()),
        rate_limiter=RateLimiter(redis),
        rates=settings.rates(),
        list_cache=components.list_cache(redis, components.list_cache_keys),
        patient_ids=components.patient_ids,
        search=components.search,
        mailer=OTPMailer(settings),
        credential_errors=components.credential_errors,
        otp_outcomes=components.otp_outcomes,
    )
