"""API-1's judgement of one answer, and the harness's checks as schemathesis checks.

API-1 is "no 5xx, and every response satisfies ENV-1, RID-1 and HDR-1, nothing
more": :func:`api1_violations` says that of one recorded exchange, with the same
:func:`conformance.checks.every_response` as the suites and the load profiles.
``every_response`` also reports ENV-7 and AUTH-1; the fuzzer does not fail API-1
for those (their own suites judge them), but says what it saw with a
:class:`FuzzFinding` warning, so that nothing found is silently dropped. Both
API-1 passes (schemathesis' cases and the extreme values) are judged by it.

Schemathesis calls a check with ``(ctx, response, case)``; the adapters turn its
response into an :class:`~conformance.exchange.Exchange`. They read the profile
from :func:`judging`, a context manager; outside it they judge by the default
profile, so the schemathesis CLI can use them too::

    SCHEMATHESIS_HOOKS=conformance.fuzz.checks \
        schemathesis run URL/openapi.json --checks every_response_conforms,no_server_error
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import schemathesis

from conformance import profile as profiles
from conformance.checks import every_response
from conformance.exchange import Exchange

# The document helpers live in conformance.openapi; re-exported for the suite and the CLI hooks.
from conformance.openapi import EXCLUDED_KEY, HTTP_METHODS, OPERATION_KEY, annotate_operations  # noqa: F401
from conformance.outcomes import Violation

if TYPE_CHECKING:
    from conformance.profile import Profile

#: The requirements API-1 is made of (besides "no 5xx").
API1_REQUIREMENTS = frozenset({"ENV-1", "RID-1", "HDR-1"})


class FuzzFinding(UserWarning):
    """A violation of a requirement outside API-1, seen while fuzzing."""


@dataclass(frozen=True)
class Judgement:
    profile: Profile
    #: Requirements outside API-1 already reported as a FuzzFinding (one warning each, not one per request).
    reported: set[str] = field(default_factory=set)


_judgement: ContextVar[Judgement | None] = ContextVar("conformance_schemathesis_judgement", default=None)


@contextlib.contextmanager
def judging(judgement: Judgement) -> Iterator[None]:
    """Make the registered checks judge by ``judgement`` inside the block."""
    token = _judgement.set(judgement)
    try:
        yield
    finally:
        _judgement.reset(token)


def current_judgement() -> Judgement:
    judgement = _judgement.get()
    return judgement if judgement is not None else Judgement(profiles.load())


def server_error(exchange: Exchange) -> Violation | None:
    """API-1's own rule: no input makes the SUT answer 5xx."""
    if exchange.response.status < 500:
        return None
    return Violation(
        "API-1",
        expected="no 5xx for any input",
        actual=f"{exchange.response.status}",
        exchange=exchange,
        hint="a 5xx means the input reached code that does not validate it",
    )


def api1_violations(exchange: Exchange, judgement: Judgement) -> list[Violation]:
    """What API-1 holds against one answer: a 5xx, and the ENV-1, RID-1 and HDR-1 violations."""
    found = [v for v in [server_error(exchange)] if v is not None]
    for violation in every_response(exchange, judgement.profile):
        if violation.requirement in API1_REQUIREMENTS:
            found.append(violation)
        elif violation.requirement not in judgement.reported:
            judgement.reported.add(violation.requirement)
            warnings.warn(FuzzFinding(f"found while fuzzing (judged by its own suite):\n{violation}"), stacklevel=2)
    return found


def api1_violation(exchange: Exchange, judgement: Judgement, *, sent: str | None = None) -> Violation | None:
    """The API-1 :class:`Violation` of one answer (``None`` when it conforms), naming what broke.

    ``sent`` describes the input (the extreme-value pass names the operation,
    the field and the value kind); the first line of the failure says what broke.
    """
    found = api1_violations(exchange, judgement)
    if not found:
        return None
    expected = "no 5xx, and ENV-1, RID-1 and HDR-1 hold for every response"
    return Violation(
        "API-1",
        expected=f"{expected}, also for {sent}" if sent else expected,
        actual="; ".join(f"{'5xx' if v.requirement == 'API-1' else v.requirement}: {v.actual}" for v in found),
        exchange=exchange,
        hint=found[0].hint,
        extra_headers=tuple(h for v in found for h in v.extra_headers),
    )


class ChecksFailed(AssertionError):
    """What the registered checks raise: schemathesis reports the text, ``violations`` keeps the structure."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("\n\n".join(str(v) for v in violations))


@schemathesis.check
def no_server_error(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """API-1: fuzzed input never makes the SUT answer 5xx."""
    violation = server_error(Exchange.from_schemathesis(response))
    if violation is not None:
        raise ChecksFailed([violation])


@schemathesis.check
def every_response_conforms(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """API-1: the response satisfies ENV-1, RID-1 and HDR-1 (see the module docstring for the rest)."""
    found = [
        v
        for v in api1_violations(Exchange.from_schemathesis(response), current_judgement())
        if v.requirement != "API-1"
    ]
    if found:
        raise ChecksFailed(found)


# -- adapters for the API-1 suite ------------------------------------------------


def logical_operation(operation: Any) -> str | None:
    """The logical name :func:`~conformance.openapi.annotate_operations` gave a schemathesis ``APIOperation``."""
    raw = operation.definition.raw
    return raw.get(OPERATION_KEY) if isinstance(raw, dict) else None


def is_excluded(ctx: Any) -> bool:
    """Filter for schemathesis' schema: the operations :func:`~conformance.openapi.annotate_operations` flagged."""
    raw = ctx.operation.definition.raw
    return isinstance(raw, dict) and bool(raw.get(EXCLUDED_KEY))
