"""Processes by what they run, and the CPU time of a process group, from Linux's /proc.

The benchmarks need the pid of a SUT the harness started (to steer callgrind)
and the CPU its processes used during a round (the reference with
``--workers 2`` is a parent and spawned children, one process group).
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


class ProcError(RuntimeError):
    """The process could not be found (one line)."""


def find_pid(marker: str, proc: Path = PROC) -> int:
    """The one process whose command line contains ``marker``.

    A command started through a shell (``sh -c '...'``) matches twice, the
    shell and what it runs: the match whose child also matches is the wrapper,
    and is skipped.
    """
    found: dict[int, int] = {}  # pid -> parent pid
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            parent = int(stat_fields((entry / "stat").read_text())[1])
        except (OSError, IndexError, ValueError):
            continue
        if marker in cmdline:
            found[int(entry.name)] = parent
    innermost = sorted(pid for pid in found if pid not in found.values())
    if len(innermost) != 1:
        raise ProcError(f"expected one process running {marker!r}, found {innermost or 'none'}")
    return innermost[0]


def stat_fields(text: str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (which may contain spaces and parentheses)."""
    return text.rsplit(")", 1)[1].split()


def group_cpu_seconds(pgid: int, proc: Path = PROC) -> float:
    """User + system CPU seconds of every live process in group ``pgid``, and of the children it reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = stat_fields((entry / "stat").read_text())
        except OSError:
            continue
        # fields[2] is the process group; 11..14 are utime, stime, cutime, cstime (clock ticks).
        if int(fields[2]) == pgid:
            total += sum(int(value) for value in fields[11:15])
    return total / ticks
