"""Reading the JSON report document, as every rendering needs it.

Written against docs/report-schema.md and tolerant by design: keys the
renderers do not know are ignored, missing optional keys have a fallback
(``failures`` falls back to ``first_failure``, ``title`` to the catalogue's),
and a verdict they do not know is shown as it is, generically.

A failure's parts (Expected, Actual, Response, Reproduce, Hint) are read from
the fields of its violations (``failures[].violations``); a failure without
them (an error in a fixture, a report of an older version) is its message,
shown whole: no rendering is parsed back into parts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance import requirements
from conformance.outcomes import Verdict, ViolationData
from conformance.render.masking import mask_text

#: Display order of the verdicts the harness knows; any other verdict follows, alphabetically.
VERDICT_ORDER = (
    Verdict.FAIL,
    Verdict.INCONCLUSIVE,
    Verdict.BLOCKED,
    Verdict.WARN,
    Verdict.KNOWN,
    Verdict.FIXED,
    Verdict.PASS,
    Verdict.NOT_RUN,
)
#: The labels of a Violation's parts, in the order they are shown.
LABELS = ("Expected", "Actual", "Response", "Reproduce", "Hint")


@dataclass(frozen=True)
class Failure:
    """One failure of a test: a Violation's parts, or (``parts`` empty) a message to show whole."""

    test: str | None
    headline: str
    parts: tuple[tuple[str, str], ...]  # (label, text) in order; text may span lines
    message: str  # the whole message (the Violation's rendering), masked

    def part(self, label: str) -> str | None:
        return next((text for name, text in self.parts if name == label), None)


@dataclass(frozen=True)
class Row:
    """One requirement of the report."""

    id: str
    level: str
    title: str
    text: str
    verdict: str
    reason: str
    tests: tuple[str, ...]
    failures: tuple[Failure, ...] = field(default_factory=tuple)
    #: "20 of 60 shown" when the report kept fewer failing tests than failed (else empty).
    shown: str = ""
    #: How many tests failed the requirement (the report may keep fewer: ``shown``).
    failing: int = 0

    @property
    def detail(self) -> str:
        """What the table shows beside the verdict: the reason, else the first failure's Actual line."""
        if self.reason:
            return self.reason
        if self.failures:
            first = self.failures[0]
            actual = first.part("Actual")
            return f"Actual: {actual.splitlines()[0]}" if actual else first.headline
        return ""


def violation_failure(violation: ViolationData, test: str | None = None) -> Failure:
    """A Violation's fields as a failure's parts, every text masked."""
    candidates = (
        ("Expected", violation.expected),
        ("Actual", violation.actual),
        ("Response", "\n".join(violation.response.lines()) if violation.response is not None else None),
        ("Reproduce", violation.reproduce),
        ("Hint", violation.hint),
    )
    parts = tuple((label, mask_text(text)) for label, text in candidates if text)
    return Failure(
        test=test, headline=mask_text(violation.heading()), parts=parts, message=mask_text(violation.render())
    )


def message_failure(message: str, test: str | None = None) -> Failure:
    """A failure that is only a message (no violation's fields): shown whole, its first line the headline."""
    message = mask_text(message)
    headline = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return Failure(test=test, headline=headline, parts=(), message=message)


def _violations(item: Mapping[str, Any]) -> list[ViolationData]:
    listed = item.get("violations")
    if not isinstance(listed, list):
        return []
    return [ViolationData.from_json(v) for v in listed if isinstance(v, Mapping) and v.get("requirement")]


def failures_of(entry: Mapping[str, Any]) -> tuple[Failure, ...]:
    """The requirement's failures: one per violation of its ``failures`` list (a failure without violations is
    its message), else its ``first_failure`` as a message."""
    listed = entry.get("failures")
    if isinstance(listed, list) and listed:
        result = []
        for item in listed:
            if isinstance(item, Mapping):
                test = item.get("test")
                violations = _violations(item)
                if violations:
                    result += [violation_failure(violation, test) for violation in violations]
                elif item.get("message"):
                    result.append(message_failure(str(item["message"]), test))
            elif isinstance(item, str):
                result.append(message_failure(item))
        return tuple(result)
    first = entry.get("first_failure")
    if first:
        failing = [t for t, v in (entry.get("test_verdicts") or {}).items() if v in ("fail", "warn", "known")]
        return (message_failure(str(first), failing[0] if len(failing) == 1 else None),)
    return ()


def _title(rid: str, entry: Mapping[str, Any]) -> str:
    if entry.get("title"):
        return str(entry["title"])
    try:
        return requirements.get(rid).title
    except KeyError:
        return ""


def rows(document: Mapping[str, Any]) -> list[Row]:
    """Every requirement of the report, in the report's order."""
    result = []
    for rid, entry in (document.get("requirements") or {}).items():
        entry = entry if isinstance(entry, Mapping) else {}
        result.append(
            Row(
                id=str(rid),
                level=str(entry.get("level") or ""),
                title=_title(str(rid), entry),
                text=str(entry.get("text") or ""),
                verdict=str(entry.get("verdict") or Verdict.NOT_RUN.value),
                reason=mask_text(str(entry.get("reason") or "")),
                tests=tuple(entry.get("tests") or ()),
                failures=failures_of(entry),
                shown=str(entry.get("failures_note") or ""),
                failing=_failing(entry),
            )
        )
    return result


def _failing(entry: Mapping[str, Any]) -> int:
    """The number of failing tests: ``failures_total``, else (older reports) the tests the list keeps."""
    total = entry.get("failures_total")
    if isinstance(total, int):
        return total
    listed = entry.get("failures")
    return len({i.get("test") for i in listed if isinstance(i, Mapping)}) if isinstance(listed, list) else 0


def cut_at_word(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters, cut between words (never inside a URL) with "…"."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    head = text[: width - 1]
    space = head.rfind(" ")
    return (head[:space] if space > width // 3 else head).rstrip(" ,;:") + "…"


def ordered_verdicts(verdicts: list[str]) -> list[str]:
    """The distinct verdicts, the known ones in display order, then the others alphabetically."""
    seen = set(verdicts)
    return [v.value for v in VERDICT_ORDER if v in seen] + sorted(seen - set(VERDICT_ORDER))


def counts(document: Mapping[str, Any]) -> dict[str, int]:
    """Requirements per verdict, in display order (only verdicts that occur)."""
    tally = Counter(row.verdict for row in rows(document))
    return {verdict: tally[verdict] for verdict in ordered_verdicts(list(tally))}


def slug(verdict: str) -> str:
    """A verdict as a CSS class or id fragment ("not run" -> "not-run")."""
    return re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip("-") or "unknown"
