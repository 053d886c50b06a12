"""CORS with credentials for the configured origins only (HDR-3).

An allowed origin is echoed (never `*`). A preflight from an allowed origin is
answered here; any other preflight goes on to the application like a normal
request, so it gets no Access-Control-Allow-Origin, and an error status comes
with the envelope and every header.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, X-Request-ID"
PREFLIGHT_MAX_AGE = "600"


class CORSMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_origins: tuple[str, ...]) -> None:
        if "*" in allowed_origins:
            raise ValueError("a wildcard origin cannot be combined with credentials")
        self.app = app
        self.allowed_origins = frozenset(allowed_origins)

    def allow_origin_headers(self, origin: str) -> dict[str, str]:
        """The headers granting `origin`, or none when it is not allowed."""
        if origin not in self.allowed_origins:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        granted = self.allow_origin_headers(origin)
        is_preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
        if is_preflight and granted:
            preflight = {
                **granted,
                "Access-Control-Allow-Methods": ALLOW_METHODS,
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                "Vary": "Origin",
            }
            await Response(status_code=204, headers=preflight)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in granted.items():
                    response_headers[name] = value
                response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)
