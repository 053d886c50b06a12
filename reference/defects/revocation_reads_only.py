"""REV-1: a revoked token is refused on reads (GET, HEAD) but accepted on writes.

The revocation check was added to the read path only; the write routes (create,
update, delete patient, update_me, change_password, logout) kept a guard that
wants a valid signature and an unexpired token.
"""

from reference import context
from reference.errors import TokenRevoked
from reference.guards import Guards, load_user

READS = ("GET", "HEAD")


class ReadOnlyRevocationGuards(Guards):
    async def user(self, request):
        auth = context.current().auth
        if isinstance(auth.error, TokenRevoked) and request.method not in READS:
            return await load_user(request, auth.claims["sub"])
        return await super().user(request)


def apply(components) -> None:
    components.guards = ReadOnlyRevocationGuards()
