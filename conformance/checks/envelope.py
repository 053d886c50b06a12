"""The error envelope of contract §4 (ENV-1, ENV-3 .. ENV-7).

ENV-2 has no check of its own: it is ENV-1 applied to framework-level errors,
which is the suite's job (it provokes them). Each check blames exactly one
requirement, so that a defect shows up under the requirement it breaks and
nowhere else: a body without ``request_id`` is an ENV-1 failure, not an ENV-3
one; a wrong code in a well-formed envelope is ENV-3, not ENV-1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from conformance import requirements
from conformance.body import error_code, error_object
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, Violation

if TYPE_CHECKING:
    from conformance.profile import Profile

ENVELOPE_KEYS = frozenset({"success", "error", "request_id"})
ERROR_KEYS = frozenset({"message", "code", "field", "context"})
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")

#: What internals look like in a 5xx body (ENV-6), each with a name for the message.
LEAK_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Python traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("a stack frame", re.compile(r"File \"[^\"]+\", line \d+|\bat [\w$.]+\([\w$]+\.(?:java|kt|cs|js|ts):\d+\)")),
    (
        "a file path",
        re.compile(
            r"(?:/(?:usr|home|opt|srv|app|var|tmp|site-packages|lib)/[\w./-]+|[A-Za-z]:\\\\?[\w\\. -]+|[\w/-]+\.py\b)"
        ),
    ),
    ("an exception class name", re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b|\b(?:KeyboardInterrupt|StopIteration)\b")),
    (
        "SQL text",
        re.compile(
            r"\bSELECT\b[\s\S]{1,200}?\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\b[\s\S]{1,200}?\bSET\b|\bDELETE\s+FROM\b"
            r"|\b(?:sqlalchemy|sqlite3|psycopg2?|asyncpg|pymongo|aiosqlite)\b",
            re.IGNORECASE,
        ),
    ),
)


def error_body_is_envelope(exchange: Exchange) -> None:
    """ENV-1: a ≥400 response is ``application/json`` and exactly the §4 envelope."""
    response = exchange.response
    if response.status < 400:
        raise NotApplicable(f"status {response.status} is not an error")
    if exchange.request.method == "HEAD":
        raise NotApplicable("the answer to HEAD has no body (RFC 9110 §9.3.2)")
    problems = answer_envelope_problems(exchange)
    if problems:
        raise Violation(
            "ENV-1",
            expected='{"success": false, "error": {"message", "code", "field"?, "context"?}, "request_id"} as JSON',
            actual="; ".join(problems),
            exchange=exchange,
            hint=_envelope_hint(response.json),
        )


def answer_envelope_problems(exchange: Exchange) -> list[str]:
    """Everything that keeps an answer (content type and body) from being the §4 envelope; empty when it is one."""
    response = exchange.response
    problems = []
    if response.media_type != "application/json":
        problems.append(f"content-type {response.headers.get('content-type')!r}, not application/json")
    return problems + envelope_problems(response.json)


def envelope_problems(body: Any) -> list[str]:
    """Everything that keeps ``body`` (parsed JSON) from being the §4 envelope; empty when it is one."""
    if not isinstance(body, dict):
        return [f"body is {_shape(body)}, not a JSON object"]
    problems = []
    extra = sorted(set(body) - ENVELOPE_KEYS)
    missing = sorted(ENVELOPE_KEYS - set(body))
    if extra:
        problems.append(f"unexpected top-level key(s) {', '.join(map(repr, extra))}")
    if missing:
        problems.append(f"missing top-level key(s) {', '.join(map(repr, missing))}")
    if "success" in body and body["success"] is not False:
        problems.append(f"success is {json.dumps(body['success'])}, not false")
    if "request_id" in body and not (isinstance(body["request_id"], str) and body["request_id"]):
        problems.append(f"request_id is {json.dumps(body['request_id'])}, not a non-empty string")
    if "error" in body:
        problems += _error_object_problems(body["error"])
    return problems


def _error_object_problems(error: Any) -> list[str]:
    if not isinstance(error, dict):
        return [f"error is {_shape(error)}, not an object"]
    problems = []
    extra = sorted(set(error) - ERROR_KEYS)
    if extra:
        problems.append(f"unexpected key(s) in error: {', '.join(map(repr, extra))}")
    if not isinstance(error.get("message"), str):
        problems.append("error.message is missing or not a string")
    code = error.get("code")
    if not isinstance(code, str):
        problems.append("error.code is missing or not a string")
    elif not CODE_PATTERN.match(code):
        problems.append(f"error.code {code!r} is not UPPER_SNAKE_CASE")
    if error.get("field") is not None and not isinstance(error["field"], str):
        problems.append(f"error.field is {_shape(error['field'])}, not a string or null")
    if error.get("context") is not None and not isinstance(error["context"], dict):
        problems.append(f"error.context is {_shape(error['context'])}, not an object or null")
    return problems


def status_matches_code(exchange: Exchange, profile: Profile, *, expected_code: str | None = None) -> None:
    """ENV-3: the code is one of the profile's codes and goes with the status (and is ``expected_code``)."""
    response = exchange.response
    codes = profile.codes
    if expected_code is not None and expected_code not in codes:
        raise ValueError(f"profile {profile.name!r} has no code {expected_code!r}")
    if response.status < 400 and expected_code is None:
        raise NotApplicable(f"status {response.status} is not an error")
    code = error_code(exchange)
    actual = f"{response.status} with code {code}" if code else f"{response.status} without an error code"
    if expected_code is not None:
        if code is None and response.status == codes[expected_code]:
            raise NotApplicable("the status is right and there is no code to compare", blocked_by="ENV-1")
        if (response.status, code) != (codes[expected_code], expected_code):
            raise Violation(
                "ENV-3",
                expected=f"{codes[expected_code]} with code {expected_code}",
                actual=actual,
                exchange=exchange,
            )
        return
    if code is None:
        raise NotApplicable("no error code to compare", blocked_by="ENV-1")
    if codes.get(code) != response.status:
        raise Violation("ENV-3", expected=_expected_for(code, response.status, codes), actual=actual, exchange=exchange)


