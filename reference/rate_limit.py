"""Per-client-IP fixed-window rate limits (RATE-1), counted in Redis so instances share them."""

from __future__ import annotations

import time

from redis.asyncio import Redis

_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._hit = redis.register_script(_HIT)

    async def retry_after(self, name: str, client: str, *, count: int, seconds: int) -> int:
        """Record one hit; 0 when allowed, else the seconds until the window ends."""
        now = time.time()
        window = int(now // seconds)
        hits = int(await self._hit(keys=[f"rate:{name}:{client}:{window}"], args=[seconds + 1]))
        if hits <= count:
            return 0
        return max(1, int((window + 1) * seconds - now) + 1)
