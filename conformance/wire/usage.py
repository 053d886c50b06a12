"""What the run asked of the SUT, for the report: requests sent, accounts created, time spent pacing."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_counts = {"requests": 0, "accounts": 0, "retried_requests": 0}


def count(name: str, n: int = 1) -> None:
    with _lock:
        _counts[name] = _counts.get(name, 0) + n


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_counts)


def reset() -> None:
    with _lock:
        for key in _counts:
            _counts[key] = 0
