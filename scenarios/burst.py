"""Concurrent bursts of requests, recorded as exchanges.

The suites' ``api`` client is synchronous; a race needs many requests in
flight at once. :func:`send_concurrently` runs them on an ``httpx.AsyncClient``
whose connections are opened (warmed up) before the burst, so that the
requests reach the SUT together instead of trickling in behind TCP handshakes.
Everything is bounded: the number of requests by the caller, the time by
``timeout`` for the whole burst.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.client import TransportFailure
from conformance.exchange import Exchange, Headers, RecordedRequest
from conformance.profile import Profile

#: Seconds for one whole burst, warm-up included.
BURST_TIMEOUT = 60.0
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=30.0)


@dataclass(frozen=True)
class Planned:
    """One request of a burst; ``delay`` (seconds) is waited after the start signal."""

    method: str
    path: str
    data: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None
    delay: float = 0.0


def login_request(profile: Profile, email: str, password: str, *, delay: float = 0.0) -> Planned:
    """The profile's ``login`` with these credentials, in its body style and field names."""
    login = profile.login
    return Planned(login.operation.method, login.operation.path, delay=delay, **login.body(email, password))


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
    without a response raises :class:`~conformance.client.TransportFailure`.
    """
    return asyncio.run(asyncio.wait_for(
        _burst(base_url, planned, concurrency, warm_path, local_address), timeout=timeout))  # fmt: skip


async def _burst(base_url: str, planned: Sequence[Planned], concurrency: int, warm_path: str | None,
                 local_address: str | None) -> list[Exchange]:  # fmt: skip
    concurrency = max(1, min(concurrency, len(planned) or 1))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = httpx.AsyncHTTPTransport(local_address=local_address, limits=limits)
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=REQUEST_TIMEOUT,
                                 trust_env=False, follow_redirects=False) as client:  # fmt: skip
        if warm_path is not None and concurrency > 1:
            await asyncio.gather(*(client.get(warm_path) for _ in range(concurrency)), return_exceptions=True)
        slots = asyncio.Semaphore(concurrency)
        start = asyncio.Event()

        async def send(request: Planned) -> Exchange:
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
