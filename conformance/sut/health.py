"""Is the SUT up? One probe of the profile's ``health`` operation, described in words.

The managed target polls it for readiness; the external target sends it once
before the run (preflight) so that a wrong ``--base-url`` stops the run with
one clear line instead of hundreds of red tests. That line tells an
unreachable target (nothing listens, no route: "cannot reach") from a slow one
(it accepted the connection but its answer did not arrive within
``--health-timeout``: "is too slow").
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING

import httpx

from conformance.openapi import route_shape
from conformance.sut.errors import TargetError
from conformance.wire import factory
from conformance.wire.transport import DEADLINE_EXTENSION, BodyPastDeadline
from conformance.wire.witness import KeptConnection

__all__ = ["KeptConnection", "answer_problem", "health_client", "preflight", "problem", "surface_problem"]

if TYPE_CHECKING:
    from conformance.profile import Profile

PREFLIGHT_BUDGET = 5.0  # seconds for connect + answer, in total
#: Seconds the health answer may take in the preflight (--health-timeout): the bound each phase had before the option.
HEALTH_TIMEOUT = 2.5
#: The reasons :func:`problem` gives for a target that accepted the connection but did not answer in time.
NO_ANSWER = "no answer in time"
SLOW_ANSWER = "answer still arriving"


class _StillArriving(Exception):
    """The answer had begun, but was not complete by the deadline."""


def health_url(base_url: str, profile: Profile) -> str:
    return base_url.rstrip("/") + profile.operation("health").url_path()


def health_method(profile: Profile) -> str:
    return profile.operation("health").method


def health_client(timeout: httpx.Timeout | float | None = None) -> httpx.Client:
    """A wire client for polls and probes (counted and recorded like every request: they are requests too)."""
    return factory.client(factory.Purpose.HEALTH, timeout=timeout)


def problem(client: httpx.Client, method: str, url: str, *, deadline: float | None = None) -> str | None:
    """``None`` when ``url`` answers 200 with a JSON body, else what is wrong, in words.

    With ``deadline`` (a ``time.monotonic()`` value) the whole answer must have
    arrived by then: a server that trickles its body never trips a read timeout.
    """
    try:
        if deadline is None:
            response = client.request(method, url)
            status, headers, body = response.status_code, response.headers, response.content
        else:
            status, headers, body = _answer_by(client, method, url, deadline)
    except httpx.ConnectError as exc:
        return _connect_reason(exc)
    except httpx.ConnectTimeout:
        return "connection timed out"
    except (_StillArriving, BodyPastDeadline):
        return SLOW_ANSWER
    except httpx.TimeoutException:
        return NO_ANSWER
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return answer_problem(status, headers.get("content-type", ""), body)


def _answer_by(client: httpx.Client, method: str, url: str, deadline: float) -> tuple[int, httpx.Headers, bytes]:
    with client.stream(method, url, extensions={DEADLINE_EXTENSION: deadline}) as response:
        chunks = []
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _StillArriving
        if time.monotonic() > deadline:  # the connection took the time, or an empty body came late
            raise httpx.ReadTimeout("the answer came after the deadline")
        return response.status_code, response.headers, b"".join(chunks)


def answer_problem(status: int, content_type: str, body: bytes) -> str | None:
    """What is wrong with a health answer (status, content type, body), or ``None``."""
    media = content_type.split(";")[0].strip().lower()
    head = body.lstrip()[:200].lower()
    if media == "text/html" or head.startswith((b"<!doctype", b"<html")):
        return f"answered HTML (status {status}) instead of JSON: is this a frontend or a proxy page, not the API?"
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        shown = body[:80].decode("utf-8", "replace").replace("\n", " ")
        return f"answered non-JSON (status {status}, content-type {media or 'none'}): {shown!r}"
    if status != 200:
        return f"answered status {status}, expected 200"
    return None


def preflight(base_url: str, profile: Profile, *, budget: float = HEALTH_TIMEOUT, what: str = "--base-url") -> None:
    """Raise :class:`TargetError` unless the health operation answers 200 JSON within ``budget`` s."""
    url = health_url(base_url, profile)
    started = time.monotonic()
    timeout = httpx.Timeout(budget)  # each phase within the budget; the deadline bounds them together
    with health_client(timeout) as client:
        reason = problem(client, health_method(profile), url, deadline=started + budget)
    if reason is not None:
        waited = time.monotonic() - started
        raise TargetError(f"{what}: {_preflight_message(url, reason, waited, budget)}")
    with health_client(timeout) as client:
        wrong = surface_problem(client, base_url, profile)
    if wrong is not None:
        raise TargetError(f"{what}: {wrong}")


def _preflight_message(url: str, reason: str, waited: float, budget: float) -> str:
    """The one line for a failed preflight: unreachable, too slow, or answering wrongly."""
    raise_it = f"the bound is --health-timeout {budget:g} s: raise it for a slow target"
    if reason == NO_ANSWER:
        return f"{url} is too slow: it accepted the connection, but did not answer within {waited:.1f} s ({raise_it})"
    if reason == SLOW_ANSWER:
        return f"{url} is too slow: its answer was still arriving after {waited:.1f} s ({raise_it})"
    if reason == "connection timed out":
        reason = f"connection timed out after {waited:.1f} s"
    prefix = "cannot reach" if _is_unreachable(reason) else "health check failed for"
    return f"{prefix} {url} ({reason})"


def _connect_reason(exc: httpx.ConnectError) -> str:
    text = str(exc).lower()
    for known in (
        "connection refused",
        "name or service not known",
        "no route to host",
        "network is unreachable",
        "temporary failure in name resolution",
        "timed out",
    ):
        if known in text:
            return known
    return str(exc) or "connection failed"


def _is_unreachable(reason: str) -> bool:
    return not reason.startswith("answered")


#: Unauthenticated operations probed when the OpenAPI document does not settle whether this is the API.
SURFACE_PROBES = ("register", "login", "verify_otp", "refresh", "me")


def surface_problem(client: httpx.Client, base_url: str, profile: Profile) -> str | None:
    """``None`` when the service at ``base_url`` looks like the profile's API, else what answered instead.

    A wrong target (another service, a gateway's catch-all, a mock answering
    ``{"ok": 1}`` to everything) otherwise runs for minutes and gets some
    ``pass`` verdicts. Cheap, black-box evidence, in order: the published
    OpenAPI document lists profile paths (yes: it is the API); a path that
    cannot exist answers 2xx (no: it answers everything); every probed
    operation of the profile answers 404 (no: none of them is there).
    """
    base = base_url.rstrip("/")
    openapi = profile.operation("openapi")
    try:
        document = client.request(openapi.method, base + openapi.path)
        paths = document.json().get("paths") if document.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        paths = None
    if isinstance(paths, dict):
        shapes = {route_shape(path) for path in paths}
        wanted = {route_shape(op.path) for op in profile.operations.values() if op.name not in ("health", "openapi")}
        if shapes & wanted:
            return None
        example = next(iter(sorted(wanted)))
        return (
            f"{base}{openapi.path} documents none of the profile's paths (e.g. {example}): is this the API the "
            "profile describes? (write a profile for it with --profile)"
        )
    try:
        nowhere = client.get(f"{base}/hlc-surface-probe-{secrets.token_hex(4)}")
        if 200 <= nowhere.status_code < 300:
            return (
                f"GET {base}/hlc-surface-probe-... (a path that cannot exist) answered {nowhere.status_code}: "
                "this service answers every path, it is not the API the profile describes"
            )
        answers = []
        for name in SURFACE_PROBES:
            op = profile.operation(name)
            answer = client.request(op.method, base + op.url_path(), **({"json": {}} if op.body == "json" else {}))
            answers.append((f"{op.method} {op.path}", answer.status_code))
    except httpx.HTTPError as exc:
        return f"the service stopped answering while its surface was probed ({type(exc).__name__}: {exc})"
    if all(status == 404 for _, status in answers):
        listed = ", ".join(label for label, _ in answers)
        return (
            f"every probed operation answered 404 ({listed}): the profile's paths are not here "
            "(wrong --base-url, a missing path prefix, or another API: see --profile)"
        )
    return None
