"""AUTH-2: the plan guard trusts the `plan` claim as sent, without checking the signature."""

from reference import context
from reference.guards import Guards


class UnverifiedPlanGuards(Guards):
    async def plan(self, request, plan):
        if context.current().auth.unverified_claims.get("plan") == plan:
            return None
        return await super().plan(request, plan)


def apply(components) -> None:
    components.guards = UnverifiedPlanGuards()
