"""REV-5: when the revocation store cannot be reached, every token counts as not revoked."""

from redis.exceptions import RedisError

from reference.logs import get_logger
from reference.revocation import RedisRevocationStore

log = get_logger("heallog.revocation")


class FailOpenRevocationStore(RedisRevocationStore):
    async def is_revoked(self, claims) -> bool:
        try:
            return await super().is_revoked(claims)
        except RedisError:
            log.warning("revocation store unreachable; assuming not revoked")
            return False


def apply(components) -> None:
    components.revocation = FailOpenRevocationStore
