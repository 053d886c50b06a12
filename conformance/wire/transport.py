"""The one composed httpx transport: every request the harness sends goes through these layers.

Outermost first (httpx composes behaviour as ``BaseTransport.handle_request``
wrappers, and so do we)::

    PacedTransport        waits its turn when the operation is rate limited (conformance.wire.pacing)
    RecordingTransport    stamps start and duration, reads the answer, records an Exchange or a NoResponse
    ConnectionRules       never reuses a connection after a 5xx or a close; retries once after a stale one;
                          counts every attempt on the network (conformance.wire.connections, .usage)
    httpx.HTTPTransport   one connection pool, sending from the chosen source address

:func:`compose` builds it; :mod:`conformance.wire.factory` hands out clients over it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import cast

import httpx

from conformance.exchange import Exchange, Headers, NoResponse, RecordedRequest, Timing
from conformance.profile import Profile
from conformance.wire import usage
from conformance.wire.connections import RETRIED_EXTENSION, ConnectionRules
from conformance.wire.pacing import Pacer
from conformance.wire.recording import Recorder
from conformance.wire.target_watch import WATCH

#: Where the recording layer leaves its record on the request, for the client that turns a failure into words.
ATTEMPT_EXTENSION = "conformance_attempt"
#: A request extension: a ``time.monotonic()`` by which the whole answer must have arrived (a server trickling its
#: body never trips a read timeout between chunks).
DEADLINE_EXTENSION = "conformance_deadline"


#: The operation whose 2xx answers are accounts made by the run.
REGISTER = "register"


class BodyPastDeadline(httpx.ReadTimeout):
    """The answer started, but its body was still arriving at the request's deadline."""


