"""Loopback source addresses, so that a burst is not measured against another burst's rate limit.

The SUT's login and register rate limits count per client IP (contract §6);
the rate-limit burst, the fuzzer, the lockout and isolation scenarios send more
requests than one window allows, and the rest of the suite logs in from
127.0.0.1 too. When the target listens on an IPv4 loopback address, every
address of 127.0.0.0/8 reaches it, so each of them sends from an address of
its own (the profile's ``[sources]`` table allocates them), and with it gets a
rate-limit budget of its own. Elsewhere there is one address, and the suites
size their bursts to the limits the profile declares, or are *not run*.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from conformance.outcomes import NotRun
from conformance.profile import Sources


def loopback_ipv4(host: str) -> str | None:
    """The IPv4 loopback address ``host`` names (a literal, or a name like ``localhost``), else ``None``."""
    try:
        infos = socket.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    addresses = {str(info[4][0]) for info in infos}
    if addresses and all(ipaddress.ip_address(address).is_loopback for address in addresses):
        return sorted(addresses)[0]
    return None


def can_bind(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


_single_source = False


def use_single_source(flag: bool) -> None:
    """Single-source mode (``--single-source``): send from the machine's one address even to a loopback target,
    as every request of a staging run does (the run's setting: one run per process)."""
    global _single_source
    _single_source = flag


def single_source(base_url: str) -> bool:
    """Whether the run sends every request from one address: forced, or a target not on 127.0.0.0/8."""
    return _single_source or loopback_ipv4(urlsplit(base_url).hostname or "") is None


def reachable_from_other_sources(base_url: str) -> bool:
    """Whether requests to ``base_url`` can come from other loopback addresses (SUT on 127.0.0.0/8, not
    single-source mode)."""
    return not single_source(base_url)


def as_ipv4_literal(base_url: str) -> str:
    """``base_url`` with a loopback host name replaced by its IPv4 address (a name may also mean ::1,
    which an IPv4 source address cannot reach)."""
    parts = urlsplit(base_url)
    address = loopback_ipv4(parts.hostname or "")
    if address is None:
        return base_url
    netloc = f"{address}:{parts.port}" if parts.port else address
    return parts._replace(netloc=netloc).geturl()


def require_source(base_url: str, address: str, *, purpose: str, own: bool = False) -> str | None:
    """``address``, once it is usable for ``base_url``; ``NotRun`` saying why not, naming ``purpose``.

    ``own``: in single-source mode, the run's own address will do (``None``): the purpose is scheduled after every
    other use of the limit it exhausts (RATE-1's burst).
    """
    host = urlsplit(base_url).hostname or ""
    if own and single_source(base_url):
        return None
    if single_source(base_url) and loopback_ipv4(host) is not None:
        raise NotRun(
            f"{purpose} sends from a loopback address of its own (from the run's own address it would "
            "spend the per-IP limits of the run's other requests), and this is a single-source run",
            option="a run without --single-source",
        )
    if loopback_ipv4(host) is None:
        raise NotRun(
            f"{purpose} sends from a loopback address of its own (from the run's own address it would "
            f"spend the per-IP limits of the run's other requests), and {host} is not on 127.0.0.0/8",
            option="managed mode or a --base-url on 127.0.0.1",
        )
    if not can_bind(address):
        raise NotRun(
            f"this machine cannot send from {address} (only 127.0.0.1 is configured on its loopback)",
            option="a machine routing 127.0.0.0/8 to loopback (Linux does by default)",
        )
    return address


def client_from(base_url: str, address: str | None, *, timeout: httpx.Timeout | float) -> httpx.Client:
    """A wire client for ``base_url`` that sends from ``address``: unpaced (bursts exist to meet the limits), but
    counted into the run's pacer, so later paced requests from the same address wait for the window it spent."""
    from conformance.wire import factory, pacing

    pacer = pacing.RUN_PACER
    return factory.client(
        factory.Purpose.BURST,
        base_url=as_ipv4_literal(base_url),
        source=address,
        timeout=timeout,
        pacer=pacer,
        profile=pacer.profile if pacer is not None else None,
        wait=False,
    )


def worker_index(environ: Mapping[str, str] = os.environ) -> int:
    """This process's pytest-xdist worker number (``gw3`` -> 3), 0 outside xdist: the one place it is read."""
    worker = environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return int(worker) if worker.isdigit() else 0


class SourceAddresses:
    """Hands out fresh loopback source addresses for the scenarios, or None when the target is not on loopback."""

    def __init__(self, base_url: str, sources: Sources) -> None:
        # Parallel workers (pytest-xdist names them gw0, gw1...) each take a range of their own.
        blocks = -(-sources.scenarios_max // 254)
        self.first = ipaddress.IPv4Address(sources.scenarios_first) + 256 * blocks * worker_index()
        self.limit = sources.scenarios_max
        self.enabled = reachable_from_other_sources(base_url) and can_bind(str(self.first))
        self._offsets = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> str | None:
        if not self.enabled:
            return None
        with self._lock:
            offset = next(self._offsets)
        if offset >= self.limit:
            raise RuntimeError(f"more than {self.limit} source addresses in one run: a scenario loops unbounded")
        # 254 host addresses per /24: skip .0 and .255, which some stacks treat specially.
        return str(self.first + 256 * (offset // 254) + offset % 254)
