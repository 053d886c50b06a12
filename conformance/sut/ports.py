"""Free loopback ports, because other runs share this machine (never a fixed port)."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port that was free a moment ago; callers retry if someone else takes it first."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use_message(text: str) -> bool:
    """Whether a process's output says it lost the race for its port."""
    lowered = text.lower()
    return "address already in use" in lowered or "errno 98" in lowered
