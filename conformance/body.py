"""Reading answers: the parts of a recorded response the checks, the accounts factory and the load profiles ask about.

Plain accessors, no judgement: whether a body *is* a proper envelope is
ENV-1's check (:mod:`conformance.checks.envelope`); here a body that is not
one simply has no code.
"""

from __future__ import annotations

from typing import Any

from conformance.exchange import Exchange


def error_object(exchange: Exchange) -> dict[str, Any] | None:
    """The body's ``error`` object, when the body is a JSON object holding one."""
    body = exchange.response.json
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def error_code(exchange: Exchange) -> str | None:
    """The ``error.code`` of the body, when there is one."""
    error = error_object(exchange)
    code = error.get("code") if error else None
    return code if isinstance(code, str) else None


def error_message(exchange: Exchange) -> Any:
    """The ``error.message`` of the body, when there is one."""
    error = error_object(exchange)
    return error.get("message") if error else None


def describe(exchange: Exchange) -> str:
    """``401 with code TOKEN_INVALID``-style summary of an answer, for the ``Actual:`` line of a failure."""
    code = error_code(exchange)
    status = exchange.response.status
    return f"{status} with code {code}" if code else f"{status} without an error code"


def is_success(exchange: Exchange) -> bool:
    return 200 <= exchange.response.status < 300
