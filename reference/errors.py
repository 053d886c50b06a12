"""The one exception hierarchy of the service: each class fixes a status and a contract code (CONTRACT §4).

APIException
 ├─ BadRequest (400 BAD_REQUEST), InvalidOTP (400 INVALID_OTP)
 ├─ Unauthorized (401 UNAUTHORIZED), TokenInvalid, TokenExpired, TokenRevoked, InvalidCredentials
 ├─ EmailNotVerified, ProRequired, Forbidden (403)
 ├─ NotFound (404), MethodNotAllowed (405), DuplicateEmail (409), PayloadTooLarge (413)
 ├─ ValidationFailed (422), RateLimitExceeded, AccountLocked (429)
 └─ InternalError (500), ServiceUnavailable (503)
"""

from __future__ import annotations

from typing import Any


class APIException(Exception):
    status = 500
    code = "INTERNAL_ERROR"
    message = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        context: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.field = field
        self.context = context
        self.headers = dict(headers or {})
        super().__init__(self.message)


class BadRequest(APIException):
    status, code, message = 400, "BAD_REQUEST", "Bad request"


class InvalidOTP(APIException):
    status, code, message = 400, "INVALID_OTP", "Invalid or expired verification code"


class _BearerChallenge(APIException):
    status = 401

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Unauthorized(_BearerChallenge):
    code, message = "UNAUTHORIZED", "Not authenticated"


class TokenInvalid(_BearerChallenge):
    code, message = "TOKEN_INVALID", "Invalid token"


class TokenExpired(_BearerChallenge):
    code, message = "TOKEN_EXPIRED", "Token has expired"


class TokenRevoked(_BearerChallenge):
    code, message = "TOKEN_REVOKED", "Token has been revoked"


class InvalidCredentials(_BearerChallenge):
    code, message = "INVALID_CREDENTIALS", "Incorrect email or password"


class EmailNotVerified(APIException):
    status, code, message = 403, "EMAIL_NOT_VERIFIED", "Email address is not verified"


class ProRequired(APIException):
    status, code, message = 403, "PRO_REQUIRED", "This feature requires the pro plan"


class Forbidden(APIException):
    status, code, message = 403, "FORBIDDEN", "You do not have permission for this action"


class NotFound(APIException):
    status, code, message = 404, "NOT_FOUND", "Resource not found"

    def __init__(self, resource: str, identifier: str) -> None:
        super().__init__(
            f"{resource.capitalize()} not found",
            context={"resource": resource, "identifier": identifier},
        )


class RouteNotFound(APIException):
    status, code, message = 404, "NOT_FOUND", "Not found"


class MethodNotAllowed(APIException):
    status, code, message = 405, "METHOD_NOT_ALLOWED", "Method not allowed"


class DuplicateEmail(APIException):
    status, code, message = 409, "DUPLICATE_EMAIL", "An account with this email already exists"


class PayloadTooLarge(APIException):
    status, code, message = 413, "PAYLOAD_TOO_LARGE", "Request body is too large"


class ValidationFailed(APIException):
    status, code, message = 422, "VALIDATION_ERROR", "Request validation failed"


class RateLimitExceeded(APIException):
    status, code, message = 429, "RATE_LIMIT_EXCEEDED", "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(max(1, retry_after))})


class AccountLocked(APIException):
    status, code, message = 429, "ACCOUNT_LOCKED", "Too many failed logins; the account is locked"

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(max(1, retry_after))})


class InternalError(APIException):
    pass


class ServiceUnavailable(APIException):
    status, code, message = 503, "SERVICE_UNAVAILABLE", "A backing service is unavailable"
