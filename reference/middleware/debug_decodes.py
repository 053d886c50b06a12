"""X-Debug-JWT-Decodes (CONTRACT §5): how often the bearer token was decoded for this request.

Installed only when DEBUG_JWT_DECODES=1. It sits outside the error layer so
that 413s, 500s and every other response carry the count too.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference import context

HEADER = "X-Debug-JWT-Decodes"


class DebugDecodesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = context.current()

        async def send_with_decode_count(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = str(request.jwt_decodes)
            await send(message)

        await self.app(scope, receive, send_with_decode_count)
