"""The per-user patient list cache (DATA-1, DATA-2).

Invalidation is by version: a write bumps the owner's version number, which is
part of every list key, so older entries are never read again and expire.
The key policy (which keys, which version) is the swappable part.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from redis.asyncio import Redis

CACHE_TTL_SECONDS = 300


def query_digest(query: dict[str, Any]) -> str:
    text = json.dumps(query, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PerUserKeys:
    """Each user's lists are cached under keys of their own."""

    def version_key(self, user_id: str) -> str:
        return f"plist-version:{user_id}"

    def list_key(self, user_id: str, version: int, query: dict[str, Any]) -> str:
        return f"plist:{user_id}:{version}:{query_digest(query)}"


class ListCache:
    def __init__(self, redis: Redis, keys: PerUserKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def _key(self, user_id: str, query: dict[str, Any]) -> str:
        version = int(await self._redis.get(self._keys.version_key(user_id)) or 0)
        return self._keys.list_key(user_id, version, query)

    async def get(self, user_id: str, query: dict[str, Any]) -> tuple[str, list | None]:
        """The key to store under, and the cached list if there is one."""
        key = await self._key(user_id, query)
        cached = await self._redis.get(key)
        return key, (json.loads(cached) if cached else None)

    async def put(self, key: str, items: list) -> None:
        await self._redis.set(key, json.dumps(items), ex=CACHE_TTL_SECONDS)

    async def invalidate(self, user_id: str) -> None:
        await self._redis.incr(self._keys.version_key(user_id))
