"""Connections to servers the harness did not write: never blame request N+1 for what request N did.

A pooled keep-alive connection may be closed by the server at any moment.
uvicorn, for one, closes it right after the 500 of an unhandled exception,
without a ``Connection: close`` header; a client that reuses it gets a reset
on its *next* request, and a harness that reports that reset blames the wrong
request. So :class:`ConnectionRules`, an httpx transport:

- after a 5xx, or any response that does not promise keep-alive, does not
  reuse the connection (the pool is retired: its requests in flight finish,
  no new request goes there);
- retries a request once on a fresh connection when it failed on a *reused*
  connection before any byte of the response arrived (RFC 9112 §9.3.1: the
  server closed it while idle, or right after another request's answer, and
  the request was never processed); a failure on a fresh connection is the
  SUT's, reported against the request that suffered it. Whether the request
  went out on a reused connection is read from httpcore's trace of that very
  request (no ``connect_tcp`` event: the pool handed it a connection that had
  served before), never guessed from the pool beforehand: with 30 requests in
  flight, the pool's state before a request is sent says nothing about the
  connection it will get;
- notes (an observation, not a verdict) when the SUT closed a kept-alive
  connection after an error without saying so.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import cast

import httpcore
import httpx

#: Transport errors that mean "no byte of the response arrived" (a stale connection, when it was reused).
BEFORE_RESPONSE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
#: Seconds after an error answer within which a server closing the connection is taken to have closed it for the
#: error (uvicorn's keep-alive timeout, 5 s, closes idle connections later for no reason worth reporting).
CLOSE_NOTICE_SECONDS = 1.5
#: Header names on retried requests, so the exchange (and its report) says it was retried.
RETRIED_EXTENSION = "conformance_retried"


class ConnectionRules(httpx.BaseTransport):
    """See the module docstring. ``make`` builds a fresh ``httpx.HTTPTransport`` (one connection pool)."""

    def __init__(self, make: Callable[[], httpx.HTTPTransport], *, count: Callable[[], None] | None = None) -> None:
        """``count`` is called for every attempt that goes out on the network (a retry is an attempt too)."""
        self._make = make
        self._count = count or (lambda: None)
        self._lock = threading.Lock()
        self._current = make()
        self._retired: list[httpx.HTTPTransport] = []
        self._watched: list[tuple[httpx.HTTPTransport, str, float]] = []  # pools retired after an error answer
        self._observations: list[str] = []
        self._observed: set[str] = set()

    # -- httpx.BaseTransport -----------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._look_at_retired_pools()
        transport = self._current
        connected = _trace_connects(request)
        self._count()
        try:
            response = transport.handle_request(request)
        except BEFORE_RESPONSE:
            if connected() or not _replayable(request):
                raise  # a fresh connection (or a body that cannot be sent again): the SUT's doing
            self._retire(transport)
            response = self._send_on_fresh_connection(request)  # a second failure is the SUT's
            response.extensions[RETRIED_EXTENSION] = True
            return response
        if response.status_code >= 500 or not _promises_keep_alive(response):
            self._retire(
                transport,
                after=f"{request.method} {request.url.path} answered {response.status_code}"
                if "close" not in response.headers.get("connection", "").lower()
                else None,
            )
        return response

    def _send_on_fresh_connection(self, request: httpx.Request) -> httpx.Response:
        """``request`` on a connection opened for it alone, read and closed (a pool could hand out another
        stale one)."""
        once = self._make()
        self._count()
        try:
            response = once.handle_request(request)
            body = b"".join(cast(httpx.SyncByteStream, response.stream))
            response.close()
        finally:
            once.close()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        with self._lock:
            pools = [self._current, *self._retired]
            self._retired.clear()
        for pool in pools:
            pool.close()

    # -- observations ------------------------------------------------------------
    def observations(self) -> list[str]:
        """Observations made since the last call (each said once per run)."""
        self._look_at_retired_pools()
        with self._lock:
            found, self._observations = self._observations, []
        return found

    # -- internals ---------------------------------------------------------------
    def _retire(self, transport: httpx.HTTPTransport, *, after: str | None = None) -> httpx.HTTPTransport:
        """Stop sending to ``transport``'s pool; the fresh pool that replaces it (once per pool)."""
        with self._lock:
            if self._current is transport:
                self._current = self._make()
                self._retired.append(transport)
                if after is not None:
                    self._watched.append((transport, after, time.monotonic()))
                    self._watch_later()
            return self._current

    def _look_at_retired_pools(self) -> None:
        """Did the server close a connection it had kept alive, right after an error answer? Say so once.

        Only within :data:`CLOSE_NOTICE_SECONDS` of the answer: later, the server's
        keep-alive timeout closes idle connections anyway, which says nothing.
        """
        now = time.monotonic()
        with self._lock:
            watched, self._watched = self._watched, []
        if not watched:
            return
        current = _pool(self._current)
        if current is not None and any(c.is_idle() and _closed_by_peer(c) for c in current.connections):
            return  # the server closed other connections too (a restart, a keep-alive timeout): not the error's doing
        keep = []
        for transport, after, since in watched:
            pool = _pool(transport)
            idle = [c for c in pool.connections if c.is_idle()] if pool is not None else []
            if any(_closed_by_peer(c) for c in idle):
                self._observe(
                    f"the SUT closed a kept-alive connection right after {after}, without "
                    "'Connection: close'; the harness did not reuse it (a client that does gets a reset "
                    "on its next request)"
                )
            elif idle and now - since < CLOSE_NOTICE_SECONDS:
                keep.append((transport, after, since))
        with self._lock:
            self._watched = keep + self._watched

    def _watch_later(self) -> None:
        """Look again once the server had time to close (a traceback being logged first, say)."""
        for delay in (0.2, CLOSE_NOTICE_SECONDS * 0.9):
            timer = threading.Timer(delay, self._look_at_retired_pools)
            timer.daemon = True
            timer.start()

    def _observe(self, text: str) -> None:
        key = text.split(" answered ")[0] if " answered " in text else text
        with self._lock:
            if key not in self._observed:
                self._observed.add(key)
                self._observations.append(text)


