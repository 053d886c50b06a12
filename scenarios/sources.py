"""Loopback source addresses, so that a burst is not measured against another burst's rate limit.

The SUT's login and register rate limits count per client IP (contract §6);
the lockout and isolation scenarios send more requests than one window allows,
and the rest of the suite logs in from 127.0.0.1 too. When the target listens
on an IPv4 loopback address, every address of 127.0.0.0/8 reaches it, so each
scenario example gets its own source address, and with it its own rate-limit
budget. Elsewhere there is one address, and scenarios size their bursts to the
limits the profile declares.
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import threading
from urllib.parse import urlsplit

#: Far from 127.0.0.1 and from the 127.0.0.x addresses other suites borrow.
FIRST = ipaddress.IPv4Address("127.77.0.1")
#: A bound on the addresses one run uses (each example of each scenario takes one).
MAX_ADDRESSES = 4000


class SourceAddresses:
    """Hands out fresh loopback source addresses, or None when the target is not on IPv4 loopback."""

    def __init__(self, base_url: str) -> None:
        self.enabled = _is_ipv4_loopback(urlsplit(base_url).hostname or "") and _can_bind(str(FIRST))
        self._offsets = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> str | None:
        if not self.enabled:
            return None
        with self._lock:
            offset = next(self._offsets)
        if offset >= MAX_ADDRESSES:
            raise RuntimeError(f"more than {MAX_ADDRESSES} source addresses in one run: a scenario loops unbounded")
        # 254 host addresses per /24: skip .0 and .255, which some stacks treat specially.
        return str(FIRST + 256 * (offset // 254) + offset % 254)


def _is_ipv4_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback


def _can_bind(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True
