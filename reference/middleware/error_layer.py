"""The outermost error handling that still runs inside our header middlewares.

Starlette's ServerErrorMiddleware sits outside every user middleware, so its
500 would lack the security headers and X-Request-ID. This layer catches what
escaped the handlers, logs it as a JSON line and, if the response has not
started yet, sends the INTERNAL_ERROR envelope (no internals: ENV-6).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference.envelope import EnvelopeRenderer
from reference.errors import InternalError
from reference.logs import get_logger

log = get_logger("heallog.errors")


class ErrorLayerMiddleware:
    def __init__(self, app: ASGIApp, *, renderer: EnvelopeRenderer) -> None:
        self.app = app
        self.renderer = renderer

    def error_body(self, exc: BaseException) -> dict[str, Any]:
        return self.renderer.body(InternalError())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking_start)
        except Exception as exc:  # noqa: BLE001 - this is the last line of defence
            log.exception("unhandled error", method=scope.get("method"), path=scope.get("path"))
            if started:
                return
            headers = self.renderer.headers(InternalError())
            response = JSONResponse(self.error_body(exc), status_code=500, headers=headers)
            await response(scope, receive, send)
