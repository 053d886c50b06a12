"""X-Request-ID on every response (RID-1..3), and the per-request context behind it.

A well-formed incoming id is kept; anything else is replaced by a fresh uuid4,
never echoed. The id is bound into structlog's contextvars for LOG-3.
"""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference import context

WELL_FORMED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")


def incoming_request_id(scope: Scope, header_name: bytes) -> str | None:
    """The incoming header's text as sent (the first one), else None."""
    for name, value in scope.get("headers", ()):
        if name == header_name:
            return value.decode("latin-1")
    return None


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, *, header: str = "X-Request-ID") -> None:
        self.app = app
        self.header = header
        self.header_bytes = header.lower().encode("latin-1")

    def well_formed(self, incoming: str) -> bool:
        """Whether the caller's id may be kept: 8-128 characters of letters, digits and `._:-`."""
        return WELL_FORMED.match(incoming) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = incoming_request_id(scope, self.header_bytes)
        request_id = incoming if incoming is not None and self.well_formed(incoming) else str(uuid.uuid4())
        token = context.begin(request_id)
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[self.header] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            structlog.contextvars.reset_contextvars(**bound)
            context.end(token)
