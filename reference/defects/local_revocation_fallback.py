"""REV-5: when the revocation store cannot be reached, the process falls back on what it has seen revoked.

"Revoked tokens stay revoked during an outage": the store remembers, in the
process, every revocation it made or read, and when Redis errors it refuses
those and takes every other token as not revoked. A revoked token presented
during the outage is refused (401), as a probe with only such a token expects;
an unrevoked one is served, although nothing checked it (a token revoked on
another instance, or before a restart, would pass the same way).
"""

from redis.exceptions import RedisError

from reference.logs import get_logger
from reference.revocation import RedisRevocationStore

log = get_logger("heallog.revocation")


class FallbackRevocationStore(RedisRevocationStore):
    def __init__(self, redis) -> None:
        super().__init__(redis)
        self._seen_revoked: set[str] = set()

    async def revoke(self, claims) -> bool:
        created = await super().revoke(claims)
        self._seen_revoked.add(str(claims["jti"]))
        return created

    async def is_revoked(self, claims) -> bool:
        try:
            revoked = await super().is_revoked(claims)
        except RedisError:
            log.warning("revocation store unreachable; using the revocations this process has seen")
            return str(claims["jti"]) in self._seen_revoked
        if revoked:
            self._seen_revoked.add(str(claims["jti"]))
        return revoked


def apply(components) -> None:
    components.revocation = FallbackRevocationStore
