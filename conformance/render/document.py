"""Reading the JSON report document, as every rendering needs it.

Written against docs/report-schema.md and tolerant by design: keys the
renderers do not know are ignored, missing optional keys have a fallback
(``failures`` falls back to ``first_failure``, ``title`` to the catalogue's),
and a verdict they do not know is shown as it is, generically.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance import requirements
from conformance.render.masking import mask_text

#: Display order of the verdicts the harness knows; any other verdict follows, alphabetically.
VERDICT_ORDER = ("fail", "inconclusive", "blocked", "warn", "known", "fixed", "pass", "not run")
#: The labels of a Violation's rendering (conformance/outcomes.py), in the order they appear.
LABELS = ("Expected", "Actual", "Response", "Reproduce", "Hint")
_LABEL_LINE = re.compile(rf"^\s*({'|'.join(LABELS)}):(?: (.*))?$")


@dataclass(frozen=True)
class Failure:
    """One failing test's message, split into the parts of a Violation's rendering."""

    test: str | None
    headline: str
    parts: tuple[tuple[str, str], ...]  # (label, text) in order; text may span lines
    message: str  # the whole message, masked

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


def parse_failure(message: str, test: str | None = None) -> Failure:
    """Split a failure message into its headline and its labelled parts (masked, text otherwise untouched)."""
    message = mask_text(message)
    headline_lines: list[str] = []
    parts: list[list[str]] = []  # [label, line, line...]
    for line in message.splitlines():
        match = _LABEL_LINE.match(line)
        if match:
            parts.append([match.group(1), match.group(2) or ""])
        elif parts:
            parts[-1].append(line)
        else:
            headline_lines.append(line)
    headline = " ".join(line.strip() for line in headline_lines if line.strip())
    done = tuple((p[0], _dedent("\n".join(p[1:]))) for p in parts)
    return Failure(test=test, headline=headline, parts=done, message=message)


def _dedent(text: str) -> str:
    lines = text.split("\n")
    first, rest = lines[0], [line for line in lines[1:]]
    indents = [len(line) - len(line.lstrip()) for line in rest if line.strip()]
    cut = min(indents, default=0)
    return "\n".join([first, *(line[cut:] for line in rest)]).strip("\n")


def failures_of(entry: Mapping[str, Any]) -> tuple[Failure, ...]:
    """The requirement's failures: its ``failures`` list, else its ``first_failure``."""
    listed = entry.get("failures")
    if isinstance(listed, list) and listed:
        result = []
        for item in listed:
            if isinstance(item, Mapping) and item.get("message"):
                result.append(parse_failure(str(item["message"]), item.get("test")))
            elif isinstance(item, str):
                result.append(parse_failure(item))
        return tuple(result)
    first = entry.get("first_failure")
    if first:
        failing = [t for t, v in (entry.get("test_verdicts") or {}).items() if v in ("fail", "warn", "known")]
        return (parse_failure(str(first), failing[0] if len(failing) == 1 else None),)
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
        result.append(Row(
            id=str(rid),
            level=str(entry.get("level") or ""),
            title=_title(str(rid), entry),
            text=str(entry.get("text") or ""),
            verdict=str(entry.get("verdict") or "not run"),
            reason=mask_text(str(entry.get("reason") or "")),
            tests=tuple(entry.get("tests") or ()),
            failures=failures_of(entry),
        ))  # fmt: skip
    return result


def ordered_verdicts(verdicts: list[str]) -> list[str]:
    """The distinct verdicts, the known ones in display order, then the others alphabetically."""
    seen = set(verdicts)
    return [v for v in VERDICT_ORDER if v in seen] + sorted(seen - set(VERDICT_ORDER))


def counts(document: Mapping[str, Any]) -> dict[str, int]:
    """Requirements per verdict, in display order (only verdicts that occur)."""
    tally = Counter(row.verdict for row in rows(document))
    return {verdict: tally[verdict] for verdict in ordered_verdicts(list(tally))}


def slug(verdict: str) -> str:
    """A verdict as a CSS class or id fragment ("not run" -> "not-run")."""
    return re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip("-") or "unknown"
