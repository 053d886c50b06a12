"""DATA-1: the list cache key ignores the user, so one user's cached list is served to another.

Invalidation stays correct for the writer (a global version bumped by every write),
so a user still reads their own writes: only isolation is broken.
"""

from reference.list_cache import PerUserKeys, query_digest


class SharedKeys(PerUserKeys):
    def version_key(self, user_id: str) -> str:
        return "plist-version:all"

    def list_key(self, user_id: str, version: int, query) -> str:
        return f"plist:all:{version}:{query_digest(query)}"


def apply(components) -> None:
    components.list_cache_keys = SharedKeys()
