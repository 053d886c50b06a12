"""The outcomes a check can have besides passing (returning ``None``).

    Exception
     ├── Violation (AssertionError)  the SUT broke a requirement: fail, or warn for a SHOULD
     ├── NotApplicable               the check does not apply to this exchange (no verdict)
     ├── NotRun                      the run lacks a capability; names the option that enables it
     └── Inconclusive                the preconditions did not hold (a positive control failed)

``Violation`` derives from ``AssertionError`` so that pytest reports it as a
test failure, and renders like h2spec and schemathesis: the requirement, the
expectation, what came back, and a curl line to reproduce.
"""

from __future__ import annotations

import json

from conformance import requirements
from conformance.exchange import Exchange, mask_json, to_curl

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
    ) -> None:
        self.requirement = requirement
        self.expected = expected
        self.actual = actual
        self.exchange = exchange
        self.hint = hint
        self.extra_headers = extra_headers
        super().__init__(self.render())

    @property
    def title(self) -> str:
        try:
            return requirements.get(self.requirement).text
        except KeyError:
            return ""

    def render(self) -> str:
        head = f"{self.requirement}  {self.title}"
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
        return "\n".join(lines)


class NotApplicable(Exception):
    """The check has nothing to say about this exchange (e.g. an envelope check on a 200)."""


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
