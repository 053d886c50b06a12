"""Where revoked tokens are remembered (REV-1..6).

A token is revoked when its `jti` was revoked, or when it was issued before its
user's "valid after" instant (set by a password change). Entries live as long as
the token could (TTL = remaining lifetime), so the store never grows unbounded.
"""

from __future__ import annotations

from typing import Any, Protocol

from redis.asyncio import Redis

from reference.tokens import remaining_lifetime


class RevocationStore(Protocol):
    async def is_revoked(self, claims: dict[str, Any]) -> bool: ...

    async def revoke(self, claims: dict[str, Any]) -> bool:
        """Revoke the token's `jti`; True if this call did (False: that `jti` already was).

        Atomic, so that refresh-token rotation lets exactly one of two concurrent uses through.
        """

    async def revoke_issued_before(self, user_id: str, instant: float, ttl: int) -> None: ...


def _issued_before(claims: dict[str, Any], valid_after: float | None) -> bool:
    return valid_after is not None and float(claims["iat"]) < valid_after


class RedisRevocationStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def is_revoked(self, claims: dict[str, Any]) -> bool:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(f"revoked:{claims['jti']}")
            pipe.get(f"valid-after:{claims['sub']}")
            revoked, valid_after = await pipe.execute()
        return bool(revoked) or _issued_before(claims, float(valid_after) if valid_after else None)

    async def revoke(self, claims: dict[str, Any]) -> bool:
        created = await self._redis.set(f"revoked:{claims['jti']}", "1", ex=remaining_lifetime(claims), nx=True)
        return bool(created)

    async def revoke_issued_before(self, user_id: str, instant: float, ttl: int) -> None:
        await self._redis.set(f"valid-after:{user_id}", repr(instant), ex=ttl)
