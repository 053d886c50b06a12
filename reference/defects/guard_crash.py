"""AUTH-2, ENV-2: the plan and role guards crash on a refused token, and the app has no error layer of its own.

The guards read the claims of an "optional user" helper (None when the token is
missing or refused, as on routes where logging in is optional) without
checking them: `None.get` raises AttributeError, on the pro and role guard
classes only (the user guard still answers 401). Nothing of the app's own
catches it, so it reaches Starlette's ServerErrorMiddleware, outside every
user middleware: a text/plain "Internal Server Error" 500 without the envelope,
X-Request-ID or security headers, and without `Connection: close`. The
exception is then re-raised and uvicorn closes the connection after the
response, so a client that pooled it gets a reset on its next request.
"""

from reference import context
from reference.errors import Forbidden, ProRequired
from reference.guards import Guards


class OptionalClaimsGuards(Guards):
    def optional_claims(self):
        """The claims of a usable token, else None."""
        auth = context.current().auth
        return auth.claims if auth.token is not None and auth.error is None else None

    async def plan(self, request, plan):
        if self.optional_claims().get("plan") != plan:
            raise ProRequired()
        return await self.user(request)

    async def role(self, request, role):
        if self.optional_claims().get("role") != role:
            raise Forbidden()
        return await self.user(request)


def no_error_layer(app, *, renderer):
    """What escapes the handlers goes to the server's own error handling."""
    return app


def apply(components) -> None:
    components.guards = OptionalClaimsGuards()
    components.error_layer = no_error_layer
