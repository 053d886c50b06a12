"""The suites' HTTP client: logical operations in, recorded exchanges out.

Every request goes through :class:`ApiClient`, which resolves a logical
operation of the profile to a method and path, sends it with bounded timeouts
and returns an :class:`~conformance.exchange.Exchange`. Each exchange is also
handed to a :class:`Recorder`, so that the plugin can attach the last few
exchanges of a failing test to its report. A request that gets no response
(connection refused or reset, timeout) raises :class:`TransportFailure`, a
test failure that names the request, never a silent ``None``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from conformance.exchange import Exchange, Headers, RecordedRequest, to_curl
from conformance.outcomes import RELEVANT_HEADERS, excerpt
from conformance.profile import Profile

#: Seconds. Generous for a 2-core machine under load, but always finite.
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0, pool=10.0)
#: How many exchanges of one test the failure report shows (the last ones).
KEEP_PER_TEST = 8


class TransportFailure(AssertionError):
    """The request got no HTTP response (refused, reset, timed out).

    An ``AssertionError`` so that pytest reports the test as failed: a SUT
    that drops the connection instead of answering breaks whatever the test
    was checking.
    """

    def __init__(self, request: RecordedRequest, cause: BaseException) -> None:
        self.request = request
        self.cause = cause
        super().__init__(
            f"no response to {request.method} {request.url}: {type(cause).__name__}: {cause}\n"
            f"  Reproduce: {to_curl(request)}"
        )


class Recorder:
    """The recent exchanges of the running test, for its failure report. Thread-safe."""

    def __init__(self, keep: int = KEEP_PER_TEST) -> None:
        self._lock = threading.Lock()
        self._recent: deque[Exchange | TransportFailure] = deque(maxlen=keep)
        self.total = 0

    def begin(self) -> None:
        """Forget the previous test's exchanges."""
        with self._lock:
            self._recent.clear()

    def add(self, entry: Exchange | TransportFailure) -> None:
        with self._lock:
            self._recent.append(entry)
            self.total += 1

    def recent(self) -> list[Exchange | TransportFailure]:
        with self._lock:
            return list(self._recent)

    def render(self) -> str:
        """The recent exchanges as text, secrets masked, oldest first."""
        return "\n\n".join(render_entry(entry) for entry in self.recent())


def render_entry(entry: Exchange | TransportFailure) -> str:
    if isinstance(entry, TransportFailure):
        request = entry.request
        return f"> {request.method} {request.url}\n  {to_curl(request)}\n< no response: {entry.cause!r}"
    request, response = entry.request, entry.response
    lines = [f"> {request.method} {request.url}", f"  {to_curl(request)}", f"< {response.status}"]
    for name in RELEVANT_HEADERS:
        lines += [f"  {name}: {value}" for value in response.headers.get_all(name)]
    if response.body:
        lines.append(f"  body: {excerpt(response.body)}")
    return "\n".join(lines)


class ApiClient:
    """Sync HTTP client for one target; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        profile: Profile,
        *,
        recorder: Recorder | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.recorder = recorder or Recorder()
        # trust_env=False: proxy variables must never divert requests meant for the target.
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, transport=transport)

    # -- requests -----------------------------------------------------------
    def call(
        self,
        operation: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        path_params: Mapping[str, Any] | None = None,
        base_url: str | None = None,
    ) -> Exchange:
        """Call a logical operation of the profile (its method and path, ``{id}`` from ``path_params``)."""
        op = self.profile.operation(operation)
        try:
            path = op.path.format(**(path_params or {}))
        except KeyError as missing:
            raise TypeError(f"operation {operation!r} ({op.path}) needs path_params={{{missing}: ...}}") from None
        return self.request(
            op.method, path, token=token, json=json, data=data, content=content,
            headers=headers, params=params, base_url=base_url,
        )  # fmt: skip

    def login(self, email: str, password: str, *, base_url: str | None = None) -> Exchange:
        """Call ``login`` with the credentials in the profile's body style and field names."""
        return self.call("login", base_url=base_url, **self.profile.login.body(email, password))

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        base_url: str | None = None,
    ) -> Exchange:
        """A request to any path of the target (or of ``base_url``)."""
        request = self._http.build_request(
            method.upper(), self._url(path, base_url), json=json, data=data, content=content,
            headers=self._headers(headers, token), params=params,
        )  # fmt: skip
        recorded = RecordedRequest(request.method, str(request.url), _headers_of(request), request.read())
        return self._send(request, recorded)

    def stream(
        self,
        method: str,
        path: str,
        chunks: Iterable[bytes],
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        base_url: str | None = None,
    ) -> Exchange:
        """Send ``chunks`` as a chunked body (``Transfer-Encoding: chunked``, no Content-Length)."""
        sent = bytearray()

        def body() -> Iterator[bytes]:
            for chunk in chunks:
                sent.extend(chunk)
                yield chunk

        request = self._http.build_request(
            method.upper(), self._url(path, base_url), content=body(), headers=self._headers(headers, token)
        )
        recorded = RecordedRequest(request.method, str(request.url), _headers_of(request), b"")
        return self._send(request, recorded, chunked_body=sent)

    def record(self, exchange: Exchange) -> Exchange:
        """Add an exchange made with another client (e.g. a concurrent burst) to the failure report."""
        self.recorder.add(exchange)
        return exchange

    def close(self) -> None:
        self._http.close()

    # -- internals ------------------------------------------------------------
    def _url(self, path: str, base_url: str | None) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return (base_url or self.base_url).rstrip("/") + "/" + path.lstrip("/")

    @staticmethod
    def _headers(headers: Mapping[str, str] | None, token: str | None) -> dict[str, str]:
        merged = dict(headers or {})
        if token is not None:
            merged["Authorization"] = f"Bearer {token}"
        return merged

    def _send(
        self, request: httpx.Request, recorded: RecordedRequest, chunked_body: bytearray | None = None
    ) -> Exchange:
        try:
            response = self._http.send(request)
            response.read()
        except httpx.TransportError as exc:
            if chunked_body is not None:
                recorded = _with_body(recorded, chunked_body)
            failure = TransportFailure(recorded, exc)
            self.recorder.add(failure)
            raise failure from None
        if chunked_body is not None:
            recorded = _with_body(recorded, chunked_body)
        exchange = Exchange.from_httpx(response)
        exchange = Exchange(recorded, exchange.response)
        self.recorder.add(exchange)
        return exchange


def _headers_of(request: httpx.Request) -> Headers:
    return Headers(request.headers.multi_items())


def _with_body(recorded: RecordedRequest, body: bytearray) -> RecordedRequest:
    return RecordedRequest(recorded.method, recorded.url, recorded.headers, bytes(body))