def _expected_for(code: str, status: int, codes: Mapping[str, int]) -> str:
    if code in codes:
        return f"code {code} with status {codes[code]}"
    fitting = [c for c, s in codes.items() if s == status]
    if fitting:
        return f"a code of the contract table for {status}: {', '.join(fitting)}"
    return f"a status of the contract table ({', '.join(map(str, sorted(set(codes.values()))))})"


def not_found_has_context(exchange: Exchange, *, resource: str | None = None, identifier: str | None = None) -> None:
    """ENV-4: the 404 for a missing resource names ``context.resource`` and ``context.identifier``.

    Only the context is judged: a wrong status or code is ENV-3's failure and a
    broken body ENV-1's, so both make this check not applicable.
    """
    error = error_object(exchange)
    if exchange.response.status != 404:
        raise NotApplicable(f"status {exchange.response.status}, not 404", blocked_by="ENV-3")
    if error is None:
        raise NotApplicable("no error object", blocked_by="ENV-1")
    found = error.get("context")
    context = found if isinstance(found, dict) else {}
    problems = []
    for key, wanted in (("resource", resource), ("identifier", identifier)):
        value = context.get(key)
        if not isinstance(value, str) or not value:
            problems.append(f"context.{key} is {json.dumps(value)}")
        elif wanted is not None and value != wanted:
            problems.append(f"context.{key} is {value!r}, not {wanted!r}")
    if problems:
        raise Violation(
            "ENV-4",
            expected="context.resource"
            + (f" = {resource!r}" if resource else "")
            + " and context.identifier"
            + (f" = {identifier!r}" if identifier else ""),
            actual="; ".join(problems),
            exchange=exchange,
            hint="raise NotFoundException(resource, identifier) rather than a bare 404",
        )


def validation_error_names_field(exchange: Exchange, expected_field: str | Collection[str] | None = None) -> None:
    """ENV-5: a 422 validation error names the offending input in ``error.field``.

    ``expected_field`` is the input the test broke, or several names when the
    test broke several inputs (the contract lets the SUT name any one of them).
    The code is ENV-3's business and the body's shape ENV-1's: without a 422
    and an error object this check is not applicable.
    """
    error = error_object(exchange)
    if exchange.response.status != 422 or error is None:
        raise NotApplicable(
            f"{exchange.response.status}" + (" with" if error else " without") + " an error object, not a 422 with one",
            blocked_by=("ENV-3", "ENV-1"),
        )
    wanted = [expected_field] if isinstance(expected_field, str) else list(expected_field or ())
    field = error.get("field")
    if not isinstance(field, str) or not field or (wanted and field not in wanted):
        raise Violation(
            "ENV-5",
            expected="error.field = " + (" or ".join(map(repr, wanted)) if wanted else "the offending input's name"),
            actual=f"error.field = {json.dumps(field)}",
            exchange=exchange,
            hint="map the validation error's location (e.g. pydantic's loc[-1]) to error.field",
        )


