"""Work, not wall time: CPU instructions of the reference per authenticated request (callgrind).

The standard's performance claim (one JWT decode per request, not three) is a
claim about work. End-to-end requests per second measure it badly on a shared
machine (the same comparison gave ratios from 0.96 to 1.37), while the
instructions a process executes for a fixed request sequence are nearly
deterministic. ``perf stat -e instructions`` needs hardware counters that
virtual machines often hide, so this counts them with valgrind's callgrind,
which needs nothing from the machine.

How, per side (clean, ``REFERENCE_DEFECTS=multi-decode``):

- the embedded reference runs under ``valgrind --tool=callgrind
  --instr-atstart=no`` (start-up is not instrumented), with the harness's Redis
  outside valgrind and ``PYTHONHASHSEED=0``;
- one account is provisioned, then instrumentation is switched on
  (``callgrind_control -i on``) and the sequence is sent a few times to warm
  caches, lazy imports and the list cache;
- a measurement window is: zero the counters (``callgrind_control -z``), send
  the sequence ``n`` times from this process (outside valgrind, one keep-alive
  connection, one request at a time), read the counters of every thread
  (``callgrind_control -e Ir``; SQLite runs in aiosqlite's threads). The
  window of ``2n`` minus the window of ``n``, divided by the requests of
  ``n``, is the cost of a request: what a window costs whatever its length
  (the control commands themselves) cancels out.

The sequence is ``auth_read``'s mix (me x4, list x2, get x2, the plan-guarded
and the role-guarded route once each, refused 403 for an ordinary account:
the guards still decode), so the figure is per request of the load profile
whose requests per second the rps comparison measures.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

#: auth_read's task weights as one fixed cycle: (operation, expected status for an ordinary account).
SEQUENCE = (
    ("me", 200),
    ("me", 200),
    ("me", 200),
    ("me", 200),
    ("list_patients", 200),
    ("list_patients", 200),
    ("get_patient", 200),
    ("get_patient", 200),
    ("pro_feature", 403),
    ("list_users", 403),
)
SUT_CMD = (
    "valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file={data_dir}/callgrind.out.%p "
    "{python} -m reference serve --host {host} --port {port} --data-dir {data_dir}"
)
#: Seconds for the reference to start under valgrind (uninstrumented, it runs a few times slower).
STARTUP_TIMEOUT = 300.0
CONTROL_TIMEOUT = 120.0
WARMUP_CYCLES = 3
THREAD_TOTAL = re.compile(r"^\s*Th\s+\d+\s+([\d,]+)\s*$", re.MULTILINE)


class InstructionError(RuntimeError):
    """callgrind could not be used or did not answer (one line)."""


def available() -> str | None:
    """None when valgrind and callgrind_control are installed, else what is missing."""
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    return f"not installed: {', '.join(missing)}" if missing else None


def parse_thread_totals(text: str) -> int:
    """The sum over threads of ``callgrind_control -e Ir`` output ("Th 1  168,018,649" lines)."""
    totals = [int(value.replace(",", "")) for value in THREAD_TOTAL.findall(text)]
    if not totals:
        raise InstructionError(f"no per-thread totals in callgrind_control's answer: {text.strip()[:200]!r}")
    return sum(totals)


def per_request(window_n: int, window_2n: int, requests_n: int) -> float:
    """Instructions per request: the ``2n`` window minus the ``n`` window, over the requests of ``n``."""
    if requests_n <= 0:
        raise ValueError("a window needs requests")
    if window_2n <= window_n:
        raise InstructionError(f"the longer window counted fewer instructions ({window_2n} <= {window_n})")
    return (window_2n - window_n) / requests_n


def spread(ratios: list[float]) -> float:
    """How far apart repeated ratios are, relative to the smallest: 0.01 = 1 %."""
    return (max(ratios) - min(ratios)) / min(ratios)


class Callgrind:
    """``callgrind_control`` for one process."""

    def __init__(self, pid: int, run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> None:
        self.pid = pid
        self._run = run

    def _control(self, *args: str) -> str:
        result = self._run(
            ["callgrind_control", *args, str(self.pid)], capture_output=True, text=True, timeout=CONTROL_TIMEOUT
        )
        if result.returncode != 0:
            raise InstructionError(
                f"callgrind_control {' '.join(args)} failed: {(result.stderr or result.stdout).strip()[:200]}"
            )
        return result.stdout

    def instrument(self) -> None:
        self._control("--instr=on")

    def zero(self) -> None:
        self._control("--zero")

    def instructions(self) -> int:
        return parse_thread_totals(self._control("-e", "Ir"))


@dataclass(frozen=True)
class Session:
    """What the fixed sequence needs: a client on the SUT, a token, a patient id and the profile's operations."""

    client: httpx.Client
    token: str
    patient: str
    profile: Any

    def request(self, operation: str, expected: int) -> None:
        op = self.profile.operation(operation)
        path = op.url_path(id=self.patient) if "{id}" in op.path else op.url_path()
        response = self.client.request(op.method, path, headers={"Authorization": f"Bearer {self.token}"})
        if response.status_code != expected:
            raise InstructionError(f"{op.method} {path} answered {response.status_code}, expected {expected}")

    def cycles(self, count: int) -> int:
        """Send the sequence ``count`` times; the number of requests sent."""
        for _ in range(count):
            for operation, expected in SEQUENCE:
                self.request(operation, expected)
        return count * len(SEQUENCE)


def measure(callgrind: Callgrind, session: Session, cycles: int) -> float:
    """Instructions per request over windows of ``cycles`` and ``2 * cycles`` sequences."""
    windows = []
    requests = 0
    for count in (cycles, 2 * cycles):
        callgrind.zero()
        sent = session.cycles(count)
        windows.append(callgrind.instructions())
        requests = requests or sent
    return per_request(windows[0], windows[1], requests)


@dataclass(frozen=True)
class Repetition:
    baseline: float
    variant: float

    @property
    def ratio(self) -> float:
        return self.variant / self.baseline


def report(names: tuple[str, str], cycles: int, repetitions: list[Repetition]) -> str:
    """The instruction table, the spread of the ratios and whether it is below 2 %."""
    lines = [
        f"instructions per authenticated request (callgrind, the reference process; auth_read mix of "
        f"{len(SEQUENCE)} requests, windows of {cycles} and {2 * cycles} sequences)",
        f"{'rep':<5}{names[0] + ' Ir/request':>22}{names[1] + ' Ir/request':>30}{'ratio':>9}",
    ]
    for n, rep in enumerate(repetitions, 1):
        lines.append(f"{n:<5}{rep.baseline:>22,.0f}{rep.variant:>30,.0f}{rep.ratio:>9.4f}")
    ratios = [rep.ratio for rep in repetitions]
    if len(ratios) > 1:
        lines.append(
            f"ratio {names[1]} : {names[0]} = {sum(ratios) / len(ratios):.4f}; repetitions differ by "
            f"{spread(ratios) * 100:.2f} % ({'stable' if is_stable(ratios) else 'NOT stable'}: the bound is 2 %)"
        )
    return "\n".join(lines)


def is_stable(ratios: list[float], bound: float = 0.02) -> bool:
    return spread(ratios) < bound
