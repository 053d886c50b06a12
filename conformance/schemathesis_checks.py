"""The harness's checks as schemathesis checks (API-1).

Schemathesis calls a check with ``(ctx, response, case)``; the adapter turns
its response into an :class:`~conformance.exchange.Exchange` and runs the same
:func:`conformance.checks.every_response` as the suites and the load profiles.

API-1 is "no 5xx, and every response satisfies ENV-1, RID-1 and HDR-1, nothing
more". ``every_response`` also reports ENV-7 and AUTH-1; the fuzzer does not
fail API-1 for those (their own suites judge them), but says what it saw with
a :class:`FuzzFinding` warning, so that nothing found is silently dropped.

The checks read the profile from :func:`judging`, a context manager the API-1
suite enters around each call; outside it they judge by the default profile, so
the schemathesis CLI can use them too::

    SCHEMATHESIS_HOOKS=conformance.schemathesis_checks \
        schemathesis run URL/openapi.json --checks every_response_conforms,no_server_error
"""

from __future__ import annotations

import contextlib
import copy
import re
import warnings
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import schemathesis
from requests.adapters import HTTPAdapter
from schemathesis.core.failures import FailureGroup

from conformance import profile as profiles
from conformance.checks import every_response
from conformance.exchange import Exchange
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


def to_exchange(response: schemathesis.Response) -> Exchange:
    """A schemathesis response (with its ``requests`` request) as a recorded exchange."""
    request = response.request
    return Exchange.build(
        request.method or "GET",
        request.url or "",
        response.status_code,
        request_headers=dict(request.headers),
        request_body=_request_body(request.body),
        response_headers=response.headers,
        response_body=response.content,
    )


def _request_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return b"<streamed body>"


class ChecksFailed(AssertionError):
    """What the registered checks raise: schemathesis reports the text, the suite reads ``violations``."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("\n\n".join(str(v) for v in violations))


@schemathesis.check
def no_server_error(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """API-1: fuzzed input never makes the SUT answer 5xx."""
    if response.status_code >= 500:
        raise ChecksFailed([Violation(
            "API-1",
            expected="no 5xx for any input",
            actual=f"{response.status_code}",
            exchange=to_exchange(response),
            hint="a 5xx means the input reached code that does not validate it",
        )])  # fmt: skip


@schemathesis.check
def every_response_conforms(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """API-1: the response satisfies ENV-1, RID-1 and HDR-1 (see the module docstring for the rest)."""
    judgement = current_judgement()
    violations = every_response(to_exchange(response), judgement.profile)
    failing = [v for v in violations if v.requirement in API1_REQUIREMENTS]
    for other in violations:
        if other.requirement not in API1_REQUIREMENTS and other.requirement not in judgement.reported:
            judgement.reported.add(other.requirement)
            warnings.warn(FuzzFinding(f"found while fuzzing (judged by its own suite):\n{other}"), stacklevel=1)
    if failing:
        raise ChecksFailed(failing)


API1_CHECKS = (no_server_error, every_response_conforms)


def validate(case: schemathesis.Case, response: schemathesis.Response) -> None:
    """Run the API-1 checks through schemathesis; a failure is raised as one API-1 :class:`Violation`.

    The Violation names what broke (ENV-1, RID-1, HDR-1 or a 5xx), so that the
    report's first line says it, with the request to reproduce.
    """
    __tracebackhide__ = True
    try:
        case.validate_response(response, checks=list(API1_CHECKS))
    except FailureGroup as group:
        found = [v for failure in group.exceptions for v in getattr(getattr(failure, "exception", None), "violations", ())]
        if not found:
            raise
        raise Violation(
            "API-1",
            expected="no 5xx, and ENV-1, RID-1 and HDR-1 hold for every response",
            actual="; ".join(f"{v.requirement}: {v.actual}" for v in found),
            exchange=found[0].exchange,
            hint=found[0].hint,
            extra_headers=tuple(h for v in found for h in v.extra_headers),
        ) from None


# -- adapters for the API-1 suite ------------------------------------------------

#: Vendor extensions the suite writes into its copy of the OpenAPI document.
OPERATION_KEY = "x-conformance-operation"
EXCLUDED_KEY = "x-conformance-excluded"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def annotate_operations(document: dict[str, Any], profile: Profile, *, excluded: Iterable[str]) -> dict[str, Any]:
    """A copy of ``document`` whose operations name their logical operation of the profile.

    Operations are matched by method and path, with path parameters compared by
    position only (``/api/patients/{id}`` is ``/api/patients/{patient_id}``).
    The ``excluded`` logical operations are flagged for the lazy schema's filter.
    """
    document = copy.deepcopy(document)
    by_route = {(op.method.lower(), _route_shape(op.path)): op.name for op in profile.operations.values()}
    excluded = set(excluded)
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            definition = item.get(method)
            name = by_route.get((method, _route_shape(path)))
            if isinstance(definition, dict) and name is not None:
                definition[OPERATION_KEY] = name
                if name in excluded:
                    definition[EXCLUDED_KEY] = True
    return document


def logical_operation(operation: Any) -> str | None:
    """The logical name :func:`annotate_operations` gave a schemathesis ``APIOperation``."""
    raw = operation.definition.raw
    return raw.get(OPERATION_KEY) if isinstance(raw, dict) else None


def is_excluded(ctx: Any) -> bool:
    """Filter for the lazy schema: the operations :func:`annotate_operations` flagged."""
    raw = ctx.operation.definition.raw
    return isinstance(raw, dict) and bool(raw.get(EXCLUDED_KEY))


def _route_shape(path: str) -> str:
    return re.sub(r"\{[^/}]*\}", "{}", path)


class SourceAddressAdapter(HTTPAdapter):
    """Sends from a chosen local address, so per-client-IP limits count the fuzzer apart."""

    def __init__(self, source_address: str) -> None:
        self.source_address = source_address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source_address, 0)
        super().init_poolmanager(*args, **kwargs)
