"""The request size limit (SIZE-1), enforced on the bytes actually received.

The whole body (Content-Length or chunked) is read here, before routing and
authentication, up to the limit, then replayed to the application. Over the
limit, the rest of the body is read and discarded (bounded) before the 413 is
sent: closing on unread data would make the client see a reset, not the 413.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference.envelope import EnvelopeRenderer
from reference.errors import PayloadTooLarge

# Discarding stops after this many bytes or seconds; the connection is then closed.
DRAIN_FACTOR = 8
DRAIN_SECONDS = 30.0


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def has_body(scope: Scope) -> bool:
    return any(name in (b"content-length", b"transfer-encoding") for name, _ in scope.get("headers", ()))


async def drain(receive: Receive, budget: int) -> None:
    """Read and discard the rest of the body, within a byte and time budget."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while budget > 0 and time.monotonic() < deadline:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, renderer: EnvelopeRenderer) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.renderer = renderer

    async def reject(self, scope: Scope, receive: Receive, send: Send, *, body_pending: bool = True) -> None:
        if body_pending:
            await drain(receive, self.max_body_bytes * DRAIN_FACTOR)
        await self.renderer.response(PayloadTooLarge())(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_body_bytes:
            await self.reject(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            more_body = message.get("more_body", False)
            received += len(chunk)
            if received > self.max_body_bytes:
                await self.reject(scope, receive, send, body_pending=more_body)
                return
            chunks.append(chunk)
            if not more_body:
                break
        await self.app(scope, replay(b"".join(chunks), receive), send)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the buffered body once, then defers to the server."""
    delivered = False

    async def receive_buffered() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_buffered
