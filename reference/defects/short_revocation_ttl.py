"""REV-1: revocations expire after a few seconds instead of the token's remaining lifetime.

The TTL was meant in minutes and is given in seconds: a logged-out token is
refused right after logout and accepted again 5 s later, for the rest of its life.
"""

from reference.revocation import RedisRevocationStore

REVOCATION_TTL_SECONDS = 5


class ShortLivedRevocationStore(RedisRevocationStore):
    async def revoke(self, claims) -> bool:
        created = await self._redis.set(f"revoked:{claims['jti']}", "1", ex=REVOCATION_TTL_SECONDS, nx=True)
        return bool(created)


def apply(components) -> None:
    components.revocation = ShortLivedRevocationStore
