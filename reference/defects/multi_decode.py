"""AUTH-1: the logging middleware and the plan and role guards decode the bearer token again.

Answers stay correct; only the work (and X-Debug-JWT-Decodes) grows: 2 on user
routes, 3 on plan and role routes.
"""

from reference import context
from reference.errors import APIException
from reference.guards import Guards
from reference.middleware.access_log import AccessLogMiddleware
from reference.middleware.auth import bearer_token


def decode_again(tokens, token: str | None) -> None:
    if token is None:
        return
    try:
        tokens.verify_bearer(token)
    except APIException:
        pass


class DecodingAccessLog(AccessLogMiddleware):
    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            decode_again(scope["app"].state.services.tokens, bearer_token(scope))
        await super().__call__(scope, receive, send)


class DecodingGuards(Guards):
    async def plan(self, request, plan):
        decode_again(request.app.state.services.tokens, context.current().auth.token)
        return await super().plan(request, plan)

    async def role(self, request, role):
        decode_again(request.app.state.services.tokens, context.current().auth.token)
        return await super().role(request, role)


def apply(components) -> None:
    components.access_log = DecodingAccessLog
    components.guards = DecodingGuards()
