"""REV-5: a revocation store that fails closed at first, then opens when the outage lasts.

A circuit breaker with a fallback: for the first few seconds of store errors
every guarded request is refused (503, as it should be); once the store has
been failing for longer, the breaker "opens" and tokens count as not revoked,
until a read succeeds again. A probe sent right after the store goes down sees
a conforming service; only one that holds the outage sees it open.
"""

import time

from redis.exceptions import RedisError

from reference.logs import get_logger
from reference.revocation import RedisRevocationStore

log = get_logger("heallog.revocation")

#: Seconds of store errors after which the breaker opens.
OPENS_AFTER_S = 4.0


class BreakerRevocationStore(RedisRevocationStore):
    def __init__(self, redis) -> None:
        super().__init__(redis)
        self._failing_since: float | None = None

    async def is_revoked(self, claims) -> bool:
        try:
            revoked = await super().is_revoked(claims)
        except RedisError:
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            if now - self._failing_since < OPENS_AFTER_S:
                raise
            log.warning("revocation store failing for a while; breaker open, assuming not revoked")
            return False
        self._failing_since = None
        return revoked


def apply(components) -> None:
    components.revocation = BreakerRevocationStore
