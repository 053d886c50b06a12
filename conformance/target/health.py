"""Is the SUT up? One probe of the profile's ``health`` operation, described in words.

The managed target polls it for readiness; the external target sends it once
before the run (preflight) so that a wrong ``--base-url`` stops the run with
one clear line instead of hundreds of red tests.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import httpx

from conformance.target.errors import TargetError

if TYPE_CHECKING:
    from conformance.profile import Profile

PREFLIGHT_BUDGET = 5.0  # seconds for connect + answer, in total


def health_url(base_url: str, profile: Profile) -> str:
    return base_url.rstrip("/") + profile.operation("health").url_path()


def health_method(profile: Profile) -> str:
    return profile.operation("health").method


def problem(client: httpx.Client, method: str, url: str) -> str | None:
    """``None`` when ``url`` answers 200 with a JSON body, else what is wrong, in words."""
    try:
        response = client.request(method, url)
    except httpx.ConnectError as exc:
        return _connect_reason(exc)
    except httpx.ConnectTimeout:
        return "connection timed out"
    except httpx.TimeoutException:
        return "no answer in time"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return answer_problem(response.status_code, response.headers.get("content-type", ""), response.content)


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


def preflight(base_url: str, profile: Profile, *, budget: float = PREFLIGHT_BUDGET, what: str = "--base-url") -> None:
    """Raise :class:`TargetError` unless the health operation answers 200 JSON within ``budget`` s."""
    url = health_url(base_url, profile)
    started = time.monotonic()
    timeout = httpx.Timeout(budget / 2)  # connect, then read: together within the budget
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        reason = problem(client, health_method(profile), url)
    if reason is not None:
        waited = time.monotonic() - started
        if reason == "no answer in time":
            reason = f"connected, but no answer within {waited:.1f} s"
        prefix = "cannot reach" if _is_unreachable(reason) else "health check failed for"
        raise TargetError(f"{what}: {prefix} {url} ({reason})")


def _connect_reason(exc: httpx.ConnectError) -> str:
    text = str(exc).lower()
    for known in ("connection refused", "name or service not known", "no route to host",
                  "network is unreachable", "temporary failure in name resolution", "timed out"):
        if known in text:
            return known
    return str(exc) or "connection failed"


def _is_unreachable(reason: str) -> bool:
    return not reason.startswith("answered")
