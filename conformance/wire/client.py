"""The suites' HTTP client: logical operations in, recorded exchanges out.

Every request goes through :class:`ApiClient`, which resolves a logical
operation of the profile to a method and path, waits its turn when the
operation is rate limited (:mod:`conformance.wire.pacing`), sends it with bounded
timeouts over connections handled as :mod:`conformance.wire.connections` says, and
returns an :class:`~conformance.exchange.Exchange`. Each exchange is also
handed to a :class:`Recorder`, so that the plugin can attach the last few
exchanges of a failing test to its report.

A request that gets no response raises: :class:`TransportFailure` (a test
failure that names the request) when the SUT closed or reset the connection,
:class:`ClientTimeout` (inconclusive) when the harness gave up waiting — on a
loaded machine that says nothing about the SUT. Never a silent ``None``.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from conformance.wire import usage
from conformance.wire.connections import RETRIED_EXTENSION, ConnectionRules
from conformance.exchange import Exchange, Headers, RecordedRequest, to_curl
from conformance.outcomes import RELEVANT_HEADERS, Inconclusive, excerpt
from conformance.wire.pacing import Pacer
from conformance.profile import Profile
from conformance.redaction import redact

#: Seconds. Generous for a 2-core machine under load, but always finite.
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0, pool=10.0)
#: How many exchanges of one test the failure report shows (the last ones).
KEEP_PER_TEST = 8


class TransportFailure(AssertionError):
    """The SUT closed or reset the connection instead of answering the request.

    An ``AssertionError`` so that pytest reports the test as failed: a SUT
    that drops the connection instead of answering breaks whatever the test
    was checking. A stale pooled connection is not this: it is retried once on
    a fresh connection first (:mod:`conformance.wire.connections`).
    """

    def __init__(self, request: RecordedRequest, cause: BaseException) -> None:
        self.request = request
        self.cause = cause
        what = ("the connection could not be made" if isinstance(cause, httpx.ConnectError)
                else "the SUT closed or reset the connection before answering")  # fmt: skip
        super().__init__(redact(
            f"no response to {request.method} {request.url}: {what} ({type(cause).__name__}: {cause})\n"
            f"  Reproduce: {to_curl(request)}"
        ))


class ClientTimeout(Inconclusive):
    """The harness stopped waiting for an answer: on a loaded client machine that proves nothing about the SUT."""

    def __init__(self, request: RecordedRequest, cause: BaseException, seconds: float | None) -> None:
        self.request = request
        self.cause = cause
        bound = f" within {seconds:g} s" if seconds else ""
        super().__init__(redact(f"no answer to {request.method} {request.url}{bound} ({type(cause).__name__}): "
                                "the client gave up waiting, which says nothing about the SUT on a loaded machine"))


class Recorder:
    """The recent exchanges of the running test, for its failure report. Thread-safe."""

    def __init__(self, keep: int = KEEP_PER_TEST) -> None:
        self._lock = threading.Lock()
        self._recent: deque[Exchange | TransportFailure | ClientTimeout] = deque(maxlen=keep)
        self.total = 0

    def begin(self) -> None:
        """Forget the previous test's exchanges."""
        with self._lock:
            self._recent.clear()

    def add(self, entry: Exchange | TransportFailure | ClientTimeout) -> None:
        with self._lock:
            self._recent.append(entry)
            self.total += 1

    def recent(self) -> list[Exchange | TransportFailure | ClientTimeout]:
        with self._lock:
            return list(self._recent)

    def render(self, last: int | None = None) -> str:
        """The recent exchanges (the ``last`` ones, when given) as text, secrets masked, oldest first."""
        entries = self.recent()[-last:] if last else self.recent()
        return redact("\n\n".join(render_entry(entry) for entry in entries))


