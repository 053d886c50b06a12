"""ENV-1, ENV-2: the users and patients route handlers raise bare HTTP errors ({"detail": ...});
request-validation errors are FastAPI's default {"detail": [...]}.

The shared guards (401, 403, and 503 when revocation cannot be checked) were
migrated to the envelope, so only the handlers' own errors (404 NOT_FOUND,
400 BAD_REQUEST) and validation errors are bare.
"""

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse

from reference.envelope import EnvelopeRenderer, install_error_handlers
from reference.errors import APIException, BadRequest, NotFound

BARE_PREFIXES = ("/api/users", "/api/patients")
HANDLER_ERRORS = (NotFound, BadRequest)


def install_bare_handlers(app: FastAPI, renderer: EnvelopeRenderer) -> None:
    install_error_handlers(app, renderer)
    app.add_exception_handler(RequestValidationError, request_validation_exception_handler)

    async def api_exception(request: Request, exc: APIException) -> JSONResponse:
        if request.url.path.startswith(BARE_PREFIXES) and isinstance(exc, HANDLER_ERRORS):
            return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)
        return renderer.response(exc)

    app.add_exception_handler(APIException, api_exception)


def apply(components) -> None:
    components.install_error_handlers = install_bare_handlers
