"""REV-5: while the revocation store is down, logout lets the caller through and "succeeds".

"Logging out must never fail for the user": when the authentication layer
could not ask the store (SERVICE_UNAVAILABLE), logout settles for the verified
signature, tries to revoke, swallows the store's error and answers 200
{"success": true}. The token was neither checked nor revoked. Every guard
class that reads fails closed as it should, so only a probe that sends logout
during an outage sees it.
"""

from redis.exceptions import RedisError

from reference import context
from reference.errors import ServiceUnavailable
from reference.guards import load_user
from reference.logout import Logout
from reference.logs import get_logger

log = get_logger("heallog.auth")


class BestEffortLogout(Logout):
    async def guard(self, request):
        auth = context.current().auth
        if isinstance(auth.error, ServiceUnavailable) and auth.claims is not None:
            return await load_user(request, auth.claims["sub"])  # the signature verified: good enough
        return await super().guard(request)

    async def revoke(self, request, caller, refresh_token):
        try:
            await super().revoke(request, caller, refresh_token)
        except RedisError:
            log.warning("revocation store unreachable; logged out anyway")


def apply(components) -> None:
    components.logout = BestEffortLogout()
