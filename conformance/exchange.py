"""Recorded HTTP exchanges: the only input the checks ever see.

An exchange is plain data (no sockets, no client objects), so a check can be
fed from httpx in the suites, from schemathesis' responses and from locust's,
and a failing one can be rendered as a curl line to reproduce it.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from conformance.redaction import MASK, SECRET_FIELDS, SECRET_HEADERS


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
        """Secret headers masked: reprs end up in tracebacks and assertion messages."""
        shown = [(name, MASK if name in SECRET_HEADERS else value) for name, value in self._items]
        return f"Headers({shown!r})"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    #: Sent with ``Transfer-Encoding: chunked`` (no Content-Length): a curl line must send it the same way.
    chunked: bool = False

    def __repr__(self) -> str:
        """Never the body's secrets or the Authorization value (see :func:`to_curl` for a usable rendering)."""
        return f"<request {self.method} {self.url} {self.headers!r} body={mask_body(self.body)[:200]!r}>"


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

    def __repr__(self) -> str:
        return f"<response {self.status} {self.headers!r} body={mask_body(self.body)[:200]!r}>"


@dataclass(frozen=True)
class Exchange:
    request: RecordedRequest
    response: RecordedResponse

    @property
    def label(self) -> str:
        return f"{self.request.method} {self.request.url}"

    def __repr__(self) -> str:
        return f"<exchange {self.label} -> {self.response.status}>"

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-able data (for reports that cross processes, e.g. under xdist); bodies base64."""
        request, response = self.request, self.response
        return {
            "request": {"method": request.method, "url": request.url, "headers": list(request.headers.items()),
                        "body": base64.b64encode(request.body).decode(), "chunked": request.chunked},
            "response": {"status": response.status, "headers": list(response.headers.items()),
                         "body": base64.b64encode(response.body).decode()},
        }  # fmt: skip

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Exchange:
        request, response = data["request"], data["response"]
        return cls(
            RecordedRequest(request["method"], request["url"], Headers(request["headers"]),
                            base64.b64decode(request["body"]), chunked=bool(request.get("chunked"))),
            RecordedResponse(response["status"], Headers(response["headers"]), base64.b64decode(response["body"])),
        )  # fmt: skip

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
    return _replace_secret_fields(data, lambda key, value: MASK if value is not None else value)


def mask_body(body: bytes) -> str:
    """The request body as text with secret fields masked (JSON and form bodies)."""
    return _body_with_secret_fields(body, lambda key, value: MASK if value is not None else value)


def _replace_secret_fields(data: Any, replace: Callable[[str, Any], Any]) -> Any:
    """``data`` with each secret field's value replaced by ``replace(field, value)``, at any depth."""
    if isinstance(data, dict):
        return {k: (replace(k, v) if k in SECRET_FIELDS else _replace_secret_fields(v, replace))
                for k, v in data.items()}  # fmt: skip
    if isinstance(data, list):
        return [_replace_secret_fields(item, replace) for item in data]
    return data


def _body_with_secret_fields(body: bytes, replace: Callable[[str, Any], Any], *, ensure_ascii: bool = True) -> str:
    """A JSON or form body as text, each secret field's value replaced by ``replace(field, value)``."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, (dict, list)):
        return json.dumps(_replace_secret_fields(data, replace), ensure_ascii=ensure_ascii)
    if "=" in text and "{" not in text:
        pairs = []
        for pair in text.split("&"):
            key, sep, value = pair.partition("=")
            pairs.append(f"{key}={replace(key, value)}" if sep and key in SECRET_FIELDS else pair)
        return "&".join(pairs)
    return text


#: The shell variable a masked secret becomes in a curl line, by header or body field.
SECRET_VARIABLES = {
    "authorization": "TOKEN", "proxy-authorization": "PROXY_TOKEN", "cookie": "COOKIE",
    "password": "PASSWORD", "current_password": "PASSWORD", "new_password": "NEW_PASSWORD",
    "otp_code": "OTP", "access_token": "TOKEN", "refresh_token": "REFRESH_TOKEN", "token": "TOKEN",
}  # fmt: skip
#: Bodies longer than this are sent by a generator in the curl line, not written out.
MAX_WRITTEN_BODY = 2000
_SKIPPED_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "transfer-encoding"})
_OPEN, _CLOSE = "\u27e6", "\u27e7"  # ⟦NAME⟧ marks a variable while the line is being quoted
_VARIABLE = re.compile("\u27e6([A-Z_]+)\u27e7")


@dataclass(frozen=True)
class Reproduction:
    """A curl command line, and the shell variables it needs (the run's secrets are never printed)."""

    command: str
    variables: tuple[str, ...] = ()

    def render(self) -> str:
        if not self.variables:
            return self.command
        names = ", ".join(f"${name}" for name in self.variables)
        return f"{self.command}\n    (set {names} first: the run's secrets are masked, never printed)"


def reproduce(request: RecordedRequest, max_body: int = MAX_WRITTEN_BODY) -> Reproduction:
    """A curl command that repeats ``request``: secrets as shell variables, big bodies from a generator."""
    variables: list[str] = []

    def variable(name: str) -> str:
        if name not in variables:
            variables.append(name)
        return f"{_OPEN}{name}{_CLOSE}"

    parts = ["curl", "-i", "-X", request.method]
    for name, value in request.headers.items():
        if name in _SKIPPED_HEADERS:
            continue
        if name in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] + " " if " " in value else ""
            value = scheme + variable(SECRET_VARIABLES.get(name, "SECRET"))
        parts += ["-H", f"{name}: {value}"]
    feed = ""
    if request.body and len(request.body) > max_body:
        feed = f"head -c {len(request.body)} /dev/zero | tr '\\0' x | "
        if request.chunked:
            parts += ["-H", "Transfer-Encoding: chunked", "-T", "-"]
        else:
            parts += ["--data-binary", "@-"]
    elif request.body:
        parts += ["--data-binary", _body_with_variables(request.body, variable)]
    parts.append(request.url)
    return Reproduction(feed + " ".join(_shell_word(p) for p in parts), tuple(variables))


def to_curl(request: RecordedRequest, max_body: int = MAX_WRITTEN_BODY) -> str:
    """The curl line of :func:`reproduce`, with the note on the variables it needs."""
    return reproduce(request, max_body).render()


def _body_with_variables(body: bytes, variable) -> str:
    def as_variable(key: str, value: Any) -> Any:
        if isinstance(value, str):
            return variable(SECRET_VARIABLES.get(key, "SECRET"))
        return _replace_secret_fields(value, as_variable)

    return _body_with_secret_fields(body, as_variable, ensure_ascii=False)


def _shell_word(word: str) -> str:
    """One shell word: single-quoted, or double-quoted where it holds a variable (``${TOKEN}``)."""
    if not _VARIABLE.search(word):
        return shlex.quote(word)
    pieces = _VARIABLE.split(word)  # text, name, text, name, text...
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append("${" + piece + "}")
        else:
            out.append(re.sub(r'([\\"$`])', r"\\\1", piece))
    return '"' + "".join(out) + '"'
