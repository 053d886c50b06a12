"""The error envelope of CONTRACT §4, and the handlers that route every error through it.

`EnvelopeRenderer` is the single place where an error becomes a response; the
middlewares (413, 500) and the FastAPI exception handlers all use it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from reference import context
from reference.errors import (
    APIException,
    BadRequest,
    MethodNotAllowed,
    RouteNotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from reference.logs import get_logger

log = get_logger("heallog.errors")


class EnvelopeRenderer:
    def body(self, error: APIException) -> dict[str, Any]:
        return {
            "success": False,
            "error": {
                "message": error.message,
                "code": error.code,
                "field": error.field,
                "context": error.context,
            },
            "request_id": context.current().request_id,
        }

    def headers(self, error: APIException) -> dict[str, str]:
        return dict(error.headers)

    def response(self, error: APIException) -> JSONResponse:
        return JSONResponse(self.body(error), status_code=error.status, headers=self.headers(error))


def validation_field(errors: list[dict[str, Any]]) -> str | None:
    """The name of one offending input: the last string in the first error's location."""
    for error in errors:
        names = [part for part in error.get("loc", ()) if isinstance(part, str)]
        if names:
            return names[-1]
    return None


def validation_message(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return ValidationFailed.message
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "Malformed JSON body"
    message = str(first.get("msg", ValidationFailed.message))
    # pydantic prefixes messages of custom validators with "Value error, ".
    return message.removeprefix("Value error, ")


def from_validation_error(exc: RequestValidationError) -> APIException:
    errors = list(exc.errors())
    return ValidationFailed(validation_message(errors), field=validation_field(errors))


PROBED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str | None:
    """Every method some route accepts at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    methods = [
        method
        for method in PROBED_METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(methods) or None


def from_http_exception(request: Request, exc: StarletteHTTPException) -> APIException:
    if exc.status_code == 404:
        return RouteNotFound()
    if exc.status_code == 405:
        headers = dict(exc.headers or {})
        allow = allowed_methods(request)
        if allow:
            headers["Allow"] = allow
        return MethodNotAllowed(headers=headers)
    if exc.status_code == 422:
        return ValidationFailed()
    return BadRequest(str(exc.detail) if exc.detail else None)


def install_error_handlers(app: FastAPI, renderer: EnvelopeRenderer) -> None:
    async def api_exception(_request: Request, exc: APIException) -> JSONResponse:
        return renderer.response(exc)

    async def request_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return renderer.response(from_validation_error(exc))

    async def http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return renderer.response(from_http_exception(request, exc))

    async def store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("backing store unavailable", error_type=type(exc).__name__)
        return renderer.response(ServiceUnavailable())

    app.add_exception_handler(APIException, api_exception)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_exception)
    app.add_exception_handler(RedisError, store_unavailable)
    app.add_exception_handler(OperationalError, store_unavailable)
