"""``heallog-conformance check-profile``: one harmless request per operation of a profile, and what does not match.

Every request goes without credentials and with a body that cannot change
anything (an empty one, or a login of an address under ``.invalid`` with a
password no account has), so the check is safe against any deployment and
costs one request of each rate limit. What each answer says:

- 404 or 405: the path or the method is not the service's;
- a guarded operation (``guard`` other than ``none``) that answers 2xx: the
  guard is missing, or the operation is not the one the profile means;
  an unguarded one that answers 401/403: the profile's guard is wrong;
- 415: the body style (``json``/``form``) is not the one the service reads;
- login: the wrong credentials must be refused as wrong credentials (the
  profile's status for INVALID_CREDENTIALS), not as a malformed body (422/400:
  the body style or the credential field names are not the service's);
- health and openapi: a JSON health answer, an OpenAPI document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.profile.model import Operation, Profile

#: What stands for ``{id}`` and the login's credentials: nothing that exists.
PLACEHOLDER_ID = "hlc-check-profile-0"
NOBODY = "hlc-check-profile@example.invalid"
NO_PASSWORD = "hlc-Check-profile-0!"  # never a real password: no account has this address


@dataclass(frozen=True)
class Finding:
    operation: str
    method: str
    path: str
    status: int | None
    problem: str | None  # None: the answer matches the profile

    def line(self) -> str:
        status = str(self.status) if self.status is not None else "-"
        word = "ok" if self.problem is None else "MISMATCH"
        return f"{word:<9}{self.operation:<16}{self.method:<7}{self.path:<34}{status:>4}  {self.problem or ''}".rstrip()


def check(profile: Profile, client: httpx.Client, base_url: str) -> list[Finding]:
    """Send one request per operation of ``profile`` to ``base_url``; a finding for each."""
    return [_check_one(profile, operation, client, base_url.rstrip("/")) for operation in profile.operations.values()]


def _request(profile: Profile, operation: Operation) -> dict[str, Any]:
    if operation.name == profile.login.operation.name:
        return profile.login.body(NOBODY, NO_PASSWORD)
    if operation.body == "json":
        return {"json": {}}
    if operation.body == "form":
        return {"data": {}}
    return {}


def _check_one(profile: Profile, operation: Operation, client: httpx.Client, base: str) -> Finding:
    path = operation.path.replace("{id}", PLACEHOLDER_ID)
    try:
        answer = client.request(operation.method, base + path, **_request(profile, operation))
    except httpx.HTTPError as exc:
        return Finding(operation.name, operation.method, operation.path, None, f"no answer ({type(exc).__name__})")
    return Finding(
        operation.name,
        operation.method,
        operation.path,
        answer.status_code,
        problem(profile, operation, answer.status_code, answer.headers.get("content-type", ""), answer.content),
    )


def problem(profile: Profile, operation: Operation, status: int, content_type: str, body: bytes) -> str | None:
    """What the answer says is wrong with the profile's description of ``operation`` (pure)."""
    from conformance.sut import health

    if operation.name == "health":
        found = health.answer_problem(status, content_type, body)
        return f"not the health check: {found}" if found else None
    if operation.name == "openapi":
        try:
            paths = json.loads(body).get("paths") if status == 200 else None
        except (ValueError, AttributeError):
            paths = None
        return None if isinstance(paths, dict) else f"answered {status}, not an OpenAPI document"
    if status in (404, 405):
        return (
            f"answered {status}: no such {'route' if status == 404 else 'method'} (path or method is not the service's)"
        )
    if status == 415:
        return f"answered 415: the service does not read a {operation.body} body"
    guarded = operation.guard != "none"
    if guarded and 200 <= status < 300:
        return f"answered {status} without a token: the profile says guard {operation.guard}"
    if not guarded and status in (401, 403) and operation.name != profile.login.operation.name:
        return f"answered {status} without a token: the profile says guard none"
    if operation.name == profile.login.operation.name:
        expected = profile.codes["INVALID_CREDENTIALS"]
        if status in (400, 422):
            fields = f"{profile.login.username_field}, {profile.login.password_field}"
            return (
                f"answered {status} to a {operation.body} login body with {fields}: the body style or the "
                "credential field names are not the service's"
            )
        if status != expected:
            return f"answered {status} to wrong credentials, expected {expected} (INVALID_CREDENTIALS)"
    return None
