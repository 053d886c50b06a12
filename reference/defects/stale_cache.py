"""DATA-2: writes do not invalidate the list cache: a user's next list misses their own changes."""

from reference.list_cache import ListCache


class NeverInvalidatedCache(ListCache):
    async def invalidate(self, user_id: str) -> None:
        return None


def apply(components) -> None:
    components.list_cache = NeverInvalidatedCache
