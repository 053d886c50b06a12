"""REV-5: while the revocation store is down, the plan guard serves its routes unchecked.

"Paying customers must not be locked out by an infrastructure hiccup": when the
authentication layer could not ask the store (SERVICE_UNAVAILABLE), the plan
guard settles for the verified signature and lets the request through. Every
other guard class fails closed as it should, so only a probe of the pro guard
class during an outage sees it.
"""

from reference import context
from reference.errors import ProRequired, ServiceUnavailable
from reference.guards import Guards, load_user


class FailOpenPlanGuards(Guards):
    async def plan(self, request, plan):
        auth = context.current().auth
        if isinstance(auth.error, ServiceUnavailable) and auth.claims is not None:
            user = await load_user(request, auth.claims["sub"])  # the signature verified: good enough
        else:
            user = await self.user(request)
        if self.claims().get("plan") != plan:
            raise ProRequired()
        return user


def apply(components) -> None:
    components.guards = FailOpenPlanGuards()