class Layer(httpx.BaseTransport):
    """A wrapper around the next transport down; closing and observations pass through to the bottom."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def close(self) -> None:
        self._inner.close()

    def observations(self) -> list[str]:
        """What the connection rules noticed about the SUT since the last call (not verdicts)."""
        inner = self._inner
        return inner.observations() if isinstance(inner, (Layer, ConnectionRules)) else []


class RecordingTransport(Layer):
    """Reads every answer whole, times it, and records it (or its absence) in ``recorder``."""

    def __init__(self, inner: httpx.BaseTransport, recorder: Recorder | None) -> None:
        super().__init__(inner)
        self._recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = _capture_body(request)
        started, clock = time.time(), time.monotonic()
        try:
            response = self._inner.handle_request(request)
            raw = _read(response, request.extensions.get(DEADLINE_EXTENSION))
        except httpx.TransportError as exc:
            timing = Timing(started, time.monotonic() - clock)
            timed_out = isinstance(exc, httpx.TimeoutException)
            attempt = NoResponse(
                _recorded(request, sent), f"{type(exc).__name__}: {exc}", timed_out=timed_out, timing=timing
            )
            request.extensions[ATTEMPT_EXTENSION] = attempt
            if self._recorder is not None:
                self._recorder.add(attempt)
            if not timed_out:  # a loaded client giving up says nothing about the target being there
                WATCH.unanswered(
                    str(request.url),
                    f"{request.method} {request.url.path}",
                    started,
                    refused=isinstance(exc, httpx.ConnectError),
                )
            raise
        answer = httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=response.extensions,
            request=request,
        )
        answer.read()  # decoded once here; the client's own read() finds it done
        timing = Timing(started, time.monotonic() - clock, retried=bool(response.extensions.get(RETRIED_EXTENSION)))
        if timing.retried:
            usage.count("retried_requests")
        WATCH.answered(str(request.url), f"{request.method} {request.url.path}")
        exchange = Exchange.from_httpx(answer, request=_recorded(request, sent), timing=timing)
        request.extensions[ATTEMPT_EXTENSION] = exchange
        if self._recorder is not None:
            self._recorder.add(exchange)
        return answer


class PacedTransport(Layer):
    """Waits its turn before a rate-limited operation of the profile (per operation and source address); with
    ``wait=False`` (a burst meant to meet the limit) it only counts the request, so later paced ones wait for it.

    It also counts the accounts the run made: every registration answered 2xx, whoever sent it (the account
    factory, a probe registering by hand), since a staging team counts what the run left in their database.
    """

    def __init__(
        self, inner: httpx.BaseTransport, pacer: Pacer, profile: Profile, source: str | None, *, wait: bool = True
    ) -> None:
        super().__init__(inner)
        self._pacer = pacer
        self._wait = wait
        self._source = source or "default"
        self._routes = [
            (op.method, route_pattern(op.path), name)
            for name, op in profile.operations.items()
            if profile.rate_limits.of(name) is not None or name == REGISTER
        ]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        operation = next(
            (name for method, pattern, name in self._routes if method == request.method and pattern.fullmatch(path)),
            None,
        )
        if self._wait:
            self._pacer.wait_turn(operation, self._source)
        else:
            self._pacer.spent(operation, self._source)
        response = self._inner.handle_request(request)
        if operation == REGISTER and 200 <= response.status_code < 300:
            usage.count("accounts")
        return response


def compose(
    *,
    source: str | None = None,
    recorder: Recorder | None = None,
    pacer: Pacer | None = None,
    profile: Profile | None = None,
    limits: httpx.Limits | None = None,
    base: Callable[[], httpx.BaseTransport] | None = None,
    wait: bool = True,
) -> httpx.BaseTransport:
    """The layers of the module docstring, for one source address (``None``: the machine's own).

    ``base`` replaces the network transport (tests hand in ``httpx.MockTransport``); ``pacer`` with ``profile``
    adds the pacing layer; ``recorder`` is where the attempts go (``None``: nowhere).
    """
    make = base or (lambda: httpx.HTTPTransport(local_address=source, limits=limits or httpx.Limits()))
    transport: httpx.BaseTransport = RecordingTransport(
        ConnectionRules(make, count=lambda: usage.count("requests")),  # type: ignore[arg-type]
        recorder,
    )
    if pacer is not None and profile is not None:
        transport = PacedTransport(transport, pacer, profile, source, wait=wait)
    return transport


def attempt_of(request: httpx.Request) -> Exchange | NoResponse | None:
    """What the recording layer made of ``request`` (``None`` when it never got there)."""
    return request.extensions.get(ATTEMPT_EXTENSION)


def exchange_of(response: httpx.Response) -> Exchange:
    """The exchange the recording layer made of ``response`` (one object, recorded once, with its timing)."""
    attempt = attempt_of(response.request)
    if not isinstance(attempt, Exchange):
        raise TypeError("this response did not come through the wire (conformance.wire.factory.client)")
    return attempt


def route_pattern(path: str) -> re.Pattern[str]:
    """A profile path (``/api/patients/{id}``) as a pattern matching its concrete paths."""
    return re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)))


def _read(response: httpx.Response, deadline: float | None) -> bytes:
    """The raw body, whole (within ``deadline`` when given); the connection goes back to its pool."""
    chunks = []
    try:
        for chunk in cast(httpx.SyncByteStream, response.stream):
            chunks.append(chunk)
            if deadline is not None and time.monotonic() > deadline:
                raise BodyPastDeadline("the body was still arriving at the deadline")
    finally:
        response.close()
    return b"".join(chunks)


def _capture_body(request: httpx.Request) -> bytearray | None:
    """For a streamed (chunked) body, a buffer that fills with what is actually sent; ``None`` for bytes."""
    if isinstance(request.stream, httpx.ByteStream):
        return None
    sent = bytearray()
    inner = request.stream

    class Captured(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            for chunk in inner:  # type: ignore[union-attr]
                sent.extend(chunk)
                yield chunk

    request.stream = Captured()
    return sent


def _recorded(request: httpx.Request, sent: bytearray | None) -> RecordedRequest:
    chunked = "content-length" not in request.headers and "transfer-encoding" in request.headers
    body = bytes(sent) if sent is not None else request.content
    return RecordedRequest(
        request.method, str(request.url), Headers(request.headers.multi_items()), body, chunked=chunked
    )