def server_error_leaks_nothing(exchange: Exchange) -> None:
    """ENV-6: a 5xx body shows no traceback, file path, exception class name or SQL text."""
    response = exchange.response
    if response.status < 500:
        raise NotApplicable(f"status {response.status} is not a server error")
    text = _searchable_text(response.body)
    for what, pattern in LEAK_PATTERNS:
        match = pattern.search(text)
        if match:
            raise Violation(
                "ENV-6",
                expected="a generic message without internals",
                actual=f"the body contains {what}: {match.group(0)[:120]!r}",
                exchange=exchange,
                hint="log the exception server-side; answer INTERNAL_ERROR with a fixed message",
            )


def reports_failure_as_success(exchange: Exchange) -> bool:
    """Whether a 2xx body describes a failure (``success: false`` or an ``error`` object): ENV-7's predicate."""
    body = exchange.response.json
    if not 200 <= exchange.response.status < 300 or not isinstance(body, dict):
        return False
    return body.get("success") is False or isinstance(body.get("error"), dict)


def failure_not_reported_as_success(exchange: Exchange) -> None:
    """ENV-7: a 2xx body does not describe a failure (``success: false`` or an ``error`` object)."""
    response = exchange.response
    if not 200 <= response.status < 300:
        raise NotApplicable(f"status {response.status} is not a success status")
    if reports_failure_as_success(exchange):
        raise Violation(
            "ENV-7",
            expected="a failure answered with its 4xx/5xx status and the error envelope",
            actual=f"{response.status} whose body reports a failure",
            exchange=exchange,
            hint="raise the APIException instead of returning (False, message) from the service",
        )


def reports_success(exchange: Exchange) -> bool:
    """Whether an answer reports success: a 2xx whose JSON body says ``success: true``."""
    body = exchange.response.json
    return 200 <= exchange.response.status < 300 and isinstance(body, dict) and body.get("success") is True


def success_reported_for_failures(exchanges: Iterable[Exchange], *, must_fail: str) -> Violation | None:
    """ENV-7 for requests that must fail (``must_fail`` says which and why): none is answered 2xx ``success``.

    Wherever a suite judges such a request (a forged token, a revoked one, a
    locked account's login), a 2xx that reports success is also a failure
    reported as a success, whichever requirement the request itself breaks.
    Returned rather than raised, to be raised with that requirement's violation
    (:func:`judged_with_success_reports`): one response, every problem named.
    """
    reported = [e for e in exchanges if reports_success(e)]
    if not reported:
        return None
    return Violation(
        "ENV-7",
        expected=f"{must_fail} fails with a 4xx/5xx status and the error envelope",
        actual=f"{len(reported)} answered 2xx with success: true: "
        + ", ".join(f"{e.label} {e.response.status}" for e in reported),
        exchange=reported[0],
        hint="refuse the request (raise the APIException) instead of answering success",
    )


def judged_with_success_reports(
    check: Callable[[], None], exchanges: Iterable[Exchange], *, requirement: str, must_fail: str
) -> None:
    """Run ``check``, the judgement of ``requirement`` on requests that must fail, and ENV-7 on the same answers;
    raise everything found, one outcome as itself, several as a group.

    ENV-7 is added only when ``requirement`` is a MUST: under a SHOULD the request need not fail.
    """
    __tracebackhide__ = True
    exchanges = list(exchanges)
    found: list[Exception] = []
    try:
        check()
    except (Violation, NotApplicable, Inconclusive) as outcome:
        found.append(outcome)
    is_must = requirements.get(requirement).is_must
    env7 = success_reported_for_failures(exchanges, must_fail=must_fail) if is_must else None
    if env7 is not None:
        found.append(env7)
    if len(found) == 1:
        raise found[0]
    if found:
        raise ExceptionGroup(f"{requirement} and ENV-7  a request that must fail was answered success", found)


def _searchable_text(body: bytes) -> str:
    """The raw body plus its JSON strings unescaped, so ``\\n``-escaped tracebacks are found too."""
    raw = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                strings.append(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return raw + "\n" + "\n".join(strings)


def _shape(value: Any) -> str:
    if value is None:
        return "null or not JSON"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _envelope_hint(body: Any) -> str | None:
    if isinstance(body, dict) and "detail" in body:
        return "a framework error escaped the handlers: register handlers for HTTPException and RequestValidationError"
    if body is None:
        return "an error was answered before the application's error handlers (HTML or text body)"
    return None
