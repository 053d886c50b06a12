"""The outcomes a check can have besides passing (returning ``None``).

    Exception
     ├── Violation (AssertionError)  the SUT broke a requirement: fail, or warn for a SHOULD
     ├── NotApplicable               the check does not apply to this exchange (no verdict; or
     │                               blocked by another requirement's failure, which it names)
     ├── NotRun                      the run lacks a capability; names the option that enables it
     └── Inconclusive                the preconditions did not hold (a positive control failed)

``Violation`` derives from ``AssertionError`` so that pytest reports it as a
test failure, and renders like h2spec and schemathesis: the requirement, the
expectation, what came back, and a curl line to reproduce.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from conformance import requirements
from conformance.exchange import Exchange, mask_json, to_curl
from conformance.redaction import redact

#: Response headers worth showing in a failure message.
RELEVANT_HEADERS = (
    "content-type",
    "x-request-id",
    "www-authenticate",
    "retry-after",
    "allow",
    "x-debug-jwt-decodes",
    "access-control-allow-origin",
    "access-control-allow-credentials",
)
BODY_EXCERPT = 600


class Violation(AssertionError):
    """A requirement does not hold for the recorded exchange(s)."""

    def __init__(
        self,
        requirement: str,
        *,
        expected: str,
        actual: str,
        exchange: Exchange | None = None,
        hint: str | None = None,
        extra_headers: tuple[str, ...] = (),
        should: bool = False,
    ) -> None:
        self.requirement = requirement
        #: A SHOULD clause of a MUST requirement (REV-2's rotation, HSTS on http): a warning, a failure under strict.
        self.should = should
        self.expected = expected
        self.actual = actual
        self.exchange = exchange
        self.hint = hint
        self.extra_headers = extra_headers
        super().__init__(self.render())

    @property
    def title(self) -> str:
        try:
            return requirements.get(self.requirement).title
        except KeyError:
            return ""

    def render(self) -> str:
        head = f"{self.requirement}  {self.title}" + ("  [a SHOULD clause of it]" if self.should else "")
        if self.exchange is not None:
            request_id = self.exchange.response.headers.get("x-request-id")
            suffix = f", request {request_id}" if request_id else ""
            head += f"  ({self.exchange.label}{suffix})"
        lines = [head, f"  Expected: {self.expected}", f"    Actual: {self.actual}"]
        if self.exchange is not None:
            response = self.exchange.response
            lines.append(f"  Response: {response.status}")
            for name in RELEVANT_HEADERS + self.extra_headers:
                for value in response.headers.get_all(name):
                    lines.append(f"    {name}: {value}")
            if response.body:
                lines.append(f"    body: {excerpt(response.body)}")
            lines.append(f"  Reproduce: {to_curl(self.exchange.request)}")
        if self.hint:
            lines.append(f"  Hint: {self.hint}")
        return redact("\n".join(lines))


def should_clause(check: Callable[[], None]) -> None:
    """Run the check of a SHOULD clause inside a MUST requirement: its Violation is marked ``should``
    (the requirement gets ``warn``, a failure under ``--conformance-strict``)."""
    __tracebackhide__ = True
    try:
        check()
    except Violation as violation:
        violation.should = True
        violation.args = (violation.render(),)
        raise


class NotApplicable(Exception):
    """The check has nothing to say about this exchange (e.g. an envelope check on a 200).

    ``blocked_by`` names the requirement(s) whose failure took the check's
    precondition away (no ``X-Request-ID`` at all leaves RID-2 nothing to
    judge: RID-1 fails); a test that ends here is *blocked* by them, never failed.
    """

    def __init__(self, reason: str, *, blocked_by: str | tuple[str, ...] = ()) -> None:
        self.reason = reason
        self.blocked_by = (blocked_by,) if isinstance(blocked_by, str) else tuple(blocked_by)
        super().__init__(reason)


class NotRun(Exception):
    """The run was not given a capability the requirement needs."""

    def __init__(self, reason: str, *, option: str | None = None) -> None:
        self.reason = reason
        self.option = option
        super().__init__(f"{reason} (enable with {option})" if option else reason)


class Inconclusive(Exception):
    """A precondition or positive control failed, so no verdict can be given."""


def excerpt(body: bytes, limit: int = BODY_EXCERPT) -> str:
    """A one-line excerpt of a body: compact JSON with secret fields masked when it parses, else text."""
    try:
        text = json.dumps(mask_json(json.loads(body)), ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", errors="replace").replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + f"... ({len(body)} bytes)"


# -- what a test's exceptions amount to ------------------------------------------------

#: Prefixes of the skip reasons and xfail reasons that carry an outcome to the report (they survive xdist).
NOT_RUN_PREFIX = "not run: "
INCONCLUSIVE_PREFIX = "inconclusive: "
BLOCKED_PREFIX = "blocked by "
NOT_APPLICABLE_PREFIX = "not applicable: "
WARN_PREFIX = "warn: "


@dataclass(frozen=True)
class Outcome:
    """What the exceptions a test ended with mean for the report.

    ``kind`` is one of "not run", "blocked", "not applicable", "inconclusive",
    "violation" (only Violations: a failure of the requirements they name) or
    "error" (anything else: the test failed for a reason it does not explain).
    """

    kind: str
    reason: str = ""
    blocked_by: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()

    @property
    def skip_reason(self) -> str | None:
        """The skip reason that carries this outcome, or ``None`` when the test stays failed."""
        if self.kind == "not run":
            return NOT_RUN_PREFIX + self.reason
        if self.kind == "blocked":
            return f"{BLOCKED_PREFIX}{', '.join(self.blocked_by)}: {self.reason}"
        if self.kind == "not applicable":
            return NOT_APPLICABLE_PREFIX + self.reason
        if self.kind == "inconclusive":
            return INCONCLUSIVE_PREFIX + self.reason
        return None


def leaves_of(exc: BaseException) -> list[BaseException]:
    """The exceptions of ``exc``, exception groups flattened."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves_of(inner)]
    return [exc]


def outcome_of(exc: BaseException) -> Outcome:
    """The outcome of a test that raised ``exc`` (possibly a group): the worst of its leaves wins.

    A Violation or an unexplained error anywhere makes the test fail; otherwise
    an Inconclusive makes it inconclusive; otherwise a NotApplicable naming a
    blocker makes it blocked; otherwise it did not apply or was not run.
    """
    leaves = leaves_of(exc)
    violations = tuple(e for e in leaves if isinstance(e, Violation))
    if any(not isinstance(e, (Violation, NotRun, Inconclusive, NotApplicable)) for e in leaves):
        return Outcome("error", violations=violations)
    if violations:
        return Outcome("violation", violations=violations)

    def reasons(kind: type[BaseException]) -> str:
        return "; ".join(dict.fromkeys(str(e) for e in leaves if isinstance(e, kind)))

    if any(isinstance(e, Inconclusive) for e in leaves):
        return Outcome("inconclusive", reasons(Inconclusive))
    blockers = tuple(dict.fromkeys(rid for e in leaves if isinstance(e, NotApplicable) for rid in e.blocked_by))
    if blockers:
        return Outcome("blocked", reasons(NotApplicable), blocked_by=blockers)
    if any(isinstance(e, NotApplicable) for e in leaves):
        return Outcome("not applicable", reasons(NotApplicable))
    return Outcome("not run", reasons(NotRun))
