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
RETRY_AFTER_HINT = "send the seconds until the limit or lock expires (e.g. the Redis key's TTL)"


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


def retry_after_problem(exchange: Exchange) -> str | None:
    """What is wrong with the answer's ``Retry-After`` (absent, repeated, unparsable), or ``None``."""
    values = exchange.response.headers.get_all("retry-after")
    if not values:
        return "no Retry-After header"
    if len(values) != 1 or retry_after_seconds(values[0]) is None:
        return "Retry-After: " + " | ".join(values) + " (not one delay-seconds or HTTP-date)"
    return None


def retry_after_is_valid(exchange: Exchange, requirement: str) -> None:
    """The answer carries one ``Retry-After`` of delay-seconds or an HTTP-date."""
    __tracebackhide__ = True
    problem = retry_after_problem(exchange)
    if problem is not None:
        raise Violation(
            requirement,
            expected="one Retry-After header: delay-seconds (e.g. 42) or an HTTP-date",
            actual=problem,
            exchange=exchange,
            hint=RETRY_AFTER_HINT,
        )


def refusal_problems(exchange: Exchange, *, status: int, code: str) -> list[str]:
    """Every way a refusal misses ``status`` with ``code`` and a valid ``Retry-After``, each named (empty: none).

    All of them, not the first: a 429 lacking both its code and ``Retry-After``
    needs both fixed, and a report naming one hides the other until the next run.
    """
    problems = []
    if exchange.response.status != status:
        problems.append(f"status {exchange.response.status} instead of {status}")
    actual = error_code(exchange)
    if actual != code:
        problems.append(f"code {actual} instead of {code}" if actual else f"no error code (expected {code})")
    retry_after = retry_after_problem(exchange)
    if retry_after is not None:
        problems.append(retry_after)
    return problems


def rate_limited(
    exchange: Exchange, requirement: str = "RATE-1", *, code: str | None = None, status: int = 429
) -> None:
    """A 429 with the requirement's code (RATE_LIMIT_EXCEEDED, ACCOUNT_LOCKED) and a valid ``Retry-After``."""
    __tracebackhide__ = True
    code = code or CODE_BY_REQUIREMENT.get(requirement, "RATE_LIMIT_EXCEEDED")
    problems = refusal_problems(exchange, status=status, code=code)
    if problems:
        raise Violation(
            requirement,
            expected=f"{status} with code {code} and a Retry-After header",
            actual=f"{describe(exchange)}: " + "; ".join(problems),
            exchange=exchange,
            hint=RETRY_AFTER_HINT if any("Retry-After" in p for p in problems) else None,
        )


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
    raise Violation(
        "SIZE-1", expected=f"{status} with code {code}", actual=describe(exchange), exchange=exchange, hint=hint
    )
