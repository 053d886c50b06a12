"""Log lines (LOG-1, LOG-2, LOG-3; contract §6).

The input is the SUT's captured output as text lines, one record per line.
Blank lines carry no record and are ignored everywhere.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.canaries import Encoding, encodings
from conformance.outcomes import NotApplicable, Violation

#: How many offending lines a failure message shows.
SHOWN = 5
LINE_EXCERPT = 300
REQUEST_ID_FIELD = "request_id"


@dataclass(frozen=True)
class LogRecord:
    """A line that is a JSON object."""

    number: int  # 1-based position in the lines given
    raw: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class NonJsonLine:
    """A line that is not a JSON object (text, or JSON of another type)."""

    number: int
    raw: str


def parse_lines(lines: Iterable[str]) -> list[LogRecord | NonJsonLine]:
    """Each non-blank line as a :class:`LogRecord` or a :class:`NonJsonLine`."""
    parsed: list[LogRecord | NonJsonLine] = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        parsed.append(LogRecord(number, line, value) if isinstance(value, dict) else NonJsonLine(number, line))
    return parsed


def no_canary_in_logs(lines: Iterable[str], canaries: Mapping[str, str]) -> None:
    """LOG-1: no line contains a submitted secret in any encoding of :func:`conformance.canaries.encodings`.

    ``canaries`` maps a label ("password", "refresh token"...) to the value
    submitted. An all-digit value (an OTP) counts only as a whole number and
    not inside a record's ``timestamp``, so a longer id or the microseconds of
    a timestamp that happen to hold it are not a leak.
    """
    __tracebackhide__ = True
    lines = list(lines)
    searches = [(label, form, value.isdigit() and form.text.isdigit())
                for label, value in canaries.items() if value for form in encodings(value)]  # fmt: skip
    findings: list[str] = []
    for number, line in enumerate(lines, start=1):
        found: dict[str, str] = {}  # label -> first form found, per line
        masked = line
        searchable = _without_timestamp(line)
        for label, form, whole_number in searches:
            pattern = _pattern(form, whole_number=whole_number)
            if label not in found and pattern.search(searchable if whole_number else line):
                found[label] = form.name
                masked = pattern.sub(f"<{label}>", masked)
        if found:
            what = ", ".join(f"the {label} ({form})" for label, form in found.items())
            findings.append(f"line {number} contains {what}: {_cut(masked)}")
    if findings:
        raise Violation(
            "LOG-1",
            expected="no password, OTP, token, Authorization value, full email or full phone in any log line",
            actual=f"{len(findings)} line(s) with secrets: " + "\n    ".join(findings[:SHOWN]),
            hint="mask in a log processor: emails as ali***@***.com, phones by their last 4 digits, drop secrets",
        )


def lines_contain(lines: Iterable[str], value: str) -> bool:
    """Whether any line holds ``value`` in any encoding LOG-1 looks for (digits only as a whole number)."""
    whole_number = value.isdigit()
    for line in lines:
        searchable = _without_timestamp(line) if whole_number else line
        if any(_pattern(form, whole_number=whole_number and form.text.isdigit()).search(searchable)
               for form in encodings(value)):  # fmt: skip
            return True
    return False


def lines_are_structured(lines: Iterable[str]) -> None:
    """LOG-2: every line is a JSON object with ``event`` and ``level``."""
    __tracebackhide__ = True
    records = parse_lines(lines)
    if not records:
        raise NotApplicable("no log lines to judge")
    bad = []
    for record in records:
        if isinstance(record, NonJsonLine):
            bad.append(f"line {record.number} is not a JSON object: {_cut(record.raw)}")
            continue
        missing = [name for name in ("event", "level") if name not in record.fields]
        if missing:
            bad.append(f"line {record.number} lacks {' and '.join(missing)}: {_cut(record.raw)}")
    if bad:
        raise Violation(
            "LOG-2",
            expected="every log line a JSON object with event and level",
            actual=f"{len(bad)} of {len(records)} lines: " + "\n    ".join(bad[:SHOWN]),
            hint="route every logger (the server's included) through one JSON renderer",
        )


def request_lines_carry_request_id(
    lines: Iterable[str], request_ids: Iterable[str], *, field: str = REQUEST_ID_FIELD
) -> None:
    """LOG-3: for each request id the client received, some log line carries it in ``field``.

    Black-box, a line cannot be tied to its request other than by that id, so
    the property checked is that each request left at least one line with it;
    a JSON line that only mentions the id elsewhere points at the likely fault.
    A text line holding the id carries it too: its format is LOG-2's business.
    """
    __tracebackhide__ = True
    request_ids = [rid for rid in dict.fromkeys(request_ids) if rid]
    if not request_ids:
        raise NotApplicable("no request id was received")
    parsed = parse_lines(lines)
    records = [r for r in parsed if isinstance(r, LogRecord)]
    carried = {str(r.fields.get(field)) for r in records if r.fields.get(field) is not None}
    text = "\n".join(r.raw for r in parsed if isinstance(r, NonJsonLine))
    missing = [rid for rid in request_ids if rid not in carried and rid not in text]
    if missing:
        details = []
        for rid in missing[:SHOWN]:
            elsewhere = next((r for r in records if rid in r.raw), None)
            where = f" (it appears only outside {field!r} in line {elsewhere.number})" if elsewhere else ""
            details.append(f"no log line carries request id {rid}{where}")
        others = sorted(carried)[:3]
        raise Violation(
            "LOG-3",
            expected=f"each request's log lines carry, in {field!r}, the X-Request-ID the client received",
            actual=f"{len(missing)} of {len(request_ids)} request ids: " + "; ".join(details)
            + (f"; ids logged instead, e.g. {', '.join(others)}" if others else f"; no line has {field!r}"),
            hint="bind the request id into the log context (structlog contextvars) where the header is set",
        )


def _without_timestamp(line: str) -> str:
    """``line`` with the value of its ``timestamp`` field cut out, when it is a JSON record."""
    try:
        timestamp = json.loads(line).get("timestamp")
    except (ValueError, AttributeError):
        return line
    return line.replace(str(timestamp), "") if isinstance(timestamp, (str, int, float)) else line


@functools.lru_cache(maxsize=1024)
def _pattern(form: Encoding, *, whole_number: bool) -> re.Pattern[str]:
    text = re.escape(form.text)
    if whole_number:
        text = rf"(?<![0-9]){text}(?![0-9])"
    return re.compile(text, 0 if form.case_sensitive else re.IGNORECASE)


def _cut(line: str) -> str:
    return line if len(line) <= LINE_EXCERPT else line[:LINE_EXCERPT] + "..."
