"""Limit checks: request size (SIZE-1) and 429 answers (RATE-1, shared with LOCK-1).

A 429 is only useful to a client that knows when to come back, so every 429
check includes the ``Retry-After`` property (RFC 9110 §10.2.3: delay-seconds
or an HTTP-date).
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from conformance.body import describe, error_code
from conformance.exchange import Exchange
from conformance.outcomes import Violation

#: The code each 429 requirement expects (§4).
CODE_BY_REQUIREMENT = {"RATE-1": "RATE_LIMIT_EXCEEDED", "LOCK-1": "ACCOUNT_LOCKED"}


def retry_after_seconds(value: str) -> float | None:
    """``Retry-After`` as seconds relative to nothing (delay) or to the epoch (date); ``None`` if invalid.

    Only the syntax is judged: a date is accepted whatever the clocks say.
    """
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed is not None else None


def retry_after_is_valid(exchange: Exchange, requirement: str) -> None:
    """The answer carries one ``Retry-After`` of delay-seconds or an HTTP-date."""
    __tracebackhide__ = True
    values = exchange.response.headers.get_all("retry-after")
    if len(values) != 1 or retry_after_seconds(values[0]) is None:
        raise Violation(
            requirement,
            expected="one Retry-After header: delay-seconds (e.g. 42) or an HTTP-date",
            actual="Retry-After: " + " | ".join(values) if values else "no Retry-After header",
            exchange=exchange,
            hint="send the seconds until the limit or lock expires (e.g. the Redis key's TTL)",
        )


def rate_limited(exchange: Exchange, requirement: str = "RATE-1", *, code: str | None = None, status: int = 429) -> None:
    """A 429 with the requirement's code (RATE_LIMIT_EXCEEDED, ACCOUNT_LOCKED) and a valid ``Retry-After``."""
    __tracebackhide__ = True
    code = code or CODE_BY_REQUIREMENT.get(requirement, "RATE_LIMIT_EXCEEDED")
    if exchange.response.status != status or error_code(exchange) != code:
        raise Violation(requirement, expected=f"{status} with code {code}", actual=describe(exchange), exchange=exchange)
    retry_after_is_valid(exchange, requirement)


def payload_too_large(exchange: Exchange, *, status: int = 413, code: str = "PAYLOAD_TOO_LARGE") -> None:
    """SIZE-1: an oversized body is answered 413 PAYLOAD_TOO_LARGE.

    A connection reset never reaches a check: the suites turn the client's
    transport failure into a SIZE-1 violation themselves.
    """
    __tracebackhide__ = True
    if exchange.response.status != status:
        hint = (
            "count the bytes actually received (chunked bodies too) in an outer middleware, before "
            "routing and authentication, and answer 413 once the limit is passed"
        )
    elif error_code(exchange) != code:
        hint = f"the limit works; answer it with the error code {code} of the contract's table"
    else:
        return
    raise Violation("SIZE-1", expected=f"{status} with code {code}", actual=describe(exchange), exchange=exchange, hint=hint)
