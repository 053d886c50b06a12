"""REV-3, REV-4: revocations live in a dict of this process: lost on restart, invisible to other instances."""

import time


class MemoryRevocationStore:
    def __init__(self) -> None:
        self._revoked: dict[str, float] = {}
        self._valid_after: dict[str, float] = {}

    async def is_revoked(self, claims) -> bool:
        valid_after = self._valid_after.get(claims["sub"])
        if valid_after is not None and float(claims["iat"]) < valid_after:
            return True
        return self._revoked.get(claims["jti"], 0) > time.time()

    async def revoke(self, claims) -> bool:
        if self._revoked.get(claims["jti"], 0) > time.time():
            return False
        self._revoked[claims["jti"]] = float(claims["exp"])
        return True

    async def revoke_issued_before(self, user_id, instant, ttl) -> None:
        self._valid_after[user_id] = instant


def apply(components) -> None:
    components.revocation = lambda _redis: MemoryRevocationStore()
