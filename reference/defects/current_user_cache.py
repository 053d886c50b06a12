"""DATA-1: the patient list cache is keyed by a per-process "current user", set when a request starts.

The auth middleware records the caller in one attribute shared by the whole
process; the list cache reads it when it builds its key, after the guard's
user lookup and the cache's own version lookup have awaited. When two users'
requests interleave there, one user is served (or poisons) the other's cached
list. Requests one at a time never show it.
"""

import json

from reference.list_cache import ListCache
from reference.middleware.auth import AuthMiddleware


class CurrentUser:
    id: str | None = None


CURRENT_USER = CurrentUser()


class CurrentUserAuth(AuthMiddleware):
    async def authenticate(self, token, auth):
        await super().authenticate(token, auth)
        if auth.claims is not None:
            CURRENT_USER.id = auth.claims["sub"]


class CurrentUserListCache(ListCache):
    async def get(self, user_id, query):
        version = int(await self._redis.get(self._keys.version_key(CURRENT_USER.id)) or 0)
        key = self._keys.list_key(CURRENT_USER.id, version, query)
        cached = await self._redis.get(key)
        return key, (json.loads(cached) if cached else None)


def apply(components) -> None:
    components.auth = CurrentUserAuth
    components.list_cache = CurrentUserListCache
