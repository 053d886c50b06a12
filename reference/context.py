"""Per-request state shared by the middlewares, the guards and the handlers.

The request-id middleware creates one mutable RequestContext per request and
publishes it in a ContextVar; inner layers mutate it (the auth middleware fills
`auth`, every bearer decode bumps `jwt_decodes`), outer layers read it when the
response starts. A mutable object is used because ContextVar *sets* made in an
inner task or thread are not seen by the outer layers, but mutations are.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from reference.errors import APIException


@dataclass
class AuthContext:
    """The outcome of decoding the bearer token once.

    `claims` are the signature-verified claims (kept even when the token is
    expired or revoked, so that `error` says why it is unusable);
    `unverified_claims` is the payload as sent, for nothing but the defect catalogue.
    """

    token: str | None = None
    claims: dict[str, Any] | None = None
    unverified_claims: dict[str, Any] = field(default_factory=dict)
    error: APIException | None = None


@dataclass
class RequestContext:
    request_id: str
    jwt_decodes: int = 0
    auth: AuthContext = field(default_factory=AuthContext)


_current: ContextVar[RequestContext | None] = ContextVar("heallog_request", default=None)


def current() -> RequestContext:
    """The context of the request being served (a throwaway one outside requests)."""
    ctx = _current.get()
    if ctx is None:
        ctx = RequestContext(request_id="-")
        _current.set(ctx)
    return ctx


def begin(request_id: str):
    """Start a request's context; returns the token for `end`."""
    return _current.set(RequestContext(request_id=request_id))


def end(token) -> None:
    _current.reset(token)
