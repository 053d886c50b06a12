"""The only place the harness makes an HTTP client: :func:`client`, by purpose, over the one composed transport.

Each purpose has its timeouts here, once, and the same rules: no proxy
(``trust_env=False``: proxy variables must never divert requests meant for
the target), no redirects followed, every attempt counted and recorded. The
suites' :class:`~conformance.wire.client.ApiClient`, the scenarios' bursts,
health polls and probes, account provisioning (the load runner's too), the
fuzzer and the benchmark lab all get their clients here.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import httpx

from conformance.profile import Profile
from conformance.wire.pacing import Pacer
from conformance.wire.recording import RUN_RECORDER, Recorder
from conformance.wire.transport import compose


class Purpose(Enum):
    """Why a client is made; each has its timeouts (seconds: generous for a loaded 2-core machine, always finite)."""

    #: The suites' requests (ApiClient) and provisioning.
    API = httpx.Timeout(15.0, connect=5.0, pool=10.0)
    #: Concurrent bursts: many requests in flight, each may queue behind the others at the SUT.
    BURST = httpx.Timeout(30.0, connect=5.0, pool=30.0)
    #: The fuzzer's cases and extreme values.
    FUZZ = httpx.Timeout(10.0, connect=5.0, pool=10.0)
    #: Readiness polls and the target's preflight; the bound is the caller's (``timeout=``).
    HEALTH = httpx.Timeout(2.0)
    #: The benchmark lab's control requests.
    BENCH = httpx.Timeout(30.0, connect=5.0, pool=30.0)


def client(
    purpose: Purpose,
    *,
    base_url: str = "",
    source: str | None = None,
    timeout: httpx.Timeout | float | None = None,
    recorder: Recorder | None = RUN_RECORDER,
    pacer: Pacer | None = None,
    profile: Profile | None = None,
    limits: httpx.Limits | None = None,
    base: Callable[[], httpx.BaseTransport] | None = None,
    wait: bool = True,
) -> httpx.Client:
    """An ``httpx.Client`` for ``purpose`` over :func:`~conformance.wire.transport.compose`'s transport.

    ``source``: the loopback address to send from; ``pacer`` and ``profile``: pace rate-limited operations;
    ``recorder``: where its attempts are recorded (the run's by default); ``base``: a stand-in network (tests);
    ``wait=False``: the pacer only counts what is sent (bursts that exist to meet a limit).
    """
    transport = compose(
        source=source, recorder=recorder, pacer=pacer, profile=profile, limits=limits, base=base, wait=wait
    )
    return httpx.Client(
        base_url=base_url,
        transport=transport,
        timeout=timeout or purpose.value,
        follow_redirects=False,
        trust_env=False,
    )
