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

What reaches the reports is data, not text: a test's :class:`Outcome` (its
:class:`Verdict`, reason, blockers) and each Violation as :class:`ViolationData`
travel as plain JSON-able values on the test report (``report.conformance``,
which survives pytest-xdist); the renderers read their fields and never parse
a rendering back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

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

    def data(self) -> ViolationData:
        """This violation as plain data, every text redacted: what the reports carry and render."""
        response = None
        if self.exchange is not None:
            answer = self.exchange.response
            headers = tuple(
                (name, value)
                for name in RELEVANT_HEADERS + self.extra_headers
                for value in answer.headers.get_all(name)
            )
            response = ResponseExcerpt(answer.status, headers, excerpt(answer.body) if answer.body else "")
        return ViolationData(
            requirement=self.requirement,
            title=self.title,
            expected=self.expected,
            actual=self.actual,
            should=self.should,
            hint=self.hint or None,
            exchange=self.exchange.label if self.exchange is not None else None,
            request_id=self.exchange.response.headers.get("x-request-id") if self.exchange is not None else None,
            response=response,
            reproduce=to_curl(self.exchange.request) if self.exchange is not None else None,
        ).redacted()

    def render(self) -> str:
        """The block pytest shows (the reports render the same block from :meth:`data`)."""
        return redact(self.data().render())


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


# -- outcomes as data ---------------------------------------------------------------------
class Verdict(StrEnum):
    """A test's verdict for a requirement, and a requirement's verdict (worst first, as the report ranks them).

    ``known`` and ``fixed`` are given by the baseline (:mod:`conformance.verdicts.baseline`), never by a test.
    """

    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    WARN = "warn"
    PASS = "pass"
    BLOCKED = "blocked"
    NOT_RUN = "not run"
    NOT_APPLICABLE = "not applicable"
    KNOWN = "known"
    FIXED = "fixed"


