"""AUTH-2: logout answers 200 to any bearer token, garbage included.

Logout decodes "its" token best effort instead of going through the user
guard: what verifies is revoked (expired and revoked tokens included), what
does not is ignored, and the answer is 200 either way. Only a request without
a bearer token is refused.
"""

from reference import context
from reference.errors import Unauthorized
from reference.logout import Logout, revoke_session


class BestEffortLogout(Logout):
    async def guard(self, request):
        if context.current().auth.token is None:
            raise Unauthorized()
        return None

    async def revoke(self, request, caller, refresh_token):
        claims = context.current().auth.claims
        if claims is not None:
            await revoke_session(request.app.state.services, claims, refresh_token)


def apply(components) -> None:
    components.logout = BestEffortLogout()