def render_entry(entry: Exchange | TransportFailure | ClientTimeout) -> str:
    if isinstance(entry, (TransportFailure, ClientTimeout)):
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
    """Sync HTTP client for one target; see the module docstring.

    ``local_address`` sends from another loopback address (its own per-IP
    rate-limit budget); ``pacer`` is shared by every client of the run, so
    clients sending from the same address wait in the same queue.
    """

    def __init__(
        self,
        base_url: str,
        profile: Profile,
        *,
        recorder: Recorder | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        local_address: str | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.recorder = recorder or Recorder()
        self.local_address = local_address
        self.pacer = pacer if pacer is not None else Pacer(profile)
        self._rules = transport is None
        if transport is None:
            transport = ConnectionRules(lambda: httpx.HTTPTransport(local_address=local_address))
        self._transport = transport
        self._timeout = timeout
        # trust_env=False: proxy variables must never divert requests meant for the target.
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, transport=transport)
        self._children: list[ApiClient] = []
        self._limited_routes = [
            (op.method, _route_pattern(op.path), name)
            for name, op in profile.operations.items() if profile.rate_limits.of(name) is not None
        ]  # fmt: skip

    def with_source(self, local_address: str | None, *, base_url: str | None = None) -> ApiClient:
        """Another client for the target (or ``base_url``) and recorder, sending from ``local_address``, paced by
        the same pacer."""
        child = ApiClient(base_url or self.base_url, self.profile, recorder=self.recorder, timeout=self._timeout,
                          local_address=local_address, pacer=self.pacer)  # fmt: skip
        self._children.append(child)
        return child

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
        recorded = RecordedRequest(request.method, str(request.url), _headers_of(request), b"", chunked=True)
        return self._send(request, recorded, chunked_body=sent)

    def record(self, exchange: Exchange) -> Exchange:
        """Add an exchange made with another client (e.g. a concurrent burst) to the failure report."""
        self.recorder.add(exchange)
        return exchange

    def observations(self) -> list[str]:
        """What the connection handling noticed about the SUT since the last call (not verdicts)."""
        return self._transport.observations() if isinstance(self._transport, ConnectionRules) else []

    def close(self) -> None:
        """Close this client and those made from it with :meth:`with_source`."""
        for child in self._children:
            child.close()
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

    def _limited_operation(self, request: httpx.Request) -> str | None:
        path = request.url.path
        return next((name for method, pattern, name in self._limited_routes
                     if method == request.method and pattern.fullmatch(path)), None)  # fmt: skip

    def _send(
        self, request: httpx.Request, recorded: RecordedRequest, chunked_body: bytearray | None = None
    ) -> Exchange:
        self.pacer.wait_turn(self._limited_operation(request), self.local_address or "default")
        usage.count("requests")
        try:
            response = self._http.send(request)
            response.read()
        except httpx.TransportError as exc:
            if chunked_body is not None:
                recorded = _with_body(recorded, chunked_body)
            failure: TransportFailure | ClientTimeout
            if isinstance(exc, httpx.TimeoutException):
                failure = ClientTimeout(recorded, exc, _read_timeout(self._timeout))
            else:
                failure = TransportFailure(recorded, exc)
            self.recorder.add(failure)
            raise failure from None
        if response.extensions.get(RETRIED_EXTENSION):
            usage.count("retried_requests")
        if chunked_body is not None:
            recorded = _with_body(recorded, chunked_body)
        exchange = Exchange(recorded, Exchange.from_httpx(response).response)
        self.recorder.add(exchange)
        return exchange


def _headers_of(request: httpx.Request) -> Headers:
    return Headers(request.headers.multi_items())


def _with_body(recorded: RecordedRequest, body: bytearray) -> RecordedRequest:
    return RecordedRequest(recorded.method, recorded.url, recorded.headers, bytes(body), chunked=recorded.chunked)


def _route_pattern(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)))


def _read_timeout(timeout: httpx.Timeout | float) -> float | None:
    return timeout.read if isinstance(timeout, httpx.Timeout) else timeout
