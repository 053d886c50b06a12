"""Request ids (RID-1 .. RID-3): one id per request, in the header and in the error body.

The contract does not define "well-formed" for an incoming id; the harness
takes a common reading (8-128 characters of letters, digits and ``._:-``,
starting with a letter or digit: UUIDs and the usual trace ids), and its
suites only send values that are clearly on one side of that line.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")


def is_well_formed(request_id: str) -> bool:
    """Whether an incoming id is one the SUT should propagate (see the module docstring)."""
    return bool(WELL_FORMED_ID.match(request_id))


def boundary_ids(max_length: int) -> dict[str, tuple[str, bool]]:
    """Incoming ids at the edge of "well-formed" (RID-2 boundaries), each with whether it is well-formed.

    ``max_length`` is the longest id the SUT keeps (the profile's
    ``limits.request_id_max_length``): an id of exactly that length is kept, one
    character more is replaced, and so is a list of two well-formed ids joined
    by a comma (the header list separator), each part of which is well-formed.
    Far past the limit (1024 characters) is the other probe's.
    """

    def of_length(n: int) -> str:
        return (uuid.uuid4().hex * (n // 32 + 1))[:n]

    return {
        "at-length-limit": (of_length(max_length), True),
        "just-past-length-limit": (of_length(max_length + 1), False),
        "comma-joined": (f"{uuid.uuid4()},{uuid.uuid4()}", False),
    }


def request_id_matches_header(exchange: Exchange, *, header_name: str) -> None:
    """RID-1: the response carries one request id header; on errors the body's ``request_id`` equals it.

    A ≥400 body without a ``request_id`` is ENV-1's failure, not this one's.
    """
    values = set(exchange.response.headers.get_all(header_name))
    if not values or values == {""}:
        raise Violation(
            "RID-1",
            expected=f"a {header_name} response header",
            actual="none",
            exchange=exchange,
            hint="set the header in an outer middleware so that error responses carry it too",
        )
    if len(values) > 1:
        raise Violation(
            "RID-1",
            expected=f"one {header_name} value",
            actual=f"{len(values)} different values: {', '.join(sorted(values))}",
            exchange=exchange,
        )
    body = exchange.response.json
    if exchange.response.status < 400 or not isinstance(body, dict) or "request_id" not in body:
        return
    (header,) = values
    if body["request_id"] != header:
        raise Violation(
            "RID-1",
            expected=f"body request_id = {header_name} header = {header!r}",
            actual=f"body request_id = {body['request_id']!r}",
            exchange=exchange,
            hint="read the id from the request context in the error handler; do not generate a second one",
        )


def incoming_request_id_handled(
    exchange: Exchange, sent: str, *, header_name: str, well_formed: bool | None = None
) -> None:
    """RID-2: a well-formed incoming id is propagated; a malformed one is replaced, never echoed.

    ``well_formed`` overrides the harness's reading of ``sent`` (see :func:`is_well_formed`).
    """
    well_formed = is_well_formed(sent) if well_formed is None else well_formed
    returned = exchange.response.headers.get(header_name)
    if returned is None:
        raise NotApplicable(f"no {header_name} in the response", blocked_by="RID-1")
    if well_formed and returned != sent:
        raise Violation(
            "RID-2",
            expected=f"the well-formed incoming id {sent!r} propagated",
            actual=f"{header_name}: {returned}",
            exchange=exchange,
            hint="use the caller's id when it is well-formed, so that traces join across services",
        )
    if not well_formed and (not returned or sent in returned or returned in sent or not is_well_formed(returned)):
        raise Violation(
            "RID-2",
            expected="the malformed incoming id replaced by a fresh, well-formed one",
            actual=f"{header_name}: {returned[:200]!r}",
            exchange=exchange,
            hint="validate the incoming header (length, characters) before trusting it",
        )


def request_ids_unique(exchanges: Iterable[Exchange], *, header_name: str) -> None:
    """RID-3: ids the SUT generated (for requests sent without one) are pairwise distinct."""
    seen: dict[str, Exchange] = {}
    generated = 0
    for exchange in exchanges:
        if header_name in exchange.request.headers:
            continue
        request_id = exchange.response.headers.get(header_name)
        if not request_id:
            continue
        generated += 1
        if request_id in seen:
            raise Violation(
                "RID-3",
                expected="a distinct request id for every request",
                actual=f"{request_id!r} also answered {seen[request_id].label}",
                exchange=exchange,
                hint="generate ids from a random source (uuid4), not a clock or a per-process counter",
            )
        seen[request_id] = exchange
    if generated < 2:
        raise NotApplicable(f"{generated} generated request id(s): nothing to compare")
