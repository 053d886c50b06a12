"""Log lines (LOG-1, LOG-2, LOG-3; contract §6).

The input is the SUT's captured output as text lines, one record per line.
Blank lines carry no record and are ignored everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.actors.canaries import first_form_in, mask
from conformance.exchange import Exchange, Headers, RecordedRequest, RecordedResponse
from conformance.outcomes import NotApplicable, Violation

#: How many offending lines a failure message shows.
SHOWN = 5
LINE_EXCERPT = 300
REQUEST_ID_FIELD = "request_id"
REQUEST_ID_HEADER = "x-request-id"


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


@dataclass(frozen=True)
class Carrier:
    """A request that carried a canary to the SUT (or an answer that issued one), and through which channel."""

    channel: str  # "query string (search)", "JSON body (password)", "X-Api-Key header", "answer" (issued)...
    exchange: Exchange


def no_canary_in_logs(
    lines: Iterable[str],
    canaries: Mapping[str, str],
    carried: Mapping[str, Sequence[Carrier]] | None = None,
    *,
    request_id_header: str = REQUEST_ID_HEADER,
) -> None:
    """LOG-1: no line contains a submitted secret in any encoding of :func:`conformance.actors.canaries.encodings`.

    ``canaries`` maps a label ("password", "searched email"...) to the value
    submitted; ``carried`` names, per label, the requests that carried it. A
    finding names the carrier whose request id the line carries (else the first
    carrier) and its channel; the violation shows the first finding's carrier.
    Every canary is masked (``<password>``) in the lines, the requests and the
    answer shown: a canary never reaches the harness's own output. An all-digit
    value (an OTP) counts only as a whole number and not inside a record's
    ``timestamp``, so a longer id or the microseconds of a timestamp that
    happen to hold it are not a leak.
    """
    __tracebackhide__ = True
    secrets = {label: value for label, value in canaries.items() if value}
    carried = carried or {}
    findings: list[str] = []
    first_carrier: Exchange | None = None
    for number, line in enumerate(lines, start=1):
        searchable = _without_timestamp(line)
        found = {
            label: form
            for label, value in secrets.items()
            if (form := first_form_in(line, value, searchable=searchable))
        }
        if not found:
            continue
        line_request_id = _request_id_of(line)
        what = []
        for label, form in found.items():
            carrier = _carrier_for(carried.get(label, ()), line_request_id, request_id_header)
            sent = ""
            if carrier:
                first_carrier = first_carrier or carrier.exchange
                sent = f", sent in the {carrier.channel} of {mask(carrier.exchange.label, secrets)}"
            what.append(f"the canary {label} ({form.name}){sent}")
        findings.append(f"line {number} contains {'; '.join(what)}: {_cut(mask(line, secrets))}")
    if findings:
        raise Violation(
            "LOG-1",
            expected="no password, OTP, token, Authorization value, full email or full phone in any log line",
            actual=f"{len(findings)} line(s) with secrets: "
            + "\n    ".join(findings[:SHOWN])
            + (f"\n    ... and {len(findings) - SHOWN} more" if len(findings) > SHOWN else ""),
            exchange=_masked(first_carrier, secrets) if first_carrier else None,
            hint="mask in a log processor: emails as ali***@***.com, phones by their last 4 digits, drop secrets; "
            "mask what the access log writes (path, query string, headers) too",
        )


def lines_contain(lines: Iterable[str], value: str) -> bool:
    """Whether any line holds ``value`` in any encoding LOG-1 looks for (digits only as a whole number)."""
    return any(first_form_in(line, value, searchable=_without_timestamp(line)) for line in lines)


def _carrier_for(carriers: Sequence[Carrier], request_id: str | None, header: str) -> Carrier | None:
    """The carrier that wrote the line (its answer's request id is the line's), else the first one."""
    if request_id:
        for carrier in carriers:
            if carrier.exchange.response.headers.get(header) == request_id:
                return carrier
    return carriers[0] if carriers else None


def _masked(exchange: Exchange, secrets: Mapping[str, str]) -> Exchange:
    """``exchange`` with every canary masked in its URL, headers and bodies, for a failure message."""

    def text(value: str) -> str:
        return mask(value, secrets)

    def body(value: bytes) -> bytes:
        return text(value.decode("utf-8", errors="replace")).encode()

    request, response = exchange.request, exchange.response
    return Exchange(
        RecordedRequest(
            request.method,
            text(request.url),
            Headers([(k, text(v)) for k, v in request.headers.items()]),
            body(request.body),
        ),
        RecordedResponse(
            response.status, Headers([(k, text(v)) for k, v in response.headers.items()]), body(response.body)
        ),
    )


def _request_id_of(line: str) -> str | None:
    try:
        value = json.loads(line).get(REQUEST_ID_FIELD)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


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
    A line that is not a JSON object has no ``field`` to carry the id in: an id
    found only in such lines cannot be judged, and LOG-3 is *blocked* by LOG-2
    (which fails on those lines), never passed on text that merely holds the id.
    An id in no line at all is LOG-3's failure whatever the format.
    """
    __tracebackhide__ = True
    request_ids = [rid for rid in dict.fromkeys(request_ids) if rid]
    if not request_ids:
        raise NotApplicable("no request id was received")
    parsed = parse_lines(lines)
    records = [r for r in parsed if isinstance(r, LogRecord)]
    carried = {str(r.fields.get(field)) for r in records if r.fields.get(field) is not None}
    text = "\n".join(r.raw for r in parsed if isinstance(r, NonJsonLine))
    uncarried = [rid for rid in request_ids if rid not in carried]
    missing = [rid for rid in uncarried if rid not in text]
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
            actual=f"{len(missing)} of {len(request_ids)} request ids: "
            + "; ".join(details)
            + (f"; ids logged instead, e.g. {', '.join(others)}" if others else f"; no line has {field!r}"),
            hint="bind the request id into the log context (structlog contextvars) where the header is set",
        )
    if uncarried:
        raise NotApplicable(
            f"{len(uncarried)} of {len(request_ids)} request ids appear only in lines that are not JSON objects "
            f"(no {field!r} field to carry them; e.g. {uncarried[0]})",
            blocked_by="LOG-2",
        )


def _without_timestamp(line: str) -> str:
    """``line`` with the value of its ``timestamp`` field cut out, when it is a JSON record."""
    try:
        timestamp = json.loads(line).get("timestamp")
    except (ValueError, AttributeError):
        return line
    return line.replace(str(timestamp), "") if isinstance(timestamp, (str, int, float)) else line


def _cut(line: str) -> str:
    return line if len(line) <= LINE_EXCERPT else line[:LINE_EXCERPT] + "..."
