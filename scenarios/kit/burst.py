"""Concurrent bursts of requests, recorded as exchanges.

The suites' ``api`` client is synchronous; a race needs many requests in
flight at once. :func:`send_concurrently` runs them on ``httpx.AsyncClient`` instances
whose connections are opened (warmed up) before the burst, so that the
requests reach the SUT together instead of trickling in behind TCP handshakes.
A request may name its own loopback source address (``Planned.source``): one
burst on one account can then come from several addresses at once, each within
the per-IP limit the profile declares. Everything is bounded: the number of
requests by the caller, the time by ``timeout`` for the whole burst.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.wire import usage
from conformance.wire.client import ClientTimeout, TransportFailure
from conformance.exchange import Exchange, Headers, RecordedRequest
from conformance.profile import Profile

#: Seconds for one whole burst, warm-up included.
BURST_TIMEOUT = 60.0
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=30.0)


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


def login_request(profile: Profile, email: str, password: str, *, delay: float = 0.0,
                  source: str | None = None) -> Planned:  # fmt: skip
    """The profile's ``login`` with these credentials, in its body style and field names."""
    login = profile.login
    return Planned(login.operation.method, login.operation.path, delay=delay, source=source,
                   **login.body(email, password))  # fmt: skip


def operation_request(profile: Profile, operation: str, *, token: str | None = None, json: Any = None,
                      params: Mapping[str, Any] | None = None, path_params: Mapping[str, Any] | None = None,
                      delay: float = 0.0) -> Planned:  # fmt: skip
    """A logical operation of the profile as a planned request, with a bearer token when given."""
    op = profile.operation(operation)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Planned(op.method, op.url_path(**(path_params or {})), json=json, headers=headers, params=params,
                   delay=delay)  # fmt: skip


def send_concurrently(base_url: str, planned: Sequence[Planned], *, concurrency: int, warm_path: str | None = None,
                      local_address: str | None = None, timeout: float = BURST_TIMEOUT) -> list[Exchange]:  # fmt: skip
    """Send ``planned`` with at most ``concurrency`` in flight; the exchanges in the order of ``planned``.

    ``warm_path`` (an unguarded, unlimited path such as health) is requested
    ``concurrency`` times at once first, to open the connections. A request
    without a response raises :class:`~conformance.wire.client.TransportFailure`.
    """
    return asyncio.run(asyncio.wait_for(
        _burst(base_url, planned, concurrency, warm_path, local_address), timeout=timeout))  # fmt: skip


async def _burst(base_url: str, planned: Sequence[Planned], concurrency: int, warm_path: str | None,
                 local_address: str | None) -> list[Exchange]:  # fmt: skip
    concurrency = max(1, min(concurrency, len(planned) or 1))
    by_source: dict[str | None, int] = {}
    for request in planned:
        source = request.source or local_address
        by_source[source] = by_source.get(source, 0) + 1
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for source, count in by_source.items():
            size = min(concurrency, count)
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            transport = httpx.AsyncHTTPTransport(local_address=source, limits=limits)
            clients[source] = await stack.enter_async_context(httpx.AsyncClient(
                base_url=base_url, transport=transport, timeout=REQUEST_TIMEOUT, trust_env=False,
                follow_redirects=False, event_hooks={"request": [_count]}))  # fmt: skip
        if warm_path is not None and concurrency > 1:
            await asyncio.gather(*(client.get(warm_path) for source, client in clients.items()
                                   for _ in range(min(concurrency, by_source[source]))),
                                 return_exceptions=True)  # fmt: skip
        slots = asyncio.Semaphore(concurrency)
        start = asyncio.Event()

        async def send(request: Planned) -> Exchange:
            client = clients[request.source or local_address]
            await start.wait()
            if request.delay:
                await asyncio.sleep(request.delay)
            async with slots:
                built = client.build_request(request.method, request.path, data=request.data, json=request.json,
                                             headers=dict(request.headers), params=request.params)  # fmt: skip
                try:
                    response = await client.send(built)
                    await response.aread()
                except httpx.TransportError as exc:
                    recorded = RecordedRequest(built.method, str(built.url), Headers(built.headers.multi_items()),
                                               built.content)  # fmt: skip
                    if isinstance(exc, httpx.TimeoutException):  # the loaded client gave up: proves nothing
                        raise ClientTimeout(recorded, exc, REQUEST_TIMEOUT.read) from None
                    raise TransportFailure(recorded, exc) from None
                return Exchange.from_httpx(response)

        tasks = [asyncio.ensure_future(send(request)) for request in planned]
        await asyncio.sleep(0)  # let every task reach the start line
        start.set()
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()


async def _count(request: httpx.Request) -> None:
    usage.count("requests")  # every request of a burst is in the run's figures, the warming ones too
