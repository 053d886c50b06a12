"""LOCK-2: read the failure count, await, write count+1 back: concurrent failures overwrite each other."""

import asyncio

from reference.lockout import RedisLockout, failures_key, lock_key

# A stand-in for the round trip a read-modify-write client makes between its GET and SET.
ROUND_TRIP_SECONDS = 0.01


class RacyLockout(RedisLockout):
    async def record_failure(self, account: str) -> int:
        count = int(await self._redis.get(failures_key(account)) or 0) + 1
        await asyncio.sleep(ROUND_TRIP_SECONDS)
        await self._redis.set(failures_key(account), count, ex=self.policy.window_seconds)
        if count >= self.policy.threshold:
            await self._redis.set(lock_key(account), "1", ex=self.policy.lock_seconds, nx=True)
        return count


def apply(components) -> None:
    components.lockout = RacyLockout
