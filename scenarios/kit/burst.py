"""Concurrent bursts of requests, recorded as exchanges.

A race needs many requests in flight at once. :func:`send_concurrently` sends
them from threads, released together, on wire clients (one per source
address, :mod:`conformance.wire.factory`: counted, recorded, and with the
connection rules that keep one request's closed connection from being blamed
on the next) whose connections are opened (warmed up) before the burst, so that
the requests reach the SUT together instead of trickling in behind TCP handshakes.
A request may name its own loopback source address (``Planned.source``): one
burst on one account can then come from several addresses at once, each within
the per-IP limit the profile declares. Everything is bounded: the number of
requests by the caller, the time by ``timeout`` for the whole burst.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive
from conformance.profile import Profile
from conformance.wire import factory, pacing
from conformance.wire.client import failure_of
from conformance.wire.transport import exchange_of

#: Seconds for one whole burst, warm-up included.
BURST_TIMEOUT = 60.0
REQUEST_TIMEOUT = factory.Purpose.BURST.value
#: Threads of one burst at the most (each planned request waits for its delay in a thread of its own).
MAX_THREADS = 128


@dataclass(frozen=True)
class Planned:
    """One request of a burst; ``delay`` (seconds) is waited after the start signal.

    ``source``: the loopback address to send from, ``None`` for the burst's ``local_address``.
    """

    method: str
    path: str
    data: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None
    delay: float = 0.0
    source: str | None = None


def login_request(
    profile: Profile, email: str, password: str, *, delay: float = 0.0, source: str | None = None
) -> Planned:
    """The profile's ``login`` with these credentials, in its body style and field names."""
    login = profile.login
    return Planned(
        login.operation.method, login.operation.path, delay=delay, source=source, **login.body(email, password)
    )


def operation_request(
    profile: Profile,
    operation: str,
    *,
    token: str | None = None,
    json: Any = None,
    params: Mapping[str, Any] | None = None,
    path_params: Mapping[str, Any] | None = None,
    delay: float = 0.0,
) -> Planned:
    """A logical operation of the profile as a planned request, with a bearer token when given."""
    op = profile.operation(operation)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Planned(
        op.method, op.url_path(**(path_params or {})), json=json, headers=headers, params=params, delay=delay
    )


def send_concurrently(
    base_url: str,
    planned: Sequence[Planned],
    *,
    concurrency: int,
    warm_path: str | None = None,
    local_address: str | None = None,
    timeout: float = BURST_TIMEOUT,
) -> list[Exchange]:
    """Send ``planned`` with at most ``concurrency`` in flight; the exchanges in the order of ``planned``.

    ``warm_path`` (an unguarded, unlimited path such as health) is requested
    ``concurrency`` times at once first, to open the connections. A request
    without a response raises :class:`~conformance.wire.client.TransportFailure`.
    """
    concurrency = max(1, min(concurrency, len(planned) or 1))
    by_source: dict[str | None, int] = {}
    for request in planned:
        source = request.source or local_address
        by_source[source] = by_source.get(source, 0) + 1
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        clients: dict[str | None, httpx.Client] = {}
        for source, count in by_source.items():
            size = min(concurrency, count)
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            # Counted into the run's pacer, never waiting: from the run's own address (single source) a later
            # paced request then waits for the window this burst spent.
            pacer = pacing.RUN_PACER
            clients[source] = stack.enter_context(
                factory.client(
                    factory.Purpose.BURST,
                    base_url=base_url,
                    source=source,
                    limits=limits,
                    pacer=pacer,
                    profile=pacer.profile if pacer is not None else None,
                    wait=False,
                )
            )
        pool = stack.enter_context(ThreadPoolExecutor(min(len(planned) or 1, MAX_THREADS)))
        if warm_path is not None and concurrency > 1:
            warming = [
                pool.submit(_quietly, client.get, warm_path)
                for source, client in clients.items()
                for _ in range(min(concurrency, by_source[source]))
            ]
            wait(warming, timeout=max(0.0, deadline - time.monotonic()))
        slots = threading.BoundedSemaphore(concurrency)
        start = threading.Event()

        def send(request: Planned) -> Exchange:
            client = clients[request.source or local_address]
            start.wait()
            if request.delay:
                time.sleep(request.delay)
            with slots:
                built = client.build_request(
                    request.method,
                    request.path,
                    data=request.data,
                    json=request.json,
                    headers=dict(request.headers),
                    params=request.params,
                )
                try:
                    return exchange_of(client.send(built))
                except httpx.TransportError as exc:
                    raise failure_of(exc, built, REQUEST_TIMEOUT) from None

        futures = [pool.submit(send, request) for request in planned]
        start.set()
        done, pending = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        if pending:
            for future in pending:
                future.cancel()
            raise Inconclusive(
                f"{len(pending)} of {len(planned)} requests of a burst had no answer within "
                f"{timeout:g} s: on a loaded machine that says nothing about the SUT"
            )
        return [future.result() for future in futures]


def _quietly(send: Any, path: str) -> None:
    """A warming request: its answer does not matter, only the connection it leaves open."""
    with contextlib.suppress(httpx.HTTPError):
        send(path)