@dataclass(frozen=True)
class ResponseExcerpt:
    """What a failure shows of the answer: its status, the headers worth showing, a body excerpt."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    def lines(self) -> list[str]:
        """The status, then ``name: value`` per header, then ``body: ...``."""
        shown = [str(self.status), *(f"{name}: {value}" for name, value in self.headers)]
        return shown + ([f"body: {self.body}"] if self.body else [])


@dataclass(frozen=True)
class ViolationData:
    """A :class:`Violation` as plain data (``to_json``/``from_json``): what crosses processes and what renderers read.

    ``exchange`` is the label of the request (``GET http://...``), ``reproduce``
    its curl line with the run's secrets as shell variables; every text is redacted
    when a Violation makes it (:meth:`Violation.data`).
    """

    requirement: str
    expected: str
    actual: str
    title: str = ""
    should: bool = False
    hint: str | None = None
    exchange: str | None = None
    request_id: str | None = None
    response: ResponseExcerpt | None = None
    reproduce: str | None = None

    def heading(self) -> str:
        """``ENV-3  Title  (GET http://..., request 3f2a)``: the first line of the rendering."""
        head = f"{self.requirement}  {self.title}" + ("  [a SHOULD clause of it]" if self.should else "")
        if self.exchange is not None:
            suffix = f", request {self.request_id}" if self.request_id else ""
            head += f"  ({self.exchange}{suffix})"
        return head

    def render(self) -> str:
        """The block h2spec and schemathesis print: heading, Expected, Actual, Response, Reproduce, Hint."""
        lines = [self.heading(), f"  Expected: {self.expected}", f"    Actual: {self.actual}"]
        if self.response is not None:
            status, *rest = self.response.lines()
            lines += [f"  Response: {status}", *(f"    {line}" for line in rest)]
        if self.reproduce is not None:
            lines.append(f"  Reproduce: {self.reproduce}")
        if self.hint:
            lines.append(f"  Hint: {self.hint}")
        return "\n".join(lines)

    def redacted(self) -> ViolationData:
        """The same data with every registered secret and JWT in its texts masked."""
        response = self.response
        if response is not None:
            response = ResponseExcerpt(
                response.status, tuple((n, redact(v)) for n, v in response.headers), redact(response.body)
            )
        return replace(
            self,
            expected=redact(self.expected),
            actual=redact(self.actual),
            hint=_redact_optional(self.hint),
            exchange=_redact_optional(self.exchange),
            request_id=_redact_optional(self.request_id),
            reproduce=_redact_optional(self.reproduce),
            response=response,
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able data (what pytest-xdist serialises and the JSON report holds)."""
        response = self.response
        return {
            "requirement": self.requirement,
            "title": self.title,
            "should": self.should,
            "expected": self.expected,
            "actual": self.actual,
            "hint": self.hint,
            "exchange": self.exchange,
            "request_id": self.request_id,
            "response": None
            if response is None
            else {"status": response.status, "headers": [[n, v] for n, v in response.headers], "body": response.body},
            "reproduce": self.reproduce,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ViolationData:
        """The inverse of :meth:`to_json`; tolerant of missing optional keys."""
        response = data.get("response")
        excerpt_ = None
        if isinstance(response, Mapping):
            headers = tuple((str(n), str(v)) for n, v in response.get("headers") or ())
            excerpt_ = ResponseExcerpt(int(response.get("status") or 0), headers, str(response.get("body") or ""))
        return cls(
            requirement=str(data["requirement"]),
            expected=str(data.get("expected", "")),
            actual=str(data.get("actual", "")),
            title=str(data.get("title") or ""),
            should=bool(data.get("should")),
            hint=_str_or_none(data.get("hint")),
            exchange=_str_or_none(data.get("exchange")),
            request_id=_str_or_none(data.get("request_id")),
            response=excerpt_,
            reproduce=_str_or_none(data.get("reproduce")),
        )


def _redact_optional(text: str | None) -> str | None:
    return redact(text) if text else text


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# -- what a test's exceptions amount to ------------------------------------------------

#: The verdicts of a test that could not judge its requirements (a skip in pytest's eyes).
NOT_JUDGED = (Verdict.INCONCLUSIVE, Verdict.BLOCKED, Verdict.NOT_RUN, Verdict.NOT_APPLICABLE)


@dataclass(frozen=True)
class Outcome:
    """What the exceptions a test ended with mean for the report.

    ``verdict`` is ``fail`` when the test failed: the requirements its Violations
    name, or, when ``error`` (an exception that is none of these outcomes), every
    requirement of the test; ``warn`` once :meth:`as_warning` made it one; else one
    of :data:`NOT_JUDGED` with its ``reason`` (and ``blocked_by`` for ``blocked``).
    """

    verdict: Verdict
    reason: str = ""
    blocked_by: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()
    error: bool = False

    @property
    def only_should(self) -> bool:
        """Whether every violation is of a SHOULD (or a SHOULD clause): a warning unless the run is strict."""
        return (
            bool(self.violations)
            and not self.error
            and all(v.should or not _is_must(v.requirement) for v in self.violations)
        )

    def as_warning(self) -> Outcome:
        return replace(self, verdict=Verdict.WARN)

    @property
    def skip_reason(self) -> str | None:
        """What pytest prints for a test that could not judge (for people only: the report reads :meth:`to_data`);
        ``None`` when the test stays failed."""
        if self.verdict is Verdict.BLOCKED:
            return f"blocked by {', '.join(self.blocked_by)}: {self.reason}"
        if self.verdict in NOT_JUDGED:
            return f"{self.verdict}: {self.reason}"
        return None

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-able data for the test report (it survives pytest-xdist's serialisation), redacted as the
        texts pytest shows of it are."""
        return {
            "verdict": self.verdict.value,
            "reason": redact(self.reason),
            "blocked_by": list(self.blocked_by),
            "violations": [violation.data().to_json() for violation in self.violations],
            "error": self.error,
        }


def _is_must(requirement_id: str) -> bool:
    try:
        return requirements.get(requirement_id).is_must
    except KeyError:
        return True


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
        return Outcome(Verdict.FAIL, violations=violations, error=True)
    if violations:
        return Outcome(Verdict.FAIL, violations=violations)

    def reasons(kind: type[BaseException]) -> str:
        return "; ".join(dict.fromkeys(str(e) for e in leaves if isinstance(e, kind)))

    if any(isinstance(e, Inconclusive) for e in leaves):
        return Outcome(Verdict.INCONCLUSIVE, reasons(Inconclusive))
    blockers = tuple(dict.fromkeys(rid for e in leaves if isinstance(e, NotApplicable) for rid in e.blocked_by))
    if blockers:
        return Outcome(Verdict.BLOCKED, reasons(NotApplicable), blocked_by=blockers)
    if any(isinstance(e, NotApplicable) for e in leaves):
        return Outcome(Verdict.NOT_APPLICABLE, reasons(NotApplicable))
    return Outcome(Verdict.NOT_RUN, reasons(NotRun))
