"""Failed-login counting and account lockout (LOCK-1..4).

The decision is made by one atomic Lua script: the count it returns is the
truth, so under any concurrency at most `threshold` attempts per window are
answered INVALID_CREDENTIALS; the attempt that reaches the threshold sets the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    window_seconds: int = 900
    lock_seconds: int = 900


class Lockout(Protocol):
    policy: LockoutPolicy

    async def locked_for(self, account: str) -> int:
        """Seconds the account stays locked, 0 when it is not locked."""

    async def record_failure(self, account: str) -> int:
        """Count one failure; returns the failures in the window, this one included."""

    async def reset(self, account: str) -> None: ...


_RECORD_FAILURE = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if count >= tonumber(ARGV[3]) then redis.call('SET', KEYS[2], '1', 'EX', ARGV[2], 'NX') end
return count
"""


def failures_key(account: str) -> str:
    return f"login-failures:{account}"


def lock_key(account: str) -> str:
    return f"login-lock:{account}"


class LoginFailures:
    """Which failed logins count (§6): every one, per lower-cased email, whether or not an account has it.

    Counting unknown emails too means the lockout does not tell which accounts
    exist; a defect's sibling counts only registered ones.
    """

    async def record(self, lockout: Lockout, account: str, *, registered: bool) -> int:
        """Count one failed login for ``account``; the failures in the window, this one included."""
        return await lockout.record_failure(account)


class RedisLockout:
    def __init__(self, redis: Redis, policy: LockoutPolicy) -> None:
        self._redis = redis
        self.policy = policy
        self._record = redis.register_script(_RECORD_FAILURE)

    async def locked_for(self, account: str) -> int:
        ttl = await self._redis.ttl(lock_key(account))
        return max(ttl, 0)

    async def record_failure(self, account: str) -> int:
        keys = [failures_key(account), lock_key(account)]
        args = [self.policy.window_seconds, self.policy.lock_seconds, self.policy.threshold]
        return int(await self._record(keys=keys, args=args))

    async def reset(self, account: str) -> None:
        await self._redis.delete(failures_key(account))
