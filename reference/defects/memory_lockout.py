"""LOCK-4: failure counters and locks in process memory: a restart or another instance forgets them.

Still atomic within the process (no await between read and write), so only LOCK-4 is broken.
"""

import time


class MemoryLockout:
    def __init__(self, _redis, policy) -> None:
        self.policy = policy
        self._failures: dict[str, tuple[int, float]] = {}
        self._locked_until: dict[str, float] = {}

    async def locked_for(self, account: str) -> int:
        remaining = self._locked_until.get(account, 0) - time.time()
        return int(remaining) + 1 if remaining > 0 else 0

    async def record_failure(self, account: str) -> int:
        now = time.time()
        count, started = self._failures.get(account, (0, now))
        if now - started > self.policy.window_seconds:
            count, started = 0, now
        count += 1
        self._failures[account] = (count, started)
        if count >= self.policy.threshold and account not in self._locked_until:
            self._locked_until[account] = now + self.policy.lock_seconds
        return count

    async def reset(self, account: str) -> None:
        self._failures.pop(account, None)


def apply(components) -> None:
    components.lockout = MemoryLockout