def _pool(transport: httpx.HTTPTransport) -> httpcore.ConnectionPool | None:
    return getattr(transport, "_pool", None)


def _closed_by_peer(connection: object) -> bool:
    """Whether the server has closed this idle pooled connection (its socket reads end-of-file).

    Not ``has_expired()``: that is also true when the client's own keep-alive
    expiry passed, which says nothing about the server. Only looked at, never
    read from and its mode never changed: another thread may take the
    connection from the pool meanwhile. (A peek through the socket object
    itself either switches its blocking mode under that thread's read, which
    left it waiting for the server's keep-alive timeout, or waits out the
    socket's own timeout.)
    """
    inner = getattr(connection, "_connection", None)
    stream = getattr(inner, "_network_stream", None)
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is None or sock.fileno() < 0:
        return sock is not None
    if hasattr(select, "POLLRDHUP"):  # Linux: the peer's FIN or a reset, without reading a byte
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLRDHUP)
        return any(events & (select.POLLRDHUP | select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))
    probe = socket.socket(fileno=os.dup(sock.fileno()))  # elsewhere: a peek through a duplicate, never waiting
    try:
        return probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # open, nothing to read: not closed
    except OSError:
        return True  # reset
    finally:
        probe.close()  # the duplicate only: the pooled connection stays open


def _trace_connects(request: httpx.Request) -> Callable[[], bool]:
    """Watch ``request``'s own httpcore trace; the returned function says whether a connection was opened for it.

    httpcore reports ``connection.connect_tcp`` (or ``connect_unix_socket``) on the trace of the request that
    opens a connection; a request handed a pooled connection that served before sees none.
    """
    opened = threading.Event()
    previous = request.extensions.get("trace")

    def trace(name: str, info: dict[str, object]) -> None:
        if name.startswith("connection.connect_"):
            opened.set()
        if previous is not None:
            previous(name, info)

    request.extensions["trace"] = trace
    return opened.is_set


def _replayable(request: httpx.Request) -> bool:
    """A request whose body can be sent again (bytes, not a one-shot generator such as a chunked body)."""
    return isinstance(request.stream, httpx.ByteStream)


def _promises_keep_alive(response: httpx.Response) -> bool:
    """HTTP/1.1 keeps alive unless told otherwise; HTTP/1.0 only when it says so."""
    connection = response.headers.get("connection", "").lower()
    if "close" in connection:
        return False
    if response.http_version == "HTTP/1.0":
        return "keep-alive" in connection
    return True
