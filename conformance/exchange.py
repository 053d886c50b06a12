"""Recorded HTTP exchanges: the only input the checks ever see.

An exchange is plain data (no sockets, no client objects), so a check can be
fed from httpx in the suites, from schemathesis' responses and from locust's,
and a failing one can be rendered as a curl line to reproduce it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

#: Header names whose values are secrets and are masked in every rendering.
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
#: Body fields whose values are secrets and are masked in every rendering.
SECRET_FIELDS = frozenset(
    {"password", "current_password", "new_password", "otp_code", "access_token", "refresh_token", "token"}
)
MASK = "***"


class Headers:
    """Case-insensitive, multi-valued, immutable header map (names kept lower-case)."""

    __slots__ = ("_items",)

    def __init__(self, raw: Mapping[str, Any] | Iterable[tuple[str, str]] | None = None) -> None:
        items: list[tuple[str, str]] = []
        pairs = raw.items() if isinstance(raw, Mapping) else (raw or ())
        for name, value in pairs:
            values = value if isinstance(value, (list, tuple)) else [value]
            items.extend((str(name).lower(), str(v)) for v in values)
        self._items = tuple(items)

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        return next((v for k, v in self._items if k == name), default)

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k == name.lower() for k, _ in self._items)

    def items(self) -> tuple[tuple[str, str], ...]:
        return self._items

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""


@dataclass(frozen=True)
class RecordedResponse:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @cached_property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @cached_property
    def json(self) -> Any:
        """The parsed body, or ``None`` when it is not JSON (``None`` bodies are never valid here)."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def media_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Exchange:
    request: RecordedRequest
    response: RecordedResponse

    @property
    def label(self) -> str:
        return f"{self.request.method} {self.request.url}"

    @classmethod
    def from_httpx(cls, response: Any) -> Exchange:
        """Record an ``httpx.Response`` (already read) together with its request."""
        request = response.request
        try:
            body = request.content
        except Exception:  # a streamed request body cannot be replayed
            body = b"<streamed body>"
        return cls(
            request=RecordedRequest(request.method, str(request.url), Headers(request.headers.multi_items()), body),
            response=RecordedResponse(response.status_code, Headers(response.headers.multi_items()), response.content),
        )

    @classmethod
    def build(
        cls,
        method: str,
        url: str,
        status: int,
        *,
        request_headers: Any = None,
        request_body: bytes = b"",
        response_headers: Any = None,
        response_body: bytes | str | Any = b"",
    ) -> Exchange:
        """Construct an exchange by hand (unit tests, schemathesis and locust adapters)."""
        if isinstance(response_body, str):
            response_body = response_body.encode()
        elif not isinstance(response_body, bytes):
            response_body = json.dumps(response_body).encode()
        return cls(
            RecordedRequest(method.upper(), url, Headers(request_headers), request_body),
            RecordedResponse(status, Headers(response_headers), response_body),
        )


def mask_json(data: Any) -> Any:
    """``data`` with the values of secret fields masked, at any depth."""
    if isinstance(data, dict):
        return {k: (MASK if k in SECRET_FIELDS and v is not None else mask_json(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_json(item) for item in data]
    return data


def mask_body(body: bytes) -> str:
    """The request body as text with secret fields masked (JSON and form bodies)."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, (dict, list)):
        return json.dumps(mask_json(data))
    if "=" in text and "{" not in text:
        parts = []
        for pair in text.split("&"):
            key, sep, value = pair.partition("=")
            parts.append(f"{key}={MASK}" if sep and key in SECRET_FIELDS else pair)
        return "&".join(parts)
    return text


def to_curl(request: RecordedRequest, max_body: int = 2000) -> str:
    """A curl command that repeats ``request``, with secrets masked."""
    parts = ["curl", "-i", "-X", request.method]
    for name, value in request.headers.items():
        if name in {"host", "content-length", "accept-encoding", "connection", "user-agent"}:
            continue
        if name in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {MASK}".strip()
        parts += ["-H", f"{name}: {value}"]
    if request.body:
        body = mask_body(request.body)
        if len(body) > max_body:
            body = f"<{len(request.body)} bytes>"
        parts += ["--data-binary", body]
    parts.append(request.url)
    return " ".join(shlex.quote(p) for p in parts)
