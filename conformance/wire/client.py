"""The suites' HTTP client: logical operations in, recorded exchanges out.

Every request of the suites goes through :class:`ApiClient`, which resolves a
logical operation of the profile to a method and path and sends it on a
client of :mod:`conformance.wire.factory` (pacing, connection rules, counting
and recording are the composed transport's, :mod:`conformance.wire.transport`),
and returns an :class:`~conformance.exchange.Exchange`.

A request that gets no response raises: :class:`TransportFailure` (a test
failure that names the request) when the SUT closed or reset the connection,
:class:`ClientTimeout` (inconclusive) when the harness gave up waiting — on a
loaded machine that says nothing about the SUT. Never a silent ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from conformance.exchange import Exchange, RecordedRequest, to_curl
from conformance.outcomes import Inconclusive
from conformance.profile import Profile
from conformance.redaction import redact
from conformance.wire import factory
from conformance.wire.pacing import Pacer
from conformance.wire.recording import KEEP_PER_TEST, Recorder, render_attempt
from conformance.wire.transport import Layer, attempt_of

__all__ = [
    "KEEP_PER_TEST",
    "ApiClient",
    "ClientTimeout",
    "Recorder",
    "TransportFailure",
    "failure_of",
    "render_attempt",
]

#: Seconds. Generous for a 2-core machine under load, but always finite.
DEFAULT_TIMEOUT = factory.Purpose.API.value


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
        what = (
            "the connection could not be made"
            if isinstance(cause, httpx.ConnectError)
            else "the SUT closed or reset the connection before answering"
        )
        super().__init__(
            redact(
                f"no response to {request.method} {request.url}: {what} ({type(cause).__name__}: {cause})\n"
                f"  Reproduce: {to_curl(request)}"
            )
        )


class ClientTimeout(Inconclusive):
    """The harness stopped waiting for an answer: on a loaded client machine that proves nothing about the SUT."""

    def __init__(self, request: RecordedRequest, cause: BaseException, seconds: float | None) -> None:
        self.request = request
        self.cause = cause
        bound = f" within {seconds:g} s" if seconds else ""
        super().__init__(
            redact(
                f"no answer to {request.method} {request.url}{bound} ({type(cause).__name__}): "
                "the client gave up waiting, which says nothing about the SUT on a loaded machine"
            )
        )


def failure_of(
    exc: httpx.TransportError, request: httpx.Request, timeout: httpx.Timeout | float | None = None
) -> TransportFailure | ClientTimeout:
    """The harness's word for a request that got no answer, from what the wire recorded of it."""
    attempt = attempt_of(request)
    recorded = attempt.request if attempt is not None else RecordedRequest(request.method, str(request.url))
    if isinstance(exc, httpx.TimeoutException):
        return ClientTimeout(recorded, exc, _read_timeout(timeout) if timeout is not None else None)
    return TransportFailure(recorded, exc)


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
        """``transport`` stands in for the network (tests: ``httpx.MockTransport``); the wire's layers wrap it."""
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.recorder = recorder or Recorder()
        self.local_address = local_address
        self.pacer = pacer if pacer is not None else Pacer(profile)
        self._base = (lambda: transport) if transport is not None else None
        self._timeout = timeout
        self._http = factory.client(
            factory.Purpose.API,
            source=local_address,
            timeout=timeout,
            recorder=self.recorder,
            pacer=self.pacer,
            profile=profile,
            base=self._base,
        )
        self._children: list[ApiClient] = []

    def with_source(self, local_address: str | None, *, base_url: str | None = None) -> ApiClient:
        """Another client for the target (or ``base_url``) and recorder, sending from ``local_address``, paced by
        the same pacer."""
        child = ApiClient(
            base_url or self.base_url,
            self.profile,
            recorder=self.recorder,
            timeout=self._timeout,
            local_address=local_address,
            pacer=self.pacer,
        )
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
            op.method,
            path,
            token=token,
            json=json,
            data=data,
            content=content,
            headers=headers,
            params=params,
            base_url=base_url,
        )

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
            method.upper(),
            self._url(path, base_url),
            json=json,
            data=data,
            content=content,
            headers=self._headers(headers, token),
            params=params,
        )
        return self._send(request)

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

        def body() -> Iterator[bytes]:
            yield from chunks

        request = self._http.build_request(
            method.upper(), self._url(path, base_url), content=body(), headers=self._headers(headers, token)
        )
        return self._send(request)

    def record(self, exchange: Exchange) -> Exchange:
        """Add an exchange to the failure report (one the wire recorded already is not added twice)."""
        self.recorder.add(exchange)
        return exchange

    def observations(self) -> list[str]:
        """What the connection handling noticed about the SUT since the last call (not verdicts)."""
        transport = self._http._transport
        return transport.observations() if isinstance(transport, Layer) else []

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

    def _send(self, request: httpx.Request) -> Exchange:
        try:
            self._http.send(request)
        except httpx.TransportError as exc:
            raise failure_of(exc, request, self._timeout) from None
        exchange = attempt_of(request)
        assert isinstance(exchange, Exchange), "the recording layer records every answer"
        return exchange


def _read_timeout(timeout: httpx.Timeout | float) -> float | None:
    return timeout.read if isinstance(timeout, httpx.Timeout) else timeout
