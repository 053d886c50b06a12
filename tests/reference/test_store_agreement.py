"""The store components agree with a model, one operation at a time (hypothesis state machines).

The Redis implementations and their in-memory defect siblings must behave the
same sequentially: the defects differ only in what a model run cannot see
(concurrency, restarts, other instances, outages).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from redis.asyncio import Redis

from reference.defects.memory_lockout import MemoryLockout
from reference.defects.memory_revocation import MemoryRevocationStore
from reference.defects.racy_lockout import RacyLockout
from reference.lockout import LockoutPolicy, RedisLockout
from reference.revocation import RedisRevocationStore
from tests.reference.server import ExternalRedis

# Few, short runs: every step is a real Redis round trip.
STATE_MACHINE_SETTINGS = settings(max_examples=15, stateful_step_count=12, deadline=None)
POLICY = LockoutPolicy(threshold=3, window_seconds=60, lock_seconds=60)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    redis = ExternalRedis(tmp_path_factory.mktemp("agreement-redis"))
    try:
        yield redis.url
    finally:
        redis.stop()


def run(coroutine_factory, redis_url: str):
    """Run one store operation with a client of its own (each asyncio.run has its own loop)."""

    async def with_client():
        client = Redis.from_url(redis_url, decode_responses=True)
        try:
            return await coroutine_factory(client)
        finally:
            await client.aclose()

    return asyncio.run(with_client())


def test_lockout_implementations_agree_with_the_model(redis_url):
    class LockoutMachine(RuleBasedStateMachine):
        @initialize()
        def fresh(self):
            self.prefix = uuid.uuid4().hex
            self.failures: dict[str, int] = {}
            self.memory = MemoryLockout(None, POLICY)

        def account(self, n: int) -> str:
            return f"{self.prefix}-{n}@example.com"

        @rule(n=st.integers(0, 2))
        def fail(self, n):
            account = self.account(n)
            self.failures[account] = self.failures.get(account, 0) + 1
            expected = self.failures[account]
            assert run(lambda r: RedisLockout(r, POLICY).record_failure(account + "#clean"), redis_url) == expected
            assert run(lambda r: RacyLockout(r, POLICY).record_failure(account + "#racy"), redis_url) == expected
            assert asyncio.run(self.memory.record_failure(account)) == expected

        @rule(n=st.integers(0, 2))
        def reset_unless_locked(self, n):
            account = self.account(n)
            if self.failures.get(account, 0) >= POLICY.threshold:
                return  # a locked account is not reset by a login (it never gets that far)
            self.failures.pop(account, None)
            run(lambda r: RedisLockout(r, POLICY).reset(account + "#clean"), redis_url)
            run(lambda r: RacyLockout(r, POLICY).reset(account + "#racy"), redis_url)
            asyncio.run(self.memory.reset(account))

        @rule(n=st.integers(0, 2))
        def locked(self, n):
            account = self.account(n)
            expected = self.failures.get(account, 0) >= POLICY.threshold
            assert (run(lambda r: RedisLockout(r, POLICY).locked_for(account + "#clean"), redis_url) > 0) == expected
            assert (run(lambda r: RacyLockout(r, POLICY).locked_for(account + "#racy"), redis_url) > 0) == expected
            assert (asyncio.run(self.memory.locked_for(account)) > 0) == expected

    run_state_machine_as_test(LockoutMachine, settings=STATE_MACHINE_SETTINGS)


def test_revocation_stores_agree_with_the_model(redis_url):
    class RevocationMachine(RuleBasedStateMachine):
        @initialize()
        def fresh(self):
            self.user = uuid.uuid4().hex
            self.issued: list[dict] = []
            self.revoked: set[str] = set()
            self.valid_after = 0.0
            self.memory = MemoryRevocationStore()

        def stores(self):
            return [
                lambda op: run(lambda r: op(RedisRevocationStore(r)), redis_url),
                lambda op: asyncio.run(op(self.memory)),
            ]

        @rule()
        def issue(self):
            now = time.time()
            self.issued.append({"sub": self.user, "jti": uuid.uuid4().hex, "iat": now, "exp": now + 600})

        @rule(index=st.integers(0, 5))
        def revoke(self, index):
            if not self.issued:
                return
            claims = self.issued[index % len(self.issued)]
            expected = claims["jti"] not in self.revoked
            self.revoked.add(claims["jti"])
            for store in self.stores():
                assert store(lambda s: s.revoke(claims)) == expected

        @rule()
        def change_password(self):
            self.valid_after = time.time()
            for store in self.stores():
                store(lambda s: s.revoke_issued_before(self.user, self.valid_after, 600))

        @rule(index=st.integers(0, 5))
        def check(self, index):
            if not self.issued:
                return
            claims = self.issued[index % len(self.issued)]
            expected = claims["jti"] in self.revoked or claims["iat"] < self.valid_after
            for store in self.stores():
                assert store(lambda s: s.is_revoked(claims)) == expected

    run_state_machine_as_test(RevocationMachine, settings=STATE_MACHINE_SETTINGS)
