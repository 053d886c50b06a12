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

from conformance import redaction
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
class Timing:
    """When a request left and how long until its answer was read (or the attempt failed), for the HAR."""

    #: Seconds since the epoch (wall clock: the HAR's ``startedDateTime``).
    started: float
    #: Seconds from sending to the last byte of the answer (monotonic clock).
    seconds: float
    #: The first attempt failed on a stale pooled connection and this is the retry on a fresh one.
    retried: bool = False

    def to_data(self) -> dict[str, Any]:
        return {"started": self.started, "seconds": self.seconds, "retried": self.retried}

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Timing | None:
        return cls(data["started"], data["seconds"], bool(data.get("retried"))) if data else None


@dataclass(frozen=True)
class Exchange:
    request: RecordedRequest
    response: RecordedResponse
    timing: Timing | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"{self.request.method} {self.request.url}"

    def __repr__(self) -> str:
        return f"<exchange {self.label} -> {self.response.status}>"

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-able data (for reports that cross processes, e.g. under xdist); bodies base64."""
        request, response = self.request, self.response
        return {
            "request": _request_data(request),
            "response": {
                "status": response.status,
                "headers": list(response.headers.items()),
                "body": base64.b64encode(response.body).decode(),
            },
            "timing": self.timing.to_data() if self.timing else None,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Exchange:
        response = data["response"]
        return cls(
            _request_from_data(data["request"]),
            RecordedResponse(response["status"], Headers(response["headers"]), base64.b64decode(response["body"])),
            Timing.from_data(data.get("timing")),
        )

    # -- converters: every client's answer becomes an Exchange here, and nowhere else -----------------------
    @classmethod
    def from_httpx(
        cls, response: Any, *, request: RecordedRequest | None = None, timing: Timing | None = None
    ) -> Exchange:
        """Record an ``httpx.Response`` (already read) with its request (``request`` when the body was streamed)."""
        if request is None:
            sent = response.request
            try:
                body = sent.content
            except Exception:  # a streamed request body cannot be replayed
                body = b"<streamed body>"
            request = RecordedRequest(sent.method, str(sent.url), Headers(sent.headers.multi_items()), body)
        recorded = RecordedResponse(response.status_code, Headers(response.headers.multi_items()), response.content)
        return cls(request, recorded, timing)

    @classmethod
    def from_schemathesis(cls, response: Any) -> Exchange:
        """A schemathesis ``Response`` (its header values are lists; its request a ``requests`` one)."""
        request = response.request
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"<streamed body>"
        return cls(
            RecordedRequest(
                (request.method or "GET").upper(), request.url or "", Headers(dict(request.headers)), body or b""
            ),
            RecordedResponse(response.status_code, Headers(response.headers), response.content or b""),
        )

    @classmethod
    def from_locust(
        cls, method: str, url: str, sent_headers: Mapping[str, str], body: bytes, response: Any
    ) -> Exchange:
        """A locust ``FastHttpUser`` (geventhttpclient) response, with what was sent."""
        raw = response.headers.items() if response.headers is not None else ()
        return cls(
            RecordedRequest(method.upper(), url, Headers(sent_headers), body),
            RecordedResponse(response.status_code, Headers(list(raw)), response.content or b""),
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


@dataclass(frozen=True)
class NoResponse:
    """A request that got no answer: the SUT closed or reset the connection, or the client gave up waiting.

    Recorded like an exchange, so the failure report and the HAR show every
    request a test sent, also those that never got an answer.
    """

    request: RecordedRequest
    #: ``"ExceptionName: text"`` of what the client saw.
    error: str
    #: The client stopped waiting (its timeout), which says nothing about the SUT on a loaded machine.
    timed_out: bool = False
    timing: Timing | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"{self.request.method} {self.request.url}"

    def to_data(self) -> dict[str, Any]:
        return {
            "request": _request_data(self.request),
            "error": self.error,
            "timed_out": self.timed_out,
            "timing": self.timing.to_data() if self.timing else None,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> NoResponse:
        return cls(
            _request_from_data(data["request"]),
            data["error"],
            bool(data.get("timed_out")),
            Timing.from_data(data.get("timing")),
        )


#: What a client recorded for one request: an answer, or none.
Attempt = Exchange | NoResponse


def attempt_from_data(data: dict[str, Any]) -> Attempt:
    """An :data:`Attempt` from its ``to_data()``."""
    return Exchange.from_data(data) if "response" in data else NoResponse.from_data(data)


def _request_data(request: RecordedRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "headers": list(request.headers.items()),
        "body": base64.b64encode(request.body).decode(),
        "chunked": request.chunked,
    }


def _request_from_data(data: dict[str, Any]) -> RecordedRequest:
    return RecordedRequest(
        data["method"],
        data["url"],
        Headers(data["headers"]),
        base64.b64decode(data["body"]),
        chunked=bool(data.get("chunked")),
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
        return {
            k: (replace(k, v) if k in SECRET_FIELDS else _replace_secret_fields(v, replace)) for k, v in data.items()
        }
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
    "authorization": "TOKEN",
    "proxy-authorization": "PROXY_TOKEN",
    "cookie": "COOKIE",
    "password": "PASSWORD",
    "current_password": "PASSWORD",
    "new_password": "NEW_PASSWORD",
    "otp_code": "OTP",
    "access_token": "TOKEN",
    "refresh_token": "REFRESH_TOKEN",
    "token": "TOKEN",
}
#: Bodies longer than this are sent by a generator in the curl line, not written out.
MAX_WRITTEN_BODY = 2000
_SKIPPED_HEADERS = frozenset(
    {"host", "content-length", "accept-encoding", "connection", "user-agent", "transfer-encoding"}
)
_OPEN, _CLOSE = "\u27e6", "\u27e7"  # ⟦NAME⟧ marks a variable while the line is being quoted
_VARIABLE = re.compile("\u27e6([A-Z_]+)\u27e7")


@dataclass(frozen=True)
class Reproduction:
    """A curl command line, and the shell variables it needs (the run's secrets are never printed)."""

    command: str
    variables: tuple[str, ...] = ()
    #: What a variable holds, where the run knows (a forged token's variant).
    meanings: tuple[tuple[str, str], ...] = ()

    def render(self) -> str:
        if not self.variables:
            return self.command
        names = ", ".join(f"${name}" for name in self.variables)
        meant = "".join(f"; ${name}: {what}" for name, what in self.meanings)
        return f"{self.command}\n    (set {names} first: the run's secrets are masked, never printed{meant})"


def reproduce(request: RecordedRequest, max_body: int = MAX_WRITTEN_BODY) -> Reproduction:
    """A curl command that repeats ``request``: secrets as shell variables, big bodies from a generator."""
    variables: list[str] = []
    meanings: list[tuple[str, str]] = []

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
            credential = value[len(scheme) :]
            if redaction.is_public(credential):  # a token forged without any secret: the line names it
                parts += ["-H", f"{name}: {value}"]
                continue
            label = redaction.label_of(credential)
            value = scheme + variable(SECRET_VARIABLES.get(name, "SECRET"))
            if label and label.startswith("the AUTH-2 "):
                meanings.append((SECRET_VARIABLES.get(name, "SECRET"), label))
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
    return Reproduction(feed + " ".join(_shell_word(p) for p in parts), tuple(variables), tuple(meanings))


def to_curl(request: RecordedRequest, max_body: int = MAX_WRITTEN_BODY) -> str:
    """The curl line of :func:`reproduce`, with the note on the variables it needs."""
    return reproduce(request, max_body).render()


def _body_with_variables(body: bytes, variable: Callable[[str], str]) -> str:
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
