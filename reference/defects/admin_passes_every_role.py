"""AUTH-3: a role hierarchy the contract does not have: an admin passes every role guard.

A doctor is still refused the admin routes and an admin still passes them, so the
probes that try only a doctor on the admin route and an admin on it pass; only an
admin on a doctor route (create, update, delete a patient) shows the defect.
"""

from reference.errors import Forbidden
from reference.guards import Guards

SUPERUSER_ROLE = "admin"


class AdminPassesEveryRole(Guards):
    async def role(self, request, role):
        user = await self.user(request)
        if self.claims().get("role") not in (role, SUPERUSER_ROLE):
            raise Forbidden()
        return user


def apply(components) -> None:
    components.guards = AdminPassesEveryRole()
